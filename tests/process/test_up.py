"""The issue's 'done when', end to end on the real process: up, bootstrap a person and a token, use it, stop."""

import json
import signal
import urllib.error
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.platform import running_platform

pytestmark = pytest.mark.process


def _get(url: str, token: str | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_bootstrap_with_the_cli_then_call_the_api_then_stop_within_five_seconds(tmp_path: Path) -> None:
    email = f"ops-{uuid.uuid4().hex[:8]}@example.com"
    with running_platform(tmp_path / "data") as platform:
        status, ready = _get(f"{platform.url}/readyz")
        assert status == 200 and set(ready["checks"].values()) == {"ok"}

        created = platform.cli("user", "create", "--email", email, "--password", "a-long-passphrase-42", "--operator")
        assert created.returncode == 0, created.stderr
        issued = platform.cli("token", "create", "--email", email, "--scope", "profile")
        assert issued.returncode == 0, issued.stderr
        token = issued.stdout.strip()
        assert token.startswith("mc_pat_")

        status, me = _get(f"{platform.url}/api/v1/me", token)
        assert status == 200
        assert me["email"] == email and me["operator"] is True

        status, problem = _get(f"{platform.url}/api/v1/me", token + "x")
        assert status == 401 and problem["status"] == 401

        seconds = platform.stop(signal.SIGTERM)
        assert platform.process.returncode == 0
        assert seconds <= 5, f"SIGTERM took {seconds:.1f} s"


def test_cli_refuses_a_taken_email_and_an_unknown_person_with_a_message(tmp_path: Path) -> None:
    with running_platform(tmp_path / "data", embedded_only=True) as platform:
        first = platform.cli("user", "create", "--email", "a@example.com", "--password", "a-long-passphrase-42")
        again = platform.cli("user", "create", "--email", "a@example.com", "--password", "a-long-passphrase-42")
        unknown = platform.cli("token", "create", "--email", "nobody@example.com")
    assert first.returncode == 0
    assert again.returncode == 2 and "already has an account" in again.stderr and "Traceback" not in again.stderr
    assert unknown.returncode == 2 and "nobody@example.com" in unknown.stderr


def test_first_run_prints_the_operator_sign_in_once(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with running_platform(data, embedded_only=True) as platform:
        platform.stop()
        first = platform.process.stdout.read() if platform.process.stdout else ""
    with running_platform(data, embedded_only=True) as platform:
        platform.stop()
        second = platform.process.stdout.read() if platform.process.stdout else ""
    assert "operator@makercloud.local" in first and "password" in first
    assert "operator@makercloud.local" not in second
