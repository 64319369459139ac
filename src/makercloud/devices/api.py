"""Device models, devices and their twins, invocations, telemetry, events and live streams on the HTTP API.

Handlers only parse, call one service or selector (after fetching the objects it acts on) and render. The two that
wait — an invocation with `?wait=` and the Server-Sent-Events streams — are async, so a waiting caller holds no
thread; their database work runs through `sync_to_async` — for an invocation on the thread pool (`in_pool`), so
that concurrent invocations do not queue on the one thread every sync view shares.
"""

import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from asgiref.sync import sync_to_async
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, JsonResponse, StreamingHttpResponse
from ninja import Body, Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, in_pool, requires, requires_async
from makercloud.core.errors import InvalidInput
from makercloud.core.pagination import CursorPage, InvalidCursor
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, Instant, Name
from makercloud.devices import affordances, selectors, services, streams, waiters
from makercloud.devices.models import Device, DeviceModel, Invocation, InvocationStatus
from makercloud.ventures import selectors as ventures_selectors

router = Router(tags=["devices"])

DeviceId = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[a-z0-9]+$")]
ActionName = Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL)]
PropertyName = Annotated[str, Field(min_length=1, max_length=120, pattern=NO_NUL)]
MAX_WAIT = 30.0


class KeyCursorPage(CursorPage):
    """Cursor pages for rows keyed by a string or a UUID (devices, invocations): newest key first.

    The cursor is the last key itself (a UUID as 32 hex digits): keys are not secrets, and those of invocations
    (UUIDv7) are in time order.
    """

    def paginate_queryset(
        self, queryset: QuerySet, pagination: CursorPage.Input, request: HttpRequest | None = None, **params: Any
    ) -> dict[str, Any]:
        queryset = queryset.order_by("-pk")
        if pagination.cursor:
            try:
                queryset = queryset.filter(pk__lt=pagination.cursor)
                items = list(queryset[: pagination.limit + 1])
            except ValidationError as error:  # not a UUID where one is expected
                raise InvalidCursor(detail="Pass back the next_cursor of the previous page, unchanged.") from error
        else:
            items = list(queryset[: pagination.limit + 1])
        more = len(items) > pagination.limit
        items = items[: pagination.limit]
        last = items[-1].pk if more else None
        return {"items": items, "next_cursor": None if last is None else getattr(last, "hex", last)}


# Device models --------------------------------------------------------------------------------------------------


class DeviceModelOut(Schema):
    id: int
    organisation_id: int = Field(..., description="The venture's (or the platform's) organisation.")
    key: str = Field(..., description="Stable across versions: the document's `id` (or `title`), slugified.")
    version: int
    title: str
    description: str
    is_thing_model: bool
    content_hash: str
    retention_days: int = Field(..., description="How many days telemetry of its devices is kept.")
    created_at: datetime


class AffordanceOut(Schema):
    name: str
    title: str | None = None
    description: str | None = None
    schema_: dict[str, Any] = Field(
        ..., alias="schema", description="The data schema (property value, action input, event data)."
    )


class DeviceModelDetail(DeviceModelOut):
    in_use: bool = Field(..., description="Devices use this version: it can no longer be withdrawn.")
    properties: dict[str, Any]
    actions: dict[str, Any]
    events: dict[str, Any]
    document: dict[str, Any] = Field(..., description="The Thing Description as it was published.")

    @staticmethod
    def resolve_in_use(model: DeviceModel) -> bool:
        return selectors.device_model_in_use(model=model)

    @staticmethod
    def resolve_properties(model: DeviceModel) -> dict[str, Any]:
        return affordances.properties(model)

    @staticmethod
    def resolve_actions(model: DeviceModel) -> dict[str, Any]:
        return affordances.actions(model)

    @staticmethod
    def resolve_events(model: DeviceModel) -> dict[str, Any]:
        return affordances.events(model)


class PublishQuery(Schema):
    retention_days: int | None = Field(
        None, ge=1, le=3650, description="Telemetry retention; default: the previous version's, or 30."
    )


class DeviceModelPatch(Input):
    retention_days: int = Field(..., ge=1, le=3650)


