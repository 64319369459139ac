"""Batch writers into the devices tables, for the gateway (DESIGN §5). Call them inside one transaction per batch.

- telemetry points: COPY on PostgreSQL (psycopg's cursor.copy), bulk_create elsewhere;
- twins: reported state, online and last seen coalesced per device by the caller; one UPDATE statement per batch
  on PostgreSQL (all devices at once, in id order), one per device elsewhere;
- device events: bulk_create;
- invocation replies: ok/error set only while the invocation is still pending (devices.services).
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection

from makercloud.devices.models import DeviceEvent, InvocationStatus, TelemetryPoint

COPY_TELEMETRY = "COPY devices_telemetrypoint (device_id, ts, name, number, value) FROM STDIN"


@dataclass(frozen=True, slots=True)
class TelemetryRow:
    device_id: str
    ts: datetime
    name: str
    value: Any

    @property
    def number(self) -> float | None:
        value = self.value
        if isinstance(value, bool):
            return float(value)
        return float(value) if isinstance(value, int | float) else None


@dataclass(slots=True)
class TwinUpdate:
    """Everything one batch changes on one device's twin."""

    device_id: str
    last_seen_at: datetime | None = None
    reported: dict[str, Any] | None = None  # merged over the stored reported state (top-level keys)
    reported_at: datetime | None = None
    online: bool | None = None


@dataclass(frozen=True, slots=True)
class EventRow:
    device_id: str
    ts: datetime
    name: str
    data: Any


@dataclass(frozen=True, slots=True)
class InvocationReply:
    device_id: str
    invocation_id: str
    ok: bool
    output: Any
    error: str
    at: datetime


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _json_text(value: Any) -> str:
    """JSON text of a value; the common scalars without the json module's machinery."""
    kind = type(value)
    if kind is bool:
        return "true" if value else "false"
    if kind is int or kind is float:
        return repr(value)  # finite: the gateway refuses NaN and infinities
    return _dumps(value)


def telemetry_write(*, rows: Sequence[TelemetryRow]) -> int:
    if not rows:
        return 0
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(COPY_TELEMETRY) as copy:
            for row in rows:
                copy.write_row((row.device_id, row.ts, row.name, row.number, _json_text(row.value)))
    else:
        TelemetryPoint.objects.bulk_create(
            [
                TelemetryPoint(device_id=row.device_id, ts=row.ts, name=row.name, number=row.number, value=row.value)
                for row in rows
            ],
            batch_size=500,
        )
    return len(rows)


_PG_TWINS = """
UPDATE devices_device AS d SET
    reported = CASE WHEN x.reported IS NULL THEN d.reported ELSE d.reported || x.reported END,
    reported_at = COALESCE(x.reported_at, d.reported_at),
    last_seen_at = GREATEST(d.last_seen_at, x.last_seen_at),
    online = COALESCE(x.online, d.online)
FROM jsonb_to_recordset(%s::jsonb)
    AS x(id text, reported jsonb, reported_at timestamptz, last_seen_at timestamptz, online boolean)
WHERE d.id = x.id
"""

_SQLITE_TWIN = """
UPDATE devices_device SET
    reported = CASE WHEN %s IS NULL THEN reported ELSE json_patch(reported, %s) END,
    reported_at = COALESCE(%s, reported_at),
    last_seen_at = CASE WHEN last_seen_at IS NULL OR last_seen_at < %s THEN COALESCE(%s, last_seen_at)
                        ELSE last_seen_at END,
    online = COALESCE(%s, online)
WHERE id = %s
"""


def twins_update(*, updates: Sequence[TwinUpdate]) -> int:
    """Apply each device's coalesced update; returns how many devices were given."""
    if not updates:
        return 0
    ordered = sorted(updates, key=lambda u: u.device_id)  # one lock order for every gateway: no deadlocks
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            records = [
                {
                    "id": u.device_id,
                    "reported": u.reported,
                    "reported_at": u.reported_at.isoformat() if u.reported_at else None,
                    "last_seen_at": u.last_seen_at.isoformat() if u.last_seen_at else None,
                    "online": u.online,
                }
                for u in ordered
            ]
            cursor.execute(_PG_TWINS, [_dumps(records)])
        else:
            params = []
            adapt = connection.ops.adapt_datetimefield_value
            for u in ordered:
                reported = None if u.reported is None else _dumps(u.reported)
                seen = adapt(u.last_seen_at)
                params.append(
                    (
                        reported, reported, adapt(u.reported_at), seen, seen,
                        None if u.online is None else int(u.online), u.device_id,
                    )
                )
            cursor.executemany(_SQLITE_TWIN, params)
    return len(ordered)


def events_write(*, rows: Sequence[EventRow]) -> int:
    DeviceEvent.objects.bulk_create(
        [DeviceEvent(device_id=row.device_id, ts=row.ts, name=row.name, data=row.data) for row in rows],
        batch_size=500,
    )
    return len(rows)


def invocation_replies_apply(*, replies: Sequence[InvocationReply]) -> set[str]:
    """Complete the invocations that are still pending (and before their deadline) through
    `services.invocation_complete`, which also wakes any `?wait=` caller after commit; returns the ids of the
    replies that were not taken (late, repeated, foreign or unknown)."""
    from makercloud.devices import services

    return {
        reply.invocation_id
        for reply in replies
        if not services.invocation_complete(
            device_id=reply.device_id, invocation_id=reply.invocation_id,
            status=InvocationStatus.OK if reply.ok else InvocationStatus.ERROR,
            output=reply.output if reply.ok else None, error="" if reply.ok else reply.error,
        )
    }
