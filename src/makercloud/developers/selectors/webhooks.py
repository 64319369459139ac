"""developers selectors (reads): webhooks — an app's endpoints and its delivery log, for its makers and operators.

Every read starts from `app_get_for_maker`: the app's venture members and operators see it; to anyone else the app
does not exist (404), and neither do its endpoints and deliveries.
"""

from django.db.models import Prefetch, QuerySet

from makercloud.accounts.models import User
from makercloud.developers.errors import DeliveryNotFound, WebhookEndpointNotFound
from makercloud.developers.models import App, Delivery, DeliveryAttempt, WebhookEndpoint
from makercloud.developers.selectors.clients import app_get_for_maker


def endpoints_of(*, app: App) -> QuerySet[WebhookEndpoint]:
    """An app's endpoints; `app` comes from `app_get_for_maker` (the permission check)."""
    return WebhookEndpoint.objects.filter(app=app).select_related("app__venture").order_by("id")


def webhook_endpoint_get(*, actor: User, app_id: int, endpoint_id: int) -> WebhookEndpoint:
    app = app_get_for_maker(actor=actor, app_id=app_id)
    endpoint = endpoints_of(app=app).filter(pk=endpoint_id).first()
    if endpoint is None:
        raise WebhookEndpointNotFound()
    return endpoint


def deliveries_of(
    *,
    app: App,
    endpoint_id: int | None = None,
    state: str | None = None,
    event_type: str | None = None,
    device_id: str | None = None,
    message_id: str | None = None,
) -> QuerySet[Delivery]:
    """An app's delivery log, newest first, narrowed by any of the filters."""
    deliveries = Delivery.objects.filter(app=app).select_related("endpoint").order_by("-id")
    if endpoint_id is not None:
        deliveries = deliveries.filter(endpoint_id=endpoint_id)
    if state is not None:
        deliveries = deliveries.filter(state=state)
    if event_type is not None:
        deliveries = deliveries.filter(event_type=event_type)
    if device_id is not None:
        deliveries = deliveries.filter(device_id=device_id)
    if message_id is not None:
        deliveries = deliveries.filter(message_id=message_id)
    return deliveries


def delivery_get(*, actor: User, app_id: int, delivery_id: int) -> Delivery:
    """One delivery with its attempts (requests and responses)."""
    app = app_get_for_maker(actor=actor, app_id=app_id)
    delivery = (
        deliveries_of(app=app)
        .select_related("app__venture")
        .prefetch_related(Prefetch("attempt_log", queryset=DeliveryAttempt.objects.order_by("number")))
        .filter(pk=delivery_id)
        .first()
    )
    if delivery is None:
        raise DeliveryNotFound()
    return delivery


def delivery_counts(*, app: App) -> dict[str, int]:
    """How many of the app's deliveries are in each state (for the pages)."""
    from django.db.models import Count

    rows = Delivery.objects.filter(app=app).values("state").annotate(n=Count("id")).order_by()
    return {row["state"]: row["n"] for row in rows}
