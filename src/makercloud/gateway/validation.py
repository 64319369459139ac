"""What a device may say: the topic shapes of DESIGN §5, and values checked against the device's model.

Parsing never raises for bad input: it returns a `Rejected` with a reason and a short detail (never the payload).
Values are checked by a per-model validator. `devices.td` will provide the platform's own (compiled from the Thing
Description); until it does, `ModelRules` reads the TD's property/event affordances directly: type, minimum,
maximum, enum, for top-level data schemas.
"""

import json
import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from makercloud.gateway.models import RejectionReason

MAX_PAYLOAD = 64 * 1024
MAX_POINTS = 1000  # telemetry entries in one message
MAX_FUTURE = timedelta(hours=1)


class Rejected(Exception):
    def __init__(self, reason: RejectionReason, detail: str = "") -> None:
        super().__init__(detail or reason.label)
        self.reason = reason
        self.detail = detail[:200]


class ModelValidator(Protocol):
    def values_problem(self, values: dict[str, Any]) -> Rejected | None:
        """Telemetry values or reported state: {property: value}."""

    def event_problem(self, name: str, data: Any) -> Rejected | None: ...


_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "number": (int, float),
    "integer": (int,),
    "boolean": (bool,),
    "string": (str,),
    "object": (dict,),
    "array": (list,),
    "null": (type(None),),
}


def schema_problem(schema: dict[str, Any], value: Any, *, what: str) -> Rejected | None:
    """Top-level checks of one WoT data schema: type, minimum/maximum, enum, const."""
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _JSON_TYPES:
        ok = isinstance(value, _JSON_TYPES[kind]) and (kind == "boolean" or not isinstance(value, bool))
        if kind == "integer" and isinstance(value, float) and value.is_integer():
            ok = True
        if not ok:
            return Rejected(RejectionReason.INVALID_VALUE, f"{what}: expected {kind}")
    if isinstance(value, int | float) and not isinstance(value, bool):
        if isinstance(value, float) and not math.isfinite(value):
            return Rejected(RejectionReason.INVALID_VALUE, f"{what}: not a finite number")
        low, high = schema.get("minimum"), schema.get("maximum")
        if isinstance(low, int | float) and value < low:
            return Rejected(RejectionReason.INVALID_VALUE, f"{what}: below minimum {low}")
        if isinstance(high, int | float) and value > high:
            return Rejected(RejectionReason.INVALID_VALUE, f"{what}: above maximum {high}")
    enum = schema.get("enum")
    if isinstance(enum, list) and value not in enum:
        return Rejected(RejectionReason.INVALID_VALUE, f"{what}: not one of the allowed values")
    if "const" in schema and value != schema["const"]:
        return Rejected(RejectionReason.INVALID_VALUE, f"{what}: not the constant value")
    return None


class ModelRules:
    """A validator read straight from a Thing Description's affordances."""

    def __init__(self, document: dict[str, Any]) -> None:
        properties = document.get("properties") if isinstance(document, dict) else None
        events = document.get("events") if isinstance(document, dict) else None
        self.properties: dict[str, dict[str, Any]] = {
            k: v for k, v in (properties or {}).items() if isinstance(v, dict)
        }
        self.events: dict[str, dict[str, Any]] = {k: v for k, v in (events or {}).items() if isinstance(v, dict)}

    def values_problem(self, values: dict[str, Any]) -> Rejected | None:
        for name, value in values.items():
            schema = self.properties.get(name)
            if schema is None:
                return Rejected(RejectionReason.UNKNOWN_NAME, f"no property {name[:60]!r} in the model")
            if problem := schema_problem(schema, value, what=name[:60]):
                return problem
        return None

    def event_problem(self, name: str, data: Any) -> Rejected | None:
        event = self.events.get(name)
        if event is None:
            return Rejected(RejectionReason.UNKNOWN_NAME, f"no event {name[:60]!r} in the model")
        schema = event.get("data")
        if isinstance(schema, dict) and data is not None:
            return schema_problem(schema, data, what=f"event {name[:60]}")
        return None


class _ThingDescriptionChecks:
    """The devices app's compiled validator (`devices.td.payload_validator`), answering in rejections."""

    def __init__(self, checks: Any) -> None:
        self._checks = checks

    def values_problem(self, values: dict[str, Any]) -> Rejected | None:
        return _rejected(self._checks.check_telemetry(values))

    def event_problem(self, name: str, data: Any) -> Rejected | None:
        return _rejected(self._checks.check_event(name, data))


def _rejected(problems: list[str]) -> Rejected | None:
    if not problems:
        return None
    unknown = "unknown property" in problems[0] or "unknown event" in problems[0]
    return Rejected(RejectionReason.UNKNOWN_NAME if unknown else RejectionReason.INVALID_VALUE, problems[0])


def model_validator(document: dict[str, Any], *, content_hash: str | None = None) -> ModelValidator:
    """The validator of one device model: the devices app's when it has one for this document, else ModelRules."""
    try:
        from makercloud.devices import td

        return _ThingDescriptionChecks(td.payload_validator(document, content_hash=content_hash or None))
    except Exception:  # no td module yet, or a document it does not accept: check what the document does say
        return ModelRules(document)


