"""The statement page in Debian's Chromium: Chart.js draws the period-over-period chart from the page's own figures,
and without JavaScript the server's SVG chart and the table stand in for it.

The page is rendered by Django inside the test's transaction and handed to the browser with its static files (the
vendored Chart.js and the page's script) through Playwright's routing — the browser runs the real page's JavaScript
without a server thread that would need committed rows.
"""

import mimetypes
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlparse

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from makercloud.accounts.models import User
from makercloud.ledger.tests.test_statement_fixtures import World, build_world

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ORIGIN = "http://statement.test"

pytestmark = pytest.mark.browser


@pytest.fixture
def world(make_person: Callable[..., User]) -> World:
    return build_world(make_person)


@contextmanager
def chromium() -> Iterator[Any]:
    """Started after the page is rendered: Playwright's sync API runs an event loop, where Django refuses queries."""
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"no Chromium at {CHROMIUM}: install Debian's chromium (make test does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def _open(chromium: Any, html: bytes, path: str, *, javascript: bool = True) -> Any:
    context = chromium.new_context(java_script_enabled=javascript, viewport={"width": 1200, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)

    def serve(route: Any) -> None:
        asked = urlparse(route.request.url).path
        if asked == path:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
        elif asked.startswith("/static/") and (found := finders.find(asked.removeprefix("/static/"))):
            route.fulfill(path=found, content_type=mimetypes.guess_type(str(found))[0] or "application/octet-stream")
        else:
            route.fulfill(status=404, body="")

    page.route("**/*", serve)
    page.goto(ORIGIN + path)
    return page


def test_chart_js_draws_the_statement_year(world: World, client_for: Callable[[User], Client]) -> None:
    path = f"/ventures/{world.venture.slug}/statement/"
    html = client_for(world.owner).get(path, {"period": "2026-11"}).content
    with chromium() as browser:
        _chart_drawn(_open(browser, html, path))


def _chart_drawn(page: Any) -> None:
    page.wait_for_function("() => !document.getElementById('statement-chart').hidden")
    assert page.is_hidden("#statement-chart-fallback")
    labels, datasets = page.evaluate(
        "() => { const chart = Chart.getChart('statement-chart');"
        " return [chart.data.labels, chart.data.datasets.map(d => [d.label, d.data])]; }")
    assert len(labels) == 12 and labels[-3:] == ["2026-09", "2026-10", "2026-11"]
    series = {label.split(" (")[0]: data for label, data in datasets}
    assert series["Revenue"][-3:] == [200, 220, 200]
    assert series["Value added"][-3:] == [130, 143, 130]
    assert series["Active users"][-3:] == [0, 2, 1]
    # Something was drawn: the canvas is not blank.
    inked = page.evaluate(
        "() => { const c = document.getElementById('statement-chart');"
        " const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;"
        " let n = 0; for (let i = 3; i < d.length; i += 4) { if (d[i] > 0) n++; } return n; }")
    assert inked > 1000


def test_without_javascript_the_svg_chart_and_the_table_stand_in(world: World, client: Client) -> None:
    path = f"/ventures/{world.venture.slug}/statement/"
    html = client.get(path, {"period": "2026-11"}).content
    with chromium() as browser:
        _fallback_shown(_open(browser, html, path, javascript=False))


def _fallback_shown(page: Any) -> None:
    assert page.is_visible("#statement-chart-fallback svg")
    assert page.is_hidden("#statement-chart")
    assert page.locator("#statement-chart-fallback rect.revenue").count() == 12
    row = page.locator("table tbody tr", has=page.locator("a", has_text="2026-10")).inner_text()
    assert "¥220.00" in row and "¥143.00" in row
