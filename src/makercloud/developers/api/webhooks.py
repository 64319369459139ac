"""developers on the HTTP API: webhooks — an app's endpoints, its delivery log with every attempt, and replay.

Reads: the app's venture members and operators (`apps:read`); writes: the venture's members only (`apps:write`).
The signing secret appears in a response only when it is made (create, rotate-secret).
"""

import json
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, requires
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input
from makercloud.developers.models import Delivery, DeliveryAttempt, WebhookEndpoint
from makercloud.developers.selectors import webhooks as selectors
from makercloud.developers.selectors.clients import app_get_for_maker
from makercloud.developers.services import webhooks as services

router = Router(tags=["webhooks"])

EventType = Literal[
    "device.online", "device.offline", "device.event", "device.reported", "invocation.completed", "grant.revoked"
]
DeliveryStateName = Literal["pending", "sending", "succeeded", "failed", "cancelled"]
Url = Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL,
                           description="https://…, or http://localhost… for development.")]
Description = Annotated[str, Field(max_length=200, pattern=NO_NUL)]


class CircuitOut(Schema):
    state: Literal["closed", "open", "half_open"] = Field(
        ..., description="closed: delivering; open: paused after failures until `open_until`; half_open: the next "
        "due delivery is sent as a probe."
    )
    consecutive_failures: int
    opened_at: datetime | None
    open_until: datetime | None


class WebhookEndpointOut(Schema):
    id: int
    app_id: int
    url: str
    description: str
    event_types: list[str]
    enabled: bool
    circuit: CircuitOut
    last_success_at: datetime | None
    last_failure_at: datetime | None
    secret_rotated_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_circuit(endpoint: WebhookEndpoint) -> dict[str, Any]:
        return {"state": endpoint.circuit_state(), "consecutive_failures": endpoint.consecutive_failures,
                "opened_at": endpoint.circuit_opened_at, "open_until": endpoint.circuit_open_until}


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(..., description="The signing secret (`whsec_…`), shown this once: store it now.")


class WebhookEndpointIn(Input):
    url: Url
    event_types: list[EventType] = Field(..., min_length=1, max_length=6)
    description: Description = ""
    enabled: bool = True


class WebhookEndpointPatch(Input):
    url: Url | None = None
    event_types: list[EventType] | None = Field(None, min_length=1, max_length=6)
    description: Description | None = None
    enabled: bool | None = None


class WebhookSecretOut(Schema):
    id: int
    secret: str = Field(..., description="The new signing secret, shown this once. The previous one keeps signing "
                        "beside it for 24 hours (two signatures in webhook-signature).")


class DeliveryOut(Schema):
    id: int
    endpoint_id: int
    message_id: str = Field(..., description="The webhook-id header: the same on every attempt and every endpoint.")
    event_type: str
    device_id: str | None
    state: DeliveryStateName
    attempts: int
    next_attempt_at: datetime | None = Field(..., description="When it is sent next (pending only).")
    last_status: int | None
    last_error: str
    cancel_reason: str
    occurred_at: datetime
    created_at: datetime
    completed_at: datetime | None

    @staticmethod
    def resolve_device_id(delivery: Delivery) -> str | None:
        return delivery.device_id or None

    @staticmethod
    def resolve_next_attempt_at(delivery: Delivery) -> datetime | None:
        return delivery.next_attempt_at if delivery.state == "pending" else None


class RequestOut(Schema):
    url: str
    headers: dict[str, str]
    body: str = Field(..., description="Truncated beyond 16 KiB.")


class AttemptResponseOut(Schema):
    status: int | None = Field(..., description="Null when no response came (timeout, refused connection).")
    headers: dict[str, str]
    body: str = Field(..., description="Truncated beyond 4 KiB.")


class AttemptOut(Schema):
    number: int
    trigger: Literal["first", "retry", "probe", "replay", "recovered"]
    started_at: datetime
    duration_ms: int
    succeeded: bool
    error: str
    request: RequestOut
    response: AttemptResponseOut

    @staticmethod
    def resolve_request(attempt: DeliveryAttempt) -> dict[str, Any]:
        return {"url": attempt.url, "headers": attempt.request_headers, "body": attempt.request_body}

    @staticmethod
    def resolve_response(attempt: DeliveryAttempt) -> dict[str, Any]:
        return {"status": attempt.response_status, "headers": attempt.response_headers,
                "body": attempt.response_body}


class DeliveryDetail(DeliveryOut):
    payload: dict[str, Any] = Field(..., description="The body sent: {type, timestamp, data}.")
    log: list[AttemptOut] = Field(..., description="Every attempt, oldest first.")

    @staticmethod
    def resolve_payload(delivery: Delivery) -> dict[str, Any]:
        payload: dict[str, Any] = json.loads(delivery.body)
        return payload

    @staticmethod
    def resolve_log(delivery: Delivery) -> list[DeliveryAttempt]:
        return list(delivery.attempt_log.all())


class DeliveryFilter(Schema):
    endpoint_id: Id | None = None
    state: DeliveryStateName | None = None
    event_type: EventType | None = None
    device_id: str | None = Field(None, max_length=32, pattern=r"^[a-z0-9]+$")
    message_id: str | None = Field(None, max_length=40, pattern=r"^msg_[0-9a-f]+$")


# Endpoints ------------------------------------------------------------------------------------------------------


@router.get("/apps/{app_id}/webhooks", response=list[WebhookEndpointOut], auth=requires("apps:read"),
            summary="An app's webhook endpoints")