@router.post(
    "/ventures/{venture_id}/device-models",
    response={200: DeviceModelDetail, 201: DeviceModelDetail},
    auth=requires("devices:manage"),
    summary="Publish a device model",
)
def device_model_publish(
    request: HttpRequest,
    venture_id: Id,
    query: Query[PublishQuery],
    document: dict[str, Any] = Body(..., description="A W3C WoT Thing Description or Thing Model, as is."),  # noqa: B008
) -> Any:
    """Publish a Thing Description or Thing Model as the next version of its model (the venture's managers).

    The body is the document itself. Its `id` (or `title`), slugified, is the model's key: publishing under the same
    key makes the next version; publishing the latest version's very document again changes nothing (200).
    Errors in the document are listed in `errors`, each with its JSON path in `loc`.
    """
    venture = ventures_selectors.venture_get(venture_id=venture_id)
    model, created = services.device_model_publish(
        actor=caller(request),
        organisation=venture.organisation,
        document=document,
        retention_days=query.retention_days,
    )
    return Status(201 if created else 200, model)


@router.get(
    "/ventures/{venture_id}/device-models",
    response=list[DeviceModelOut],
    auth=requires("devices:read"),
    summary="A venture's device models",
)
@paginate(CursorPage)
def device_models_list(request: HttpRequest, venture_id: Id) -> Any:
    """Every version of every device model the venture published, newest first."""
    return selectors.device_models_of(organisation=ventures_selectors.venture_get(venture_id=venture_id).organisation)


@router.get(
    "/device-models/{model_id}", response=DeviceModelDetail, auth=requires("devices:read"), summary="A device model"
)
def device_model_get(request: HttpRequest, model_id: Id) -> Any:
    """One version of a device model: its document and its properties, actions and events."""
    return selectors.device_model_get(model_id=model_id)


@router.get(
    "/device-models/{model_id}/td",
    response={200: dict[str, Any]},
    auth=requires("devices:read"),
    summary="A device model's Thing Description for devices",
)
def device_model_td(request: HttpRequest, model_id: Id) -> Any:
    """The Thing Description with makercloud's own MQTT forms: how a device of this model talks to the platform.

    Served as `application/td+json`.
    """
    model = selectors.device_model_get(model_id=model_id)
    return JsonResponse(
        selectors.device_model_td(model=model),
        content_type="application/td+json",
        json_dumps_params={"ensure_ascii": False},
    )


@router.patch(
    "/device-models/{model_id}",
    response=DeviceModelDetail,
    auth=requires("devices:manage"),
    summary="Change a device model's retention",
)
def device_model_update(request: HttpRequest, model_id: Id, body: DeviceModelPatch) -> Any:
    """Change how long telemetry is kept. The document itself never changes: publish a new version instead."""
    return services.device_model_set_retention(
        actor=caller(request), model=selectors.device_model_get(model_id=model_id), retention_days=body.retention_days
    )


@router.delete(
    "/device-models/{model_id}",
    response={204: None, **responses(409)},
    auth=requires("devices:manage"),
    summary="Withdraw a device model version",
)
def device_model_withdraw(request: HttpRequest, model_id: Id) -> Any:
    """Withdraw a version no device uses yet. Once a device uses it, it stays (409 `device-model-in-use`)."""
    services.device_model_withdraw(actor=caller(request), model=selectors.device_model_get(model_id=model_id))
    return Status(204, None)


# Devices and twins ---------------------------------------------------------------------------------------------


class ModelRef(Schema):
    id: int
    key: str
    version: int
    title: str


class TwinOut(Schema):
    """A device and its twin: what it reported, what is desired of it, and the difference."""

    id: str
    name: str
    organisation_id: int
    model: ModelRef
    enabled: bool
    sandbox: bool
    claimed: bool = Field(..., description="It belongs to someone's home.")
    online: bool
    last_seen_at: datetime | None
    reported: dict[str, Any]
    reported_at: datetime | None
    desired: dict[str, Any]
    desired_version: int
    delta: dict[str, Any] = Field(..., description="Desired keys whose value the device has not reported yet.")

    @staticmethod
    def resolve_claimed(device: Device) -> bool:
        return device.owner_id is not None

    @staticmethod
    def resolve_delta(device: Device) -> dict[str, Any]:
        return selectors.delta_of(device=device)


