"""Start the real platform (`makercloud up`) once for the browser tests, and a Chromium to drive it."""

import os
from collections.abc import Iterator
from typing import Any

import pytest

from tests.platform import running_platform

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The embedded default on its own SQLite data dir, whatever database the rest of the suite uses."""
    with running_platform(tmp_path_factory.mktemp("makercloud-data"), embedded_only=True) as running:
        yield running.url


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def csp_violations() -> list[str]:
    """What Chromium reported on the console when the Content-Security-Policy blocked something on `page`."""
    return []


@pytest.fixture
def page(browser: Any, platform: str, csp_violations: list[str]) -> Iterator[Any]:
    """A fresh browser page. Every browser test also fails if the policy blocked something on its page (a test
    that provokes a violation on purpose clears `csp_violations` after checking them)."""
    context = browser.new_context(base_url=platform, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.on("console", lambda message: csp_violations.append(message.text)
            if "Content Security Policy" in message.text else None)
    yield page
    context.close()
    assert csp_violations == [], f"the Content-Security-Policy blocked something: {csp_violations}"
