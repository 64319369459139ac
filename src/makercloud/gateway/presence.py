"""Connects and disconnects reported by an in-process broker, waiting for the gateway to write them.

The embedded amqtt broker tells us exactly when a device connects or drops (`gateway.broker_plugins`); the gateway
drains these notes with each batch, so presence costs one coalesced UPDATE per device, like everything else. With
an external broker nothing is noted here and the gateway falls back to last-seen with a timeout (docs/mqtt.md).
"""

import threading
from datetime import datetime

from django.utils import timezone

_lock = threading.Lock()
_notes: dict[str, tuple[bool, datetime]] = {}


def presence_note(*, device_id: str, online: bool) -> None:
    with _lock:
        _notes[device_id] = (online, timezone.now())


def presence_drain() -> dict[str, tuple[bool, datetime]]:
    """Every device whose presence changed since the last drain: its latest state and when."""
    global _notes
    with _lock:
        notes, _notes = _notes, {}
    return notes
