"""The SDK's own logic that needs no platform: PKCE, problems, Retry-After against a real local HTTP server, and
webhook verification (signed here with the `standardwebhooks` library, as makercloud signs)."""

import base64
import hashlib
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import standardwebhooks

from makercloud.sdk import ApiError, Client, OAuthFlow, WebhookVerificationError, code_challenge, verify_webhook
from makercloud.sdk.oauth import AuthorizationRequest

SECRET = "whsec_" + base64.b64encode(b"k" * 32).decode()


def test_the_code_challenge_is_the_rfc_7636_s256_of_the_verifier() -> None:
    # RFC 7636 appendix B
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    verifier = "x" * 64
    expected = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    assert code_challenge(verifier) == expected


def test_a_problem_document_becomes_an_api_error_with_its_fields() -> None:
    error = ApiError.from_response(403, {
        "type": "https://makercloud.dev/problems/insufficient-scope", "title": "Missing scope", "status": 403,
        "detail": "Needs devices:control.", "scope": "devices:control"})
    assert (error.code, error.status, error.title, error.detail) == ("insufficient-scope", 403, "Missing scope",
                                                                      "Needs devices:control.")
    assert error.problem["scope"] == "devices:control"
    oauth = ApiError.from_response(400, {"error": "invalid_grant", "error_description": "Refresh token is revoked."})
    assert oauth.code == "invalid_grant" and oauth.type == "urn:ietf:params:oauth:error:invalid_grant"
    assert oauth.detail == "Refresh token is revoked."
    bare = ApiError.from_response(502, None, reason="Bad Gateway")
    assert (bare.type, bare.status, bare.title) == ("about:blank", 502, "Bad Gateway")


def test_a_callback_with_another_state_is_refused_before_any_exchange() -> None:
    flow = OAuthFlow("http://127.0.0.1:9", client_id="app", redirect_uri="http://127.0.0.1:8765/callback")
    request = AuthorizationRequest(url="", state="mine", code_verifier="v" * 43,
                                   redirect_uri="http://127.0.0.1:8765/callback", scopes=())
    with pytest.raises(ApiError) as refused:
        flow.exchange(request, "http://127.0.0.1:8765/callback?code=abc&state=forged")
    assert refused.value.code == "state_mismatch"  # port 9 is closed: nothing was sent
    with pytest.raises(ApiError) as denied:
        flow.exchange(request, "http://127.0.0.1:8765/callback?error=access_denied&state=mine")
    assert denied.value.code == "access_denied"


class _Limited:
    """A local HTTP server answering 429 with Retry-After `wait` the first `refusals` times, then 201."""

    def __init__(self, *, refusals: int, wait: str) -> None:
        self.seen: list[tuple[float, dict[str, str]]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                outer.seen.append((time.monotonic(), {k.lower(): v for k, v in self.headers.items()}))
                if len(outer.seen) <= refusals:
                    body = json.dumps({"type": "https://makercloud.dev/problems/rate-limited", "title": "Too many",
                                       "status": 429, "detail": "Slow down.", "limit": "token"}).encode()
                    self.send_response(429)
                    self.send_header("Retry-After", wait)
                    self.send_header("Content-Type", "application/problem+json")
                else:
                    body = json.dumps({"id": "0190", "status": "pending"}).encode()
                    self.send_response(201)
                    self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_429_is_retried_after_its_retry_after_with_the_same_idempotency_key() -> None:
    server = _Limited(refusals=2, wait="1")
    try:
        with Client(server.url, "mc_pat_x") as client:
            invocation = client.devices.invoke("dev1", "start", {"programme": "eco"})
        assert invocation["status"] == "pending"
        assert len(server.seen) == 3
        assert server.seen[1][0] - server.seen[0][0] >= 0.95 and server.seen[2][0] - server.seen[1][0] >= 0.95
        keys = {headers["idempotency-key"] for _at, headers in server.seen}
        assert len(keys) == 1 and keys.pop()  # one key across the retries: the action runs at most once
    finally:
        server.close()


def test_retries_are_bounded_and_a_long_retry_after_is_not_waited_for() -> None:
    server = _Limited(refusals=10, wait="1")
    try:
        with Client(server.url, "mc_pat_x", max_retries=2) as client, pytest.raises(ApiError) as refused:
            client.devices.invoke("dev1", "start")
        assert refused.value.status == 429 and refused.value.code == "rate-limited"
        assert refused.value.retry_after == 1 and refused.value.problem["limit"] == "token"
        assert len(server.seen) == 3  # the first try and two retries
    finally:
        server.close()
    server = _Limited(refusals=10, wait="3600")
    try:
        started = time.monotonic()
        with Client(server.url, "mc_pat_x", max_retry_wait=30) as client, pytest.raises(ApiError) as refused:
            client.devices.invoke("dev1", "start")
        assert refused.value.retry_after == 3600 and len(server.seen) == 1
        assert time.monotonic() - started < 5
    finally:
        server.close()


def _signed(body: str, *, at: datetime | None = None, secret: str = SECRET) -> dict[str, str]:
    at = at or datetime.now(UTC)
    return {"Webhook-Id": "msg_01", "Webhook-Timestamp": str(int(at.timestamp())),
            "Webhook-Signature": standardwebhooks.Webhook(secret).sign("msg_01", at, body)}


def test_a_genuine_webhook_verifies_and_comes_back_as_the_event() -> None:
    body = json.dumps({"type": "device.event", "timestamp": "2026-11-29T20:00:00Z",
                       "data": {"device_id": "abc", "event": "cycleFinished", "data": {"minutes": 42}}})
    event = verify_webhook(SECRET, _signed(body), body.encode())
    assert event == {"id": "msg_01", "type": "device.event", "timestamp": "2026-11-29T20:00:00Z",
                     "data": {"device_id": "abc", "event": "cycleFinished", "data": {"minutes": 42}}}


@pytest.mark.parametrize("case", ["tampered", "other-secret", "stale", "unsigned", "malformed"])
def test_a_webhook_that_is_not_genuine_is_refused(case: str) -> None:
    body = json.dumps({"type": "device.event", "timestamp": "2026-11-29T20:00:00Z", "data": {"device_id": "abc"}})
    headers = _signed(body)
    if case == "tampered":
        body = body.replace("abc", "xyz")
    elif case == "other-secret":
        headers = _signed(body, secret="whsec_" + base64.b64encode(b"o" * 32).decode())
    elif case == "stale":
        headers = _signed(body, at=datetime.now(UTC) - timedelta(minutes=10))
    elif case == "unsigned":
        del headers["Webhook-Signature"]
    else:
        headers["Webhook-Signature"] = "garbage-without-a-version"
    with pytest.raises(WebhookVerificationError):
        verify_webhook(SECRET, headers, body)
    # and it is the library's own error class too, for code that catches that
    with pytest.raises(standardwebhooks.webhooks.WebhookVerificationError):
        verify_webhook(SECRET, headers, body)
