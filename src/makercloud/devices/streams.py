"""Live streams of devices as Server-Sent Events, read from the database (the source of truth) once a second.

One stream serves one device or a whole home. The ASGI server cancels the generator when the client goes away;
a stream also ends after an hour (the browser's EventSource reconnects with Last-Event-ID and resumes). Served
without ASGI (WSGI cannot hold a response open), a stream sends one round and ends; the client reconnects.
"""

import asyncio
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django.core.serializers.json import DjangoJSONEncoder

from makercloud.devices import selectors

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
LIFETIME_SECONDS = 3600.0
TWIN_FIELDS = ("reported", "desired", "desired_version", "online", "last_seen_at", "enabled")


def message(kind: str, data: dict[str, Any], *, event_id: str = "") -> str:
    lines = [f"event: {kind}"]
    if event_id:
        lines.append(f"id: {event_id}")
    lines.append("data: " + json.dumps(data, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":")))
    return "\n".join(lines) + "\n\n"


def _positions(last_event_id: str) -> tuple[int, int] | None:
    try:
        point, event = (int(part) for part in last_event_id.split("."))
    except ValueError:
        return None
    return (point, event) if point >= 0 and event >= 0 else None


def twin_message(twin: Mapping[str, Any]) -> dict[str, Any]:
    missing = object()
    delta = {k: v for k, v in twin["desired"].items() if twin["reported"].get(k, missing) != v}
    return {"id": twin["id"], **{field: twin[field] for field in TWIN_FIELDS}, "delta": delta}


async def sse(
    device_ids: list[str], *, last_event_id: str = "", poll: float = POLL_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS, lifetime: float = LIFETIME_SECONDS,
) -> AsyncIterator[str]:
    """The stream: first each device's twin, then telemetry, events and twin changes as they are written."""
    read = sync_to_async(selectors.changes_since, thread_sensitive=False)
    positions = _positions(last_event_id) or await sync_to_async(
        selectors.stream_positions, thread_sensitive=False
    )(device_ids=device_ids)
    after_point, after_event = positions
    seen: dict[str, tuple[Any, ...]] = {}
    loop = asyncio.get_running_loop()
    started = quiet_since = loop.time()
    yield "retry: 3000\n\n"
    while True:
        points, events, twins = await read(device_ids=device_ids, after_point=after_point, after_event=after_event)
        sent = False
        for point in points:
            after_point = point.id
            sent = True
            yield message("telemetry", {"device": point.device_id, "id": point.id, "ts": point.ts,
                                        "property": point.name, "value": point.value},
                          event_id=f"{after_point}.{after_event}")
        for event in events:
            after_event = event.id
            sent = True
            yield message("event", {"device": event.device_id, "id": event.id, "ts": event.ts, "name": event.name,
                                    "data": event.data}, event_id=f"{after_point}.{after_event}")
        for twin in twins:
            signature = tuple(json.dumps(twin[f], cls=DjangoJSONEncoder, sort_keys=True) for f in TWIN_FIELDS)
            if seen.get(twin["id"]) != signature:
                seen[twin["id"]] = signature
                sent = True
                yield message("twin", twin_message(twin))
        now = loop.time()
        if sent:
            quiet_since = now
        elif now - quiet_since >= heartbeat:
            quiet_since = now
            yield ": keepalive\n\n"
        if now - started >= lifetime:
            return
        await asyncio.sleep(poll)