class MqttOut(Schema):
    host: str
    port: int
    username: str = Field(..., description="And the MQTT client id: the device id.")


class ProvisionedOut(Schema):
    id: str
    name: str
    model: ModelRef
    secret: str = Field(..., description="The MQTT password. Shown this once; only a hash is kept.")
    claim_code: str = Field(
        ..., description="For the appliance's sticker: a user claims it into their home with it. Shown this once."
    )
    mqtt: MqttOut


class SecretOut(Schema):
    id: str
    secret: str = Field(..., description="The new MQTT password. Shown this once.")


class ProvisionIn(Input):
    model: Id = Field(..., description="The device model version's id (the venture's own or the platform's).")
    name: Name
    sandbox: bool = Field(False, description="A virtual device for trying things out.")


class DesiredIn(Input):
    state: dict[str, Any] = Field(..., description="Properties to set; null removes a key from the desired state.")


class ClaimIn(Input):
    code: str = Field(..., min_length=1, max_length=40, pattern=NO_NUL)


@router.post(
    "/ventures/{venture_id}/devices",
    response={201: ProvisionedOut},
    auth=requires("devices:manage"),
    summary="Provision a device",
)
def device_provision(request: HttpRequest, venture_id: Id, body: ProvisionIn) -> Any:
    """Create a device of one of the venture's (or the platform's) model versions. The venture's managers only.

    The answer carries the device's MQTT secret and its claim code — shown this once, stored only as hashes.
    """
    organisation = ventures_selectors.venture_get(venture_id=venture_id).organisation
    device, secret, claim_code = services.device_provision(
        actor=caller(request),
        organisation=organisation,
        model=selectors.device_model_get(model_id=body.model),
        name=body.name,
        sandbox=body.sandbox,
    )
    mqtt = {**services.mqtt_endpoint(), "username": device.pk}
    return Status(
        201,
        {
            "id": device.pk,
            "name": device.name,
            "model": device.model,
            "secret": secret,
            "claim_code": claim_code,
            "mqtt": mqtt,
        },
    )


@router.get(
    "/ventures/{venture_id}/devices", response=list[TwinOut], auth=requires("devices:read"), summary="A venture's fleet"
)
@paginate(KeyCursorPage)
def devices_list(request: HttpRequest, venture_id: Id) -> Any:
    """The venture's devices and their twins. Its members (and operators) only; others see an empty list."""
    organisation = ventures_selectors.venture_get(venture_id=venture_id).organisation
    return selectors.fleet_of(viewer=caller(request), organisation=organisation)


@router.get("/me/devices", response=list[TwinOut], auth=requires("devices:read"), summary="My home's devices")
@paginate(KeyCursorPage)
def home_devices(request: HttpRequest) -> Any:
    """The devices you have claimed into your home."""
    return selectors.home_of(person=caller(request))


@router.post("/devices/claim", response=TwinOut, auth=requires("devices:manage"), summary="Claim a device")
def device_claim(request: HttpRequest, body: ClaimIn) -> Any:
    """Claim an appliance into your home with the code on its sticker. One home at a time (409 `already-claimed`)."""
    return services.device_claim(actor=caller(request), code=body.code)


@router.get("/devices/{device_id}", response=TwinOut, auth=requires_async("devices:read"), summary="A device's twin")
async def device_get(request: HttpRequest, device_id: DeviceId) -> Any:
    """The device's twin: reported and desired state, desired version, delta, online and last seen.

    Visible to its venture's members, its owner and operators; to anyone else it does not exist (404).
    """
    # async so that, under ASGI, its queries run on the pool's long-lived connections rather than on a fresh
    # per-request thread that must open one (the most frequent read of the API)
    return await in_pool(selectors.device_twin_get, request=request)(viewer=caller(request), device_id=device_id)


