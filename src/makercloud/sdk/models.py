"""What the API answers, as typed dictionaries (the JSON as it comes; times are RFC 3339 strings, UTC).

Only the fields the SDK and its users rely on are listed; the platform may add more (they are kept, just untyped).
"""

from typing import Any, Literal, NotRequired, TypedDict

InvocationStatus = Literal["pending", "ok", "error", "timeout"]
EventType = Literal[
    "device.online", "device.offline", "device.event", "device.reported", "invocation.completed", "grant.revoked"
]
Scope = Literal["devices:read", "devices:control", "telemetry:read", "events:subscribe", "profile"]


class ModelRef(TypedDict):
    id: int
    key: str
    version: int
    title: str


class Twin(TypedDict):
    """A device and its twin: what it reported, what is desired of it, and the difference (`delta`)."""

    id: str
    name: str
    organisation_id: int
    model: ModelRef
    enabled: bool
    sandbox: bool
    claimed: bool
    online: bool
    last_seen_at: str | None
    reported: dict[str, Any]
    reported_at: str | None
    desired: dict[str, Any]
    desired_version: int
    delta: dict[str, Any]


class Invocation(TypedDict):
    id: str
    device_id: str
    action: str
    input: Any
    status: InvocationStatus
    output: Any
    error: str
    requested_at: str
    deadline_at: str
    completed_at: str | None


class TelemetryPoint(TypedDict):
    id: int
    ts: str
    property: str
    value: Any


class TelemetryBucket(TypedDict):
    start: str
    property: str
    min: float | None
    max: float | None
    avg: float | None
    count: int


class DeviceEvent(TypedDict):
    id: int
    ts: str
    name: str
    data: Any


class AppRef(TypedDict):
    id: int
    name: str
    venture_id: int


class DeviceRef(TypedDict):
    id: str
    name: str


class Grant(TypedDict):
    """A person's consent to an app: its scopes and the devices it reaches."""

    id: int
    app: AppRef
    scopes: list[str]
    devices: list[DeviceRef]
    created_at: str
    last_used_at: str | None


class App(TypedDict):
    id: int
    venture_id: int
    name: str
    description: str
    client_id: str
    client_type: Literal["confidential", "public"]
    redirect_uris: list[str]
    scopes: list[str]
    status: Literal["sandbox", "in_review", "approved", "rejected", "suspended"]
    review_reason: str
    created_at: str
    client_secret: NotRequired[str | None]  # in the answer to registering, once (confidential apps)


class WebhookEndpoint(TypedDict):
    id: int
    app_id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    circuit: dict[str, Any]
    created_at: str
    secret: NotRequired[str]  # `whsec_…`, in the answer to creating it, once


class Delivery(TypedDict):
    id: int
    endpoint_id: int
    message_id: str
    event_type: str
    device_id: str | None
    state: Literal["pending", "sending", "succeeded", "failed", "cancelled"]
    attempts: int
    last_status: int | None
    occurred_at: str


class WebhookEvent(TypedDict):
    """A verified webhook: `id` is the webhook-id (the same on every retry: de-duplicate on it), `type` one of the
    event types, `timestamp` when it happened, `data` what happened (`device_id`, and per type `event`/`data`,
    `state`, `online`, `invocation_id`/`status`, or the grant)."""

    id: str
    type: str
    timestamp: str
    data: dict[str, Any]


class StreamMessage(TypedDict):
    """One Server-Sent Event of a device's live stream: `event` is `telemetry`, `event` or `twin`."""

    event: str
    id: str
    data: Any
