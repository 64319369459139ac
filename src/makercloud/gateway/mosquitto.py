"""Mosquitto wiring: a password file and an ACL file written from the devices table, reloaded with SIGHUP.

Mosquitto 2.0 (as packaged by Debian) has no auth plugin for an HTTP callout, so makercloud keeps the broker's own
files: `passwords` holds each enabled device's `Device.broker_hash` (PBKDF2-SHA512, computed at provisioning by
`gateway.auth.broker_password_hash`; the secret itself is never stored) and the service account's; `acl` holds
the rules of `gateway.auth.allowed` as `pattern` lines with %u. `makercloud gateway --mosquitto-dir DIR
[--mosquitto-pid FILE]` rewrites them when the devices change and sends the broker SIGHUP. `mosquitto.conf` is a
working example configuration for a broker that uses them.
"""

import hashlib
import logging
import os
import signal
from pathlib import Path

from makercloud.core import mqtt
from makercloud.devices.models import Device
from makercloud.gateway import auth

logger = logging.getLogger(__name__)

ACL = f"""# Written by makercloud (gateway/mosquitto.py); the rules of gateway.auth.allowed. Do not edit.
user {mqtt.SERVICE_USERNAME}
topic readwrite devices/#

pattern write devices/%u/telemetry
pattern write devices/%u/reported
pattern write devices/%u/events/+
pattern write devices/%u/actions/reply
pattern read devices/%u/desired
pattern read devices/%u/actions/invoke
"""


def mosquitto_conf(
    *, directory: Path, port: int, bind: str = "127.0.0.1", persistence: bool = True, run_as: str | None = None
) -> str:
    """A Mosquitto 2.0 configuration for makercloud: its files, a persistent store, room for the gateway's backlog.

    `run_as`: the user a broker started as root keeps (it must be able to read the files); default `mosquitto`.
    """
    lines = [*([f"user {run_as}"] if run_as else []),
        f"listener {port} {bind}",
        "allow_anonymous false",
        f"password_file {directory / 'passwords'}",
        f"acl_file {directory / 'acl'}",
        # The gateway acknowledges in batches: let a batch's worth of QoS 1 messages be in flight (3.1.1 clients;
        # MQTT 5 clients say it with Receive Maximum), and queue a long backlog for its persistent session.
        "max_inflight_messages 2000",
        "max_queued_messages 1000000",
        "max_packet_size 70000",
        "persistent_client_expiration 1d",
    ]
    if persistence:
        lines += ["persistence true", f"persistence_location {directory}/", "autosave_interval 60"]
    return "\n".join(lines) + "\n"


def _password_lines() -> list[str]:
    service = auth.broker_password_hash(mqtt.service_password(), salt=_service_salt())
    lines = [f"{mqtt.SERVICE_USERNAME}:{service}"]
    rows = Device.objects.filter(enabled=True).exclude(broker_hash="").order_by("id")
    lines += [f"{device_id}:{broker_hash}" for device_id, broker_hash in rows.values_list("id", "broker_hash")]
    return lines


def _service_salt() -> bytes:
    """A fixed salt for the service account, so its line (and the file) only changes with SECRET_KEY."""
    return hashlib.sha256(b"makercloud mosquitto salt " + mqtt.service_password().encode()).digest()[:12]


def _write(path: Path, text: str) -> bool:
    if path.exists() and path.read_text() == text:
        return False
    temporary = path.with_suffix(".tmp")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o640)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    os.replace(temporary, path)
    return True


def mosquitto_files_sync(*, directory: Path, pid_file: Path | None = None) -> bool:
    """Write `passwords` and `acl` into directory if they changed; then SIGHUP the broker. True if anything changed."""
    directory.mkdir(parents=True, exist_ok=True)
    changed = _write(directory / "passwords", "\n".join(_password_lines()) + "\n")
    changed = _write(directory / "acl", ACL) or changed
    if changed and pid_file is not None:
        try:
            os.kill(int(pid_file.read_text().strip()), signal.SIGHUP)
        except (OSError, ValueError) as error:
            logger.warning("cannot ask Mosquitto to reload (%s): %s", pid_file, error)
    if changed:
        logger.info("Mosquitto password and ACL files updated in %s", directory)
    return changed
