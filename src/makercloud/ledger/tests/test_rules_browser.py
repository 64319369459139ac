"""The rule editor in Debian's Chromium: typing a rule (or an amount) updates the live preview through htmx — shares
as you type, a problem pointing at its line.

The page is rendered by Django inside the test's transaction and handed to the browser through Playwright's routing,
as the statement's browser test does; htmx's requests to /rules/preview/ are answered by Django's test client on the
same thread (the test's connection and transaction), so the browser runs the page's real htmx.
"""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

import mimetypes
import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from makercloud.accounts.models import User
from makercloud.ledger.models import SharingRule
from makercloud.ledger.tests.rules_fixtures import parties, rule, venture  # noqa: F401
from makercloud.ledger.tests.test_statement_browser import chromium
from makercloud.ventures.models import Venture

ORIGIN = "http://rules.test"
pytestmark = [pytest.mark.browser, pytest.mark.django_db]


def test_typing_a_rule_updates_the_live_preview(maker: User, venture: Venture, rule: SharingRule,
                                                client_for: Callable[[User], Client],
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    client = client_for(maker)
    path = f"/ventures/{venture.slug}/rules/{rule.pk}/"
    html = client.get(path).content
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's loop runs on this thread
    asked: list[str] = []

    def serve(route: Any) -> None:
        url = urlparse(route.request.url).path
        if url == path:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
        elif url == "/rules/preview/":
            asked.append(route.request.headers.get("x-csrftoken", ""))
            answer = client.post(url, data=route.request.post_data or "",
                                 content_type="application/x-www-form-urlencoded")
            route.fulfill(status=answer.status_code, body=answer.content, content_type="text/html; charset=utf-8")
        elif url.startswith("/static/") and (found := finders.find(url.removeprefix("/static/"))):
            route.fulfill(path=found, content_type=mimetypes.guess_type(str(found))[0] or "application/octet-stream")
        else:
            route.fulfill(status=404, body="")

    assert os.access("/usr/bin/chromium", os.X_OK)
    with chromium() as browser:
        page = browser.new_context(viewport={"width": 1200, "height": 900}).new_page()
        page.set_default_timeout(15_000)
        page.route("**/*", serve)
        page.goto(ORIGIN + path)
        assert "¥50.00" in page.inner_text("#rule-preview")  # 5% of the 1,000.00 shown at first

        page.fill("#id_text", "split sale\n  5% to @platform\n  99% to @venture")
        page.wait_for_function("() => document.querySelector('#rule-preview').innerText.includes('Line 3, column 3')")
        assert "more than 100%" in page.inner_text("#rule-preview")

        page.fill("#id_text", "split sale\n  5% to @platform\n  remaining to @venture")
        page.fill("#preview-amount", "200.00")
        page.wait_for_function("() => document.querySelector('#rule-preview').innerText.includes('¥190.00')")
        preview = page.inner_text("#rule-preview")
        assert "¥10.00" in preview and "Line 3" not in preview
    assert asked and all(asked)  # htmx sent the CSRF token with every preview request
    assert rule.versions.count() == 1  # previewing saves nothing
