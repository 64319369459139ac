"""Liveness and readiness for operators and load balancers."""

import socket
import time
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, JsonResponse

from makercloud.core import jobs, mqtt

WORKER_TIMEOUT = 3.0
MQTT_DISCONNECT = b"\xe0\x00"


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def _mqtt_connect() -> bytes:
    """An MQTT 3.1.1 CONNECT as the platform's service account (clean session, keep-alive 5 s)."""
    username, password = mqtt.service_credentials()
    body = (b"\x00\x04MQTT\x04\xc2\x00\x05" + _field(b"makercloud-readyz") + _field(username.encode())
            + _field(password.encode()))
    return b"\x10" + bytes([len(body)]) + body  # under 128 bytes: a one-byte remaining length


def _database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # any failure means "not ready"; the reason is reported
        return f"{type(error).__name__}: {error}"
    return None


def _broker() -> str | None:
    url = settings.MQTT_URL
    if not url:
        return "no MQTT broker configured in this process (set MAKERCLOUD_MQTT_URL)"
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 1883), timeout=2) as conn:
            conn.sendall(_mqtt_connect())
            answer = conn.recv(4)
            conn.sendall(MQTT_DISCONNECT)
    except OSError as error:
        return f"{url}: {error}"
    if answer[:1] != b"\x20":
        return f"{url} answered {answer!r}, not an MQTT CONNACK"
    if answer[3:4] != b"\x00":
        return f"{url} refused the platform's service account (CONNACK code {answer[3]})"
    return None


def _worker() -> str | None:
    try:
        result = jobs.ping()
        if result is None:  # immediate mode returns the value itself
            return None
        answer = result.get(blocking=True, timeout=WORKER_TIMEOUT) if hasattr(result, "get") else result
    except Exception as error:  # timeout or a storage error: the worker is not reachable
        return f"no worker answered within {WORKER_TIMEOUT:.0f} s ({type(error).__name__})"
    return None if answer == "pong" else f"unexpected worker answer {answer!r}"


def healthz(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"status": "ok"})


def readyz(request: HttpRequest) -> JsonResponse:
    started = time.monotonic()
    checks = {"database": _database(), "broker": _broker(), "worker": _worker()}
    ready = all(v is None for v in checks.values())
    body = {
        "status": "ready" if ready else "not ready",
        "checks": {name: ("ok" if error is None else error) for name, error in checks.items()},
        "seconds": round(time.monotonic() - started, 3),
    }
    return JsonResponse(body, status=200 if ready else 503)
