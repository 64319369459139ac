"""Deadlines across a restart, on the real platform: a call whose deadline passes while makercloud is stopped is
closed by the worker's first run after `makercloud up` — not at the next minute, and not before its deadline."""

import json
import signal
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.platform import running_platform

pytestmark = pytest.mark.process


def _call(url: str, token: str, method: str = "GET", body: dict[str, Any] | None = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def _token(platform: Any, email: str) -> str:
    created = platform.cli("user", "create", "--email", email, "--password", "a-long-passphrase-42")
    assert created.returncode == 0, created.stderr
    issued = platform.cli("token", "create", "--email", email, "--scope", "ventures:write", "--scope", "calls:write",
                          "--scope", "calls:read")
    assert issued.returncode == 0, issued.stderr
    return issued.stdout.strip()


def test_a_call_that_falls_due_while_the_platform_is_down_closes_on_the_first_run_after_up(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_platform(data, embedded_only=True) as platform:
        api = f"{platform.url}/api/v1"
        owner, solver = _token(platform, "owner@example.com"), _token(platform, "solver@example.com")
        status, venture = _call(f"{api}/ventures", owner, "POST", {
            "name": "Restart Lab", "mission": "Deadlines that hold.", "origin": "outside"})
        assert status == 201, venture
        deadline = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=20)
        status, call = _call(f"{api}/calls", owner, "POST", {
            "owner_id": venture["organisation_id"], "kind": "challenge", "title": "Survive a restart",
            "responses_until": deadline.isoformat(),
            "selection": {"method": "owner", "reward": {"minor": 500_000, "currency": "CNY"}}})
        assert status == 201, call
        published = _call(f"{api}/calls/{call['id']}/publish", owner, "POST")
        assert published[0] == 200, published
        status, response = _call(f"{api}/calls/{call['id']}/responses", solver, "POST",
                                 {"content": {"summary": "A flywheel keeps the state."}})
        assert status == 201, response
        platform.stop(signal.SIGTERM)
    time.sleep(max(0.0, (deadline - datetime.now(UTC)).total_seconds()) + 2)  # the deadline passes while down

    with running_platform(data, embedded_only=True) as platform:
        api = f"{platform.url}/api/v1"
        started = time.monotonic()
        state = "open"
        while time.monotonic() - started < 30:
            status, seen = _call(f"{api}/calls/{call['id']}", owner)
            state = seen["state"]
            if state != "open":
                break
            time.sleep(0.5)
        waited = time.monotonic() - started
        assert state == "evaluated", seen  # closed, and ranked for the owner to pick
        assert datetime.fromisoformat(seen["closed_at"]) >= deadline
        assert seen["response_count"] == 1
        assert waited < 30