@router.patch(
    "/devices/{device_id}/desired", response=TwinOut, auth=requires("devices:control"), summary="Set desired state"
)
def device_set_desired(request: HttpRequest, device_id: DeviceId, body: DesiredIn) -> Any:
    """Change the desired state: writable properties only, each value checked against its schema.

    The desired version goes up by one and the device gets `{"version", "state"}` on its retained
    `devices/{id}/desired` topic. The owner and the venture's members only.
    """
    user = caller(request)
    device = selectors.device_for_control(viewer=user, device_id=device_id)
    return services.device_set_desired(actor=user, device=device, state=body.state)


@router.post(
    "/devices/{device_id}/secret",
    response={201: SecretOut},
    auth=requires("devices:manage"),
    summary="Rotate a device's secret",
)
def device_rotate_secret(request: HttpRequest, device_id: DeviceId) -> Any:
    """A new MQTT password for the device, shown this once. The venture's managers only."""
    user = caller(request)
    device = selectors.device_get(viewer=user, device_id=device_id)
    return Status(201, {"id": device.pk, "secret": services.device_rotate_secret(actor=user, device=device)})


@router.post(
    "/devices/{device_id}/disable", response=TwinOut, auth=requires("devices:manage"), summary="Disable a device"
)
def device_disable(request: HttpRequest, device_id: DeviceId) -> Any:
    """The broker refuses it and actions are refused until it is enabled again. The venture's managers only."""
    user = caller(request)
    device = selectors.device_get(viewer=user, device_id=device_id)
    return services.device_set_enabled(actor=user, device=device, enabled=False)


@router.post(
    "/devices/{device_id}/enable", response=TwinOut, auth=requires("devices:manage"), summary="Enable a device"
)
def device_enable(request: HttpRequest, device_id: DeviceId) -> Any:
    """Let a disabled device connect and act again. The venture's managers only."""
    user = caller(request)
    device = selectors.device_get(viewer=user, device_id=device_id)
    return services.device_set_enabled(actor=user, device=device, enabled=True)


@router.post(
    "/devices/{device_id}/unbind",
    response={200: TwinOut, **responses(409)},
    auth=requires("devices:manage"),
    summary="Unbind a device from its home",
)
def device_unbind(request: HttpRequest, device_id: DeviceId) -> Any:
    """Release the device from its home: its owner, or the venture's managers. Its claim code works again."""
    user = caller(request)
    return services.device_unbind(actor=user, device=selectors.device_get(viewer=user, device_id=device_id))


# Invocations ---------------------------------------------------------------------------------------------------


class InvocationOut(Schema):
    id: UUID
    device_id: str
    action: str
    input: Any
    status: InvocationStatus
    output: Any
    error: str
    requested_at: datetime = Field(..., alias="created_at")
    deadline_at: datetime
    completed_at: datetime | None


class InvokeIn(Input):
    input: Any = Field(None, description="The action's input, as its input schema describes.")


class InvokeQuery(Schema):
    wait: float = Field(
        0,
        ge=0,
        le=MAX_WAIT,
        description="Wait up to this many seconds (at most 30) for the device's reply before answering.",
    )


class InvocationFilter(Schema):
    action: ActionName | None = None
    status: InvocationStatus | None = None


def _invoke(request: HttpRequest, device_id: str, action: str, value: Any, key: str) -> tuple[Invocation, bool]:
    user = caller(request)
    device = selectors.device_for_control(viewer=user, device_id=device_id)
    return services.invocation_request(actor=user, device=device, action=action, input=value, idempotency_key=key)