def webhook_endpoints_list(request: HttpRequest, app_id: Id) -> Any:
    """Each endpoint with its event types and circuit state (never its secret)."""
    return selectors.endpoints_of(app=app_get_for_maker(actor=caller(request), app_id=app_id))


@router.post("/apps/{app_id}/webhooks", response={201: WebhookEndpointCreated}, auth=requires("apps:write"),
             summary="Add a webhook endpoint")
def webhook_endpoint_create(request: HttpRequest, app_id: Id, body: WebhookEndpointIn) -> Any:
    """Subscribe a URL to event types of the devices users granted the app (with `events:subscribe`).

    The answer carries the signing secret, this once. Deliveries follow Standard Webhooks (see docs/webhooks.md).
    """
    app = app_get_for_maker(actor=caller(request), app_id=app_id)
    endpoint, secret = services.webhook_endpoint_create(
        actor=caller(request), app=app, url=body.url, event_types=body.event_types, description=body.description,
        enabled=body.enabled,
    )
    endpoint.secret = secret  # type: ignore[attr-defined]
    return Status(201, endpoint)


@router.patch("/apps/{app_id}/webhooks/{endpoint_id}", response=WebhookEndpointOut, auth=requires("apps:write"),
              summary="Change a webhook endpoint")
def webhook_endpoint_update(request: HttpRequest, app_id: Id, endpoint_id: Id, body: WebhookEndpointPatch) -> Any:
    """Change the URL, event types, description, or pause it (`enabled: false` cancels what is pending)."""
    endpoint = selectors.webhook_endpoint_get(actor=caller(request), app_id=app_id, endpoint_id=endpoint_id)
    return services.webhook_endpoint_update(actor=caller(request), endpoint=endpoint, **body.model_dump(
        exclude_unset=True))


@router.delete("/apps/{app_id}/webhooks/{endpoint_id}", response={204: None}, auth=requires("apps:write"),
               summary="Remove a webhook endpoint")
def webhook_endpoint_delete(request: HttpRequest, app_id: Id, endpoint_id: Id) -> Any:
    """Remove the endpoint with its delivery log."""
    endpoint = selectors.webhook_endpoint_get(actor=caller(request), app_id=app_id, endpoint_id=endpoint_id)
    services.webhook_endpoint_delete(actor=caller(request), endpoint=endpoint)
    return Status(204, None)


@router.post("/apps/{app_id}/webhooks/{endpoint_id}/rotate-secret", response={201: WebhookSecretOut},
             auth=requires("apps:write"), summary="Rotate a webhook endpoint's signing secret")
def webhook_endpoint_rotate_secret(request: HttpRequest, app_id: Id, endpoint_id: Id) -> Any:
    """A new signing secret, shown this once; the old one also signs for 24 hours so receivers can switch."""
    endpoint = selectors.webhook_endpoint_get(actor=caller(request), app_id=app_id, endpoint_id=endpoint_id)
    secret = services.webhook_endpoint_rotate_secret(actor=caller(request), endpoint=endpoint)
    return Status(201, {"id": endpoint.pk, "secret": secret})


@router.post("/apps/{app_id}/webhooks/{endpoint_id}/reset-circuit", response=WebhookEndpointOut,
             auth=requires("apps:write"), summary="Close a webhook endpoint's circuit")
def webhook_endpoint_reset_circuit(request: HttpRequest, app_id: Id, endpoint_id: Id) -> Any:
    """After fixing the receiver: close the circuit now, and what waits is sent at once."""
    endpoint = selectors.webhook_endpoint_get(actor=caller(request), app_id=app_id, endpoint_id=endpoint_id)
    return services.webhook_endpoint_reset_circuit(actor=caller(request), endpoint=endpoint)


# Deliveries -----------------------------------------------------------------------------------------------------


@router.get("/apps/{app_id}/deliveries", response=list[DeliveryOut], auth=requires("apps:read"),
            summary="An app's webhook deliveries")
@paginate(CursorPage)
def deliveries_list(request: HttpRequest, app_id: Id, filters: Query[DeliveryFilter]) -> Any:
    """The delivery log, newest first; narrow by endpoint, state, event type, device or message id."""
    app = app_get_for_maker(actor=caller(request), app_id=app_id)
    return selectors.deliveries_of(app=app, **filters.model_dump())


@router.get("/apps/{app_id}/deliveries/{delivery_id}", response=DeliveryDetail, auth=requires("apps:read"),
            summary="A webhook delivery with its attempts")
def delivery_get(request: HttpRequest, app_id: Id, delivery_id: Id) -> Any:
    """The message sent and every attempt: the request (headers, body) and the response (status, headers, body)."""
    return selectors.delivery_get(actor=caller(request), app_id=app_id, delivery_id=delivery_id)


@router.post("/apps/{app_id}/deliveries/{delivery_id}/replay", response={202: DeliveryOut, **responses(409)},
             auth=requires("apps:write"), summary="Replay a webhook delivery")
def delivery_replay(request: HttpRequest, app_id: Id, delivery_id: Id) -> Any:
    """Send the same message (same webhook-id and body, a fresh signature) again, with a new round of retries.

    Only a finished delivery (succeeded, failed, cancelled) can be replayed: 409 while it is pending or in flight.
    """
    delivery = selectors.delivery_get(actor=caller(request), app_id=app_id, delivery_id=delivery_id)
    return Status(202, services.delivery_replay(actor=caller(request), delivery=delivery))