# Topic and payload shapes ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DeviceTopic:
    device_id: str
    kind: str  # telemetry | reported | event | reply
    event: str = ""


def topic_parse(topic: str) -> DeviceTopic:
    parts = topic.split("/")
    if len(parts) >= 3 and parts[0] == "devices" and parts[1]:
        rest = parts[2:]
        if rest == ["telemetry"]:
            return DeviceTopic(parts[1], "telemetry")
        if rest == ["reported"]:
            return DeviceTopic(parts[1], "reported")
        if rest == ["actions", "reply"]:
            return DeviceTopic(parts[1], "reply")
        if len(rest) == 2 and rest[0] == "events" and rest[1]:
            return DeviceTopic(parts[1], "event", rest[1])
    raise Rejected(RejectionReason.UNKNOWN_TOPIC, "not a device-to-platform topic")


def payload_load(payload: bytes) -> Any:
    if len(payload) > MAX_PAYLOAD:
        raise Rejected(RejectionReason.TOO_LARGE, f"{len(payload)} bytes")
    if b"\\u0000" in payload:  # no database stores NUL in text or JSON
        raise Rejected(RejectionReason.NOT_JSON, "contains \\u0000")
    try:
        return json.loads(payload, parse_constant=_no_constant)
    except (UnicodeDecodeError, ValueError, RecursionError) as error:
        raise Rejected(RejectionReason.NOT_JSON, type(error).__name__) from None


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def timestamp_parse(value: Any, *, received: datetime) -> datetime:
    if value is None:
        return received
    if not isinstance(value, str) or len(value) > 40:
        raise Rejected(RejectionReason.BAD_TIMESTAMP, "ts must be an RFC 3339 string")
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise Rejected(RejectionReason.BAD_TIMESTAMP, "ts is not RFC 3339") from None
    if ts.tzinfo is None:
        raise Rejected(RejectionReason.BAD_TIMESTAMP, "ts has no time zone")
    if ts > received + MAX_FUTURE:
        raise Rejected(RejectionReason.BAD_TIMESTAMP, "ts is in the future")
    return ts


def _shape(ok: bool, detail: str) -> None:
    if not ok:
        raise Rejected(RejectionReason.BAD_SHAPE, detail)


def telemetry_parse(data: Any, *, model: ModelValidator, received: datetime) -> list[tuple[datetime, str, Any]]:
    """`{"ts"?, "values": {...}}` or a list of those -> (ts, property, value) triples, all valid or none."""
    entries = data if type(data) is list else [data]
    _shape(0 < len(entries) <= MAX_POINTS, f"between 1 and {MAX_POINTS} entries expected")
    points = []
    for entry in entries:
        values: dict[str, Any] = entry.get("values") if type(entry) is dict else None  # type: ignore[assignment]
        _shape(type(values) is dict, 'expected {"values": {…}}')
        _shape(all(key == "values" or key == "ts" for key in entry), "only ts and values are allowed")
        _shape(bool(values), "values is empty")
        ts = timestamp_parse(entry.get("ts"), received=received)
        if problem := model.values_problem(values):
            raise problem
        points += [(ts, name, value) for name, value in values.items()]
    return points


def reported_parse(data: Any, *, model: ModelValidator) -> dict[str, Any]:
    _shape(isinstance(data, dict) and isinstance(data.get("state"), dict), 'expected {"state": {…}}')
    _shape(set(data) <= {"state", "ts"}, "only state is allowed")
    if problem := model.values_problem(data["state"]):
        raise problem
    return dict(data["state"])


def event_parse(data: Any, *, name: str, model: ModelValidator, received: datetime) -> tuple[datetime, Any]:
    _shape(isinstance(data, dict), 'expected {"ts"?: …, "data": …}')
    _shape(set(data) <= {"ts", "data"}, "only ts and data are allowed")
    if problem := model.event_problem(name, data.get("data")):
        raise problem
    return timestamp_parse(data.get("ts"), received=received), data.get("data")


@dataclass(frozen=True, slots=True)
class Reply:
    invocation_id: str
    ok: bool
    output: Any
    error: str


def reply_parse(data: Any) -> Reply:
    _shape(isinstance(data, dict), 'expected {"id": …, "status": "ok"|"error"}')
    _shape(set(data) <= {"id", "status", "output", "error"}, "only id, status, output and error are allowed")
    invocation_id, status = data.get("id"), data.get("status")
    _shape(isinstance(invocation_id, str) and _is_uuid(invocation_id), "id must be the invocation id")
    _shape(status in ("ok", "error"), 'status must be "ok" or "error"')
    error = data.get("error", "")
    _shape(isinstance(error, str), "error must be a string")
    return Reply(invocation_id=invocation_id, ok=status == "ok", output=data.get("output"), error=error)


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return len(value) <= 40