@router.post(
    "/devices/{device_id}/actions/{action}",
    response={200: InvocationOut, 201: InvocationOut, **responses(409)},
    auth=requires_async("devices:control"),
    summary="Invoke a device action",
)
async def invocation_request(
    request: HttpRequest, device_id: DeviceId, action: ActionName, body: InvokeIn, query: Query[InvokeQuery]
) -> Any:
    """Ask the device to perform an action; `input` is checked against the action's input schema.

    The invocation starts `pending` with a deadline (the action's timeout, 10 s unless its model says otherwise)
    and is sent on `devices/{id}/actions/invoke`; the device's reply makes it `ok` or `error`, silence until the
    deadline `timeout`. With `?wait=N` the answer comes when the result is in, or after N seconds.
    An `Idempotency-Key` header makes a retry safe: the same key from you for the same device returns the first
    invocation (200) and sends nothing again.
    """
    key = request.headers.get("Idempotency-Key", "").strip()
    if len(key) > 200 or "\x00" in key:
        raise InvalidInput(detail="An Idempotency-Key has at most 200 characters.")
    invocation, created = await in_pool(_invoke, request=request)(request, device_id, action, body.input, key)
    if query.wait and invocation.status == InvocationStatus.PENDING:
        invocation = await _wait(request, invocation, query.wait)
    return Status(201 if created else 200, invocation)


async def _wait(request: HttpRequest, invocation: Invocation, seconds: float) -> Invocation:
    """The invocation once it has settled, or as it stands after `seconds` (timed out if past its deadline)."""
    read = in_pool(selectors.invocation_current, request=request)
    latest = invocation

    async def settled() -> bool:
        nonlocal latest
        current = await read(invocation_id=invocation.pk)
        if current is None:  # gone with its device: answer with what was last seen
            return True
        latest = current
        return latest.status != InvocationStatus.PENDING

    deadline_left = (invocation.deadline_at - invocation.created_at).total_seconds()
    if await waiters.wait_until(str(invocation.pk), settled=settled, timeout=min(seconds, deadline_left + 0.05)):
        return latest  # as read by the poll that saw it settle
    return await in_pool(services.invocation_expire_if_due, request=request)(invocation=latest)


@router.get(
    "/invocations/{invocation_id}", response=InvocationOut, auth=requires("devices:read"), summary="An invocation"
)
def invocation_get(request: HttpRequest, invocation_id: UUID) -> Any:
    """Where an invocation stands; one past its deadline without a reply reads as `timeout`."""
    invocation = selectors.invocation_get(viewer=caller(request), invocation_id=str(invocation_id))
    return services.invocation_expire_if_due(invocation=invocation)


@router.get(
    "/devices/{device_id}/invocations",
    response=list[InvocationOut],
    auth=requires("devices:read"),
    summary="A device's invocations",
)
@paginate(KeyCursorPage)
def invocations_list(request: HttpRequest, device_id: DeviceId, filters: Query[InvocationFilter]) -> Any:
    """Every invocation of the device's actions, newest first; narrow by `action` and `status`."""
    device = selectors.device_get(viewer=caller(request), device_id=device_id)
    services.invocations_expire(device=device)
    return selectors.invocations_of(device=device, action=filters.action, status=filters.status)


# Telemetry and events ------------------------------------------------------------------------------------------


class PointOut(Schema):
    id: int
    ts: datetime
    property: str = Field(..., alias="name")
    value: Any


class BucketOut(Schema):
    start: datetime
    property: str = Field(..., alias="name")
    min: float | None
    max: float | None
    avg: float | None
    count: int


class TelemetryOut(Schema):
    items: list[PointOut] | None = Field(None, description="Raw points, newest first (without `bucket`).")
    next_cursor: str | None = Field(None, description="For the next page of raw points; null on the last.")
    buckets: list[BucketOut] | None = Field(None, description="Aggregates, oldest first (with `bucket`).")


class TelemetryQuery(Schema):
    property: PropertyName | None = None
    since: Instant | None = None
    until: Instant | None = None
    bucket: Literal["minute", "hour", "day"] | None = Field(
        None, description="Aggregate per minute, hour or day: min, max, avg (numeric values) and count per property."
    )


class DeviceEventOut(Schema):
    id: int
    ts: datetime
    name: str
    data: Any


class DeviceEventQuery(Schema):
    name: ActionName | None = None
    since: Instant | None = None
    until: Instant | None = None


