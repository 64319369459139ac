"""The Content-Security-Policy (settings.SECURE_CSP) on the real platform: every page sends it, a script injected
into a page does not run, and the pages' own scripts (htmx, the API's Swagger UI) still work under it.

The `page` fixture fails any browser test whose page the policy blocked something on (tests/browser/conftest.py).
"""

import re
import urllib.request
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_every_kind_of_page_sends_the_policy(platform: str) -> None:
    for path in ["/", "/calls/", "/accounts/login/", "/api/v1/docs", "/admin/login/", "/static/web/makercloud.css"]:
        with urllib.request.urlopen(f"{platform}{path}", timeout=10) as answer:
            policy = answer.headers["Content-Security-Policy"]
        assert policy is not None, path
        directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
        assert directives["default-src"] == "'self'", path
        assert "'unsafe-inline'" not in directives["script-src"] and "'unsafe-eval'" not in directives["script-src"]
        assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"


def test_a_page_script_has_a_fresh_nonce_and_an_injected_one_does_not_run(page: Any, csp_violations: list[str]) -> None:
    nonces = set()
    for _ in range(2):
        answer = page.goto("/")
        nonce = re.search(r"'nonce-([^']+)'", answer.headers["content-security-policy"])
        assert nonce is not None
        assert page.locator("script[nonce]").count() == 1  # the browser hides the value from the DOM
        nonces.add(nonce.group(1))
    assert len(nonces) == 2
    assert page.evaluate("typeof htmx") == "object"
    assert page.evaluate("htmx.config.allowEval") is False

    # markup that got past escaping cannot run script: an inline <script>, an on… handler, a javascript: link
    page.evaluate("""() => {
        window.ran = [];
        const holder = document.createElement('div');
        holder.innerHTML = '<img src="/nothing" onerror="window.ran.push(1)">'
            + '<a id="x" href="javascript:window.ran.push(2)">x</a>';
        document.body.append(holder);
        const script = document.createElement('script');
        script.textContent = 'window.ran.push(3)';
        document.body.append(script);
    }""")
    page.locator("#x").click()
    page.wait_for_timeout(300)
    assert page.evaluate("window.ran") == []
    assert len(csp_violations) >= 3 and all("script-src" in text for text in csp_violations)
    csp_violations.clear()  # provoked on purpose


def test_htmx_and_the_api_docs_work_under_the_policy(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/accounts/signup/")
    page.get_by_label("E-mail address").fill(f"csp-{uuid.uuid4().hex[:8]}@example.com")
    page.get_by_label("Your name").fill("Cass Policy")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))

    page.goto("/accounts/tokens/")
    page.get_by_label("Name").fill("backup script")
    page.locator("input[name=scopes]").first.check()
    page.get_by_role("button", name="Create token").click()
    expect(page.locator("#new-token")).to_be_visible()
    page.on("dialog", lambda dialog: dialog.accept())
    with page.expect_request(lambda request: request.headers.get("hx-request") == "true") as revoke:
        page.get_by_role("button", name=re.compile("Revoke")).click()
    assert revoke.value.headers.get("x-csrftoken")  # hx-headers on <body>, read as JSON, not evaluated
    expect(page.get_by_text("revoked", exact=True)).to_be_visible()
    expect(page.locator("#new-token")).to_be_visible()  # swapped in place: the page did not reload

    page.goto("/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_be_visible(timeout=60_000)  # a large bundle, a busy machine
