"""gateway/auth.py: who may log in, and which topics each principal may use (DESIGN §5)."""

import base64
import hashlib
import subprocess
from pathlib import Path
from typing import Any

import pytest

from makercloud.core import mqtt
from makercloud.gateway import auth
from makercloud.gateway.auth import Action, Principal


def test_a_device_logs_in_with_its_id_and_secret_only(fleet: Any) -> None:
    device, secret = fleet.device()
    assert auth.authenticate(client_id=device.id, username=device.id, password=secret) == Principal(device.id)
    assert auth.authenticate(client_id=device.id, username=device.id, password=secret + "x") is None
    assert auth.authenticate(client_id="someone-else", username=device.id, password=secret) is None
    assert auth.authenticate(client_id=device.id, username=device.id, password=None) is None
    assert auth.authenticate(client_id="nobody", username="nobody", password=secret) is None


def test_a_disabled_device_is_refused(fleet: Any) -> None:
    device, secret = fleet.device(enabled=False)
    assert auth.authenticate(client_id=device.id, username=device.id, password=secret) is None


def test_the_service_account_needs_the_password_derived_from_the_secret_key(db: Any) -> None:
    username, password = mqtt.service_credentials()
    assert auth.authenticate(client_id="any", username=username, password=password) is auth.SERVICE
    assert auth.authenticate(client_id="any", username=username, password=password[:-1]) is None


DEVICE = Principal("d1")


@pytest.mark.parametrize(
    ("topic", "action", "expected"),
    [
        ("devices/d1/telemetry", Action.PUBLISH, True),
        ("devices/d1/reported", Action.PUBLISH, True),
        ("devices/d1/events/overheated", Action.PUBLISH, True),
        ("devices/d1/actions/reply", Action.PUBLISH, True),
        ("devices/d1/desired", Action.SUBSCRIBE, True),
        ("devices/d1/actions/invoke", Action.SUBSCRIBE, True),
        # not the other way round
        ("devices/d1/desired", Action.PUBLISH, False),
        ("devices/d1/actions/invoke", Action.PUBLISH, False),
        ("devices/d1/telemetry", Action.SUBSCRIBE, False),
        # the platform's access announcements about it: neither forged nor heard
        ("devices/d1/access", Action.PUBLISH, False),
        ("devices/d1/access", Action.SUBSCRIBE, False),
        # not another device's, not wildcards, not deeper events, not elsewhere
        ("devices/d2/telemetry", Action.PUBLISH, False),
        ("devices/d2/desired", Action.SUBSCRIBE, False),
        ("devices/+/desired", Action.SUBSCRIBE, False),
        ("devices/d1/#", Action.SUBSCRIBE, False),
        ("devices/#", Action.SUBSCRIBE, False),
        ("devices/d1/events/a/b", Action.PUBLISH, False),
        ("devices/d1/events/", Action.PUBLISH, False),
        ("devices/d1", Action.PUBLISH, False),
        ("devices/d11/telemetry", Action.PUBLISH, False),
        ("other/d1/telemetry", Action.PUBLISH, False),
    ],
)
def test_a_device_uses_only_its_own_topics(topic: str, action: Action, expected: bool) -> None:
    assert auth.allowed(DEVICE, topic, action) is expected


def test_the_service_account_may_use_everything_under_devices() -> None:
    assert auth.allowed(auth.SERVICE, "devices/#", Action.SUBSCRIBE)
    assert auth.allowed(auth.SERVICE, "$share/makercloud/devices/+/telemetry", Action.SUBSCRIBE)
    assert auth.allowed(auth.SERVICE, "devices/d9/desired", Action.PUBLISH)
    assert not auth.allowed(auth.SERVICE, "#", Action.SUBSCRIBE)
    assert not auth.allowed(auth.SERVICE, "$SYS/broker/load", Action.SUBSCRIBE)


def test_the_broker_hash_is_what_mosquitto_passwd_writes(tmp_path: Path) -> None:
    line = auth.broker_password_hash("s3cret-Secret")
    _, seven, iterations, salt, digest = line.split("$")
    assert seven == "7" and int(iterations) == auth.MOSQUITTO_ITERATIONS
    expected = hashlib.pbkdf2_hmac("sha512", b"s3cret-Secret", base64.b64decode(salt), int(iterations))
    assert base64.b64decode(digest) == expected
    assert "s3cret" not in line
    # and it is exactly what Mosquitto's own tool computes for the same salt
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-c", "-b", str(passwords), "alice", "s3cret-Secret"], check=True)
    theirs = passwords.read_text().strip().split(":", 1)[1]
    salt = base64.b64decode(theirs.split("$")[3])
    assert auth.broker_password_hash("s3cret-Secret", salt=salt) == theirs