@router.get(
    "/devices/{device_id}/telemetry",
    response=TelemetryOut,
    auth=requires("telemetry:read"),
    summary="A device's telemetry",
)
def device_telemetry(
    request: HttpRequest, device_id: DeviceId, filters: Query[TelemetryQuery], page: Query[CursorPage.Input]
) -> Any:
    """Raw points, newest first, a cursor page at a time — or, with `bucket`, aggregates computed by the database.

    Filter by `property` and by time (`since` inclusive, `until` exclusive). Without `since`, aggregates cover the
    last 6 hours (minute), 7 days (hour) or 90 days (day).
    """
    device = selectors.device_get(viewer=caller(request), device_id=device_id)
    if filters.bucket:
        return {
            "buckets": selectors.telemetry_buckets(
                device=device, bucket=filters.bucket, name=filters.property, since=filters.since, until=filters.until
            )
        }
    points = selectors.telemetry_of(device=device, name=filters.property, since=filters.since, until=filters.until)
    return CursorPage().paginate_queryset(points, page)


@router.get(
    "/devices/{device_id}/events",
    response=list[DeviceEventOut],
    auth=requires("telemetry:read"),
    summary="A device's events",
)
@paginate(CursorPage)
def device_events(request: HttpRequest, device_id: DeviceId, filters: Query[DeviceEventQuery]) -> Any:
    """The events the device emitted, newest first; narrow by `name` and time (`since`, `until`)."""
    device = selectors.device_get(viewer=caller(request), device_id=device_id)
    return selectors.events_of(device=device, name=filters.name, since=filters.since, until=filters.until)


@router.get(
    "/devices/{device_id}/stream",
    response={200: None},
    auth=requires("events:subscribe"),
    summary="A device's live stream",
)
async def device_stream(request: HttpRequest, device_id: DeviceId) -> StreamingHttpResponse:
    """Server-Sent Events: the device's telemetry, events and twin changes as they happen.

    Each message is an SSE event: `telemetry` (`{device, id, ts, property, value}`), `event`
    (`{device, id, ts, name, data}`) or `twin` (`{id, reported, desired, desired_version, delta, online,
    last_seen_at}`, when it changes); a comment line every 15 seconds keeps the connection open. Reconnecting with
    `Last-Event-ID` resumes where the stream left off.
    """
    device = await sync_to_async(selectors.device_get)(viewer=caller(request), device_id=device_id)
    return _sse(request, [device.pk])


@router.get("/me/home/stream", response={200: None}, auth=requires("events:subscribe"), summary="My home's live stream")
async def home_stream(request: HttpRequest) -> StreamingHttpResponse:
    """Server-Sent Events for every device in your home, as `GET /devices/{id}/stream` describes them."""
    ids = await sync_to_async(lambda: list(selectors.home_of(person=caller(request)).values_list("pk", flat=True)))()
    return _sse(request, ids)


def _sse(request: HttpRequest, device_ids: list[str]) -> StreamingHttpResponse:
    stream = streams.sse(
        device_ids,
        last_event_id=request.headers.get("Last-Event-ID", ""),
        lifetime=streams.LIFETIME_SECONDS if hasattr(request, "scope") else 0,
    )
    grant = getattr(request, "grant", None)  # an app's token (accounts.auth): only while its grant lasts
    if grant is not None:
        stream = _while_granted(stream, grant=grant, token=getattr(request, "token", None))
    response = StreamingHttpResponse(stream, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"
    return response


GRANT_CHECK_SECONDS = 1.0


async def _while_granted(stream: AsyncIterator[str], *, grant: Any, token: Any) -> AsyncIterator[str]:
    """An app's stream ends as soon as its grant is revoked or its token is gone: before passing anything on, the
    grant is checked again (at most once a second), so nothing of the devices reaches the app after a revocation."""

    def still_granted() -> bool:
        granted = type(grant).objects.filter(pk=grant.pk, revoked_at__isnull=True).exists()
        return granted and (token is None or type(token).objects.filter(pk=token.pk).exists())

    check = sync_to_async(still_granted, thread_sensitive=False)
    checked_at = 0.0
    async for chunk in stream:
        now = time.monotonic()
        if now - checked_at >= GRANT_CHECK_SECONDS:
            if not await check():
                return
            checked_at = now
        yield chunk
