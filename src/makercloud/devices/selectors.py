"""Reads about device models, devices, invocations, telemetry and events — each with its permission check.

Who sees what (the rule every read here applies):
- a device is visible to the members of the organisation that provisioned it, to the person who claimed it and to
  operators; to anybody else it does not exist (404, never 403, so ids cannot be probed);
- it is controlled (desired state, actions) by the members of its organisation and by its owner — not by operators
  merely because they can see it;
- published device models are the open platform's documentation: any signed-in person may read them.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.conf import settings
from django.db.models import Avg, Count, Max, Min, Q, QuerySet
from django.db.models.functions import Trunc
from django.utils import timezone

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.errors import InsufficientScope
from makercloud.accounts.models import Membership, Organisation, OrganisationKind, User
from makercloud.core import mqtt
from makercloud.devices import td
from makercloud.devices.errors import DeviceModelNotFound, DeviceNotFound, InvocationNotFound, NotDeviceController
from makercloud.devices.models import Device, DeviceEvent, DeviceModel, Invocation, TelemetryPoint

Bucket = Literal["minute", "hour", "day"]
# How far back an aggregate looks when the caller gives no `since`, per bucket size.
BUCKET_WINDOWS = {"minute": timedelta(hours=6), "hour": timedelta(days=7), "day": timedelta(days=90)}
MAX_BUCKET_ROWS = 5000


# Device models -------------------------------------------------------------------------------------------------


def device_models_of(*, organisation: Organisation) -> QuerySet[DeviceModel]:
    """Every version of every model an organisation published, newest version first within a key."""
    return DeviceModel.objects.filter(organisation=organisation).select_related("organisation")


def device_model_get(*, model_id: int) -> DeviceModel:
    model = DeviceModel.objects.select_related("organisation").filter(pk=model_id).first()
    if model is None:
        raise DeviceModelNotFound()
    return model


def device_models_usable_by(*, organisation: Organisation) -> QuerySet[DeviceModel]:
    """The models an organisation may provision devices of: its own and the platform's."""
    return DeviceModel.objects.filter(
        Q(organisation=organisation) | Q(organisation__kind=OrganisationKind.PLATFORM)
    ).select_related("organisation")


def device_model_td(*, model: DeviceModel) -> dict[str, Any]:
    """The model's TD with makercloud's bindings: MQTT topics on the configured broker, HTTP on the public API."""
    address = mqtt.broker_address()
    scheme = "mqtts" if address.tls else "mqtt"
    return td.export(model.document, mqtt_url=f"{scheme}://{address.host}:{address.port}",
                     api_url=f"{settings.PUBLIC_URL}/api/v1")


def device_model_in_use(*, model: DeviceModel) -> bool:
    return Device.objects.filter(model=model).exists()


# Devices -------------------------------------------------------------------------------------------------------


def _member_org_ids(person: User) -> QuerySet[Membership, Any]:
    return Membership.objects.filter(person=person).values("organisation_id")


def _app_grant(viewer: User) -> Any:
    """The grant of the app whose token the viewer came with (see accounts.auth), or None."""
    return getattr(viewer, "app_grant", None)


def _within_grant(devices: QuerySet[Device], viewer: User) -> QuerySet[Device]:
    """An app's token reaches only the devices of its grant — never another, even of the same person."""
    grant = _app_grant(viewer)
    if grant is None:
        return devices
    return devices.filter(app_grants=grant)


def devices_visible_to(*, viewer: User) -> QuerySet[Device]:
    devices = _within_grant(Device.objects.select_related("model", "organisation"), viewer)
    if accounts_selectors.is_operator(person=viewer):
        return devices
    if not viewer.is_authenticated:
        return devices.none()
    return devices.filter(Q(owner=viewer) | Q(organisation_id__in=_member_org_ids(viewer)))


def device_get(*, viewer: User, device_id: str) -> Device:
    """A device the viewer may see; any other is reported as absent."""
    device = devices_visible_to(viewer=viewer).filter(pk=device_id).first()
    if device is None:
        raise DeviceNotFound()
    return device


def device_twin_get(*, viewer: User, device_id: str) -> Device:
    """`device_get` for showing the twin: the same rule, without reading the model's document (often tens of
    kilobytes of JSON that the twin does not show) or the organisation."""
    device = (
        devices_visible_to(viewer=viewer).select_related(None).select_related("model")
        .defer("model__document").filter(pk=device_id).first()
    )
    if device is None:
        raise DeviceNotFound()
    return device


def can_control(*, person: User, device: Device) -> bool:
    """A claimed device obeys its owner only: the venture that makes it sees it (support) but does not command a
    customer's appliance. Until it is claimed, the venture's members control it (test rigs, virtual devices)."""
    if device.owner_id is not None:
        return device.owner_id == person.pk
    return accounts_selectors.is_member(person=person, organisation=device.organisation)


def device_for_control(*, viewer: User, device_id: str) -> Device:
    """A device the viewer may command: 404 when they may not see it, 403 when they may only look."""
    device = device_get(viewer=viewer, device_id=device_id)
    if not can_control(person=viewer, device=device):
        raise NotDeviceController()
    return device


def devices_of(*, organisation: Organisation) -> QuerySet[Device]:
    """An organisation's fleet. Callers check that the viewer is a member (`fleet_of` does)."""
    return Device.objects.filter(organisation=organisation).select_related("model", "owner")


def fleet_of(*, viewer: User, organisation: Organisation) -> QuerySet[Device]:
    if _app_grant(viewer) is not None:
        raise InsufficientScope(detail="An app's token reaches only the devices granted to it, not a fleet.",
                                scope="devices:manage")
    if not (accounts_selectors.is_member(person=viewer, organisation=organisation)
            or accounts_selectors.is_operator(person=viewer)):
        return Device.objects.none()
    return devices_of(organisation=organisation)


def fleet_summary(*, organisation: Organisation) -> dict[str, int]:
    counts = Device.objects.filter(organisation=organisation).aggregate(
        total=Count("pk"), online=Count("pk", filter=Q(online=True)),
        claimed=Count("pk", filter=Q(owner__isnull=False)), disabled=Count("pk", filter=Q(enabled=False)),
    )
    return {key: int(value or 0) for key, value in counts.items()}


def home_of(*, person: User) -> QuerySet[Device]:
    """The devices a person has claimed into their home (those of the grant, for an app's token)."""
    devices = _within_grant(Device.objects.filter(owner=person), person)
    return devices.select_related("model", "organisation").order_by("claimed_at", "pk")


def delta_of(*, device: Device) -> dict[str, Any]:
    """The desired keys whose value the device has not reported yet."""
    missing = object()
    return {k: v for k, v in device.desired.items() if device.reported.get(k, missing) != v}


# Invocations ---------------------------------------------------------------------------------------------------


def invocation_get(*, viewer: User, invocation_id: str) -> Invocation:
    invocation = Invocation.objects.select_related("device").filter(pk=invocation_id).first()
    if invocation is None or not devices_visible_to(viewer=viewer).filter(pk=invocation.device_id).exists():
        raise InvocationNotFound()
    return invocation


def invocation_current(*, invocation_id: Any) -> Invocation | None:
    """The invocation as it stands now, or None if it is gone: one primary-key read (a waiter's poll)."""
    return Invocation.objects.filter(pk=invocation_id).first()


def invocations_of(*, device: Device, action: str | None = None, status: str | None = None) -> QuerySet[Invocation]:
    invocations = Invocation.objects.filter(device=device).select_related("requested_by")
    if action:
        invocations = invocations.filter(action=action)
    if status:
        invocations = invocations.filter(status=status)
    return invocations


# Telemetry and events ------------------------------------------------------------------------------------------


def _window[M: (TelemetryPoint, DeviceEvent)](
    rows: QuerySet[M], *, name: str | None, since: datetime | None, until: datetime | None
) -> QuerySet[M]:
    """A device's points or events of one name (if given), from `since` (inclusive) to `until` (exclusive)."""
    if name:
        rows = rows.filter(name=name)
    if since:
        rows = rows.filter(ts__gte=since)
    if until:
        rows = rows.filter(ts__lt=until)
    return rows


def telemetry_of(
    *, device: Device, name: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[TelemetryPoint]:
    return _window(TelemetryPoint.objects.filter(device=device), name=name, since=since, until=until)


def telemetry_buckets(
    *, device: Device, bucket: Bucket, name: str | None = None, since: datetime | None = None,
    until: datetime | None = None,
) -> list[Mapping[str, Any]]:
    """min/max/avg/count per bucket per property, computed by the database (SQLite and PostgreSQL alike).

    min, max and avg are over the numeric values; count is every point in the bucket.
    """
    if since is None:
        since = (until or timezone.now()) - BUCKET_WINDOWS[bucket]
    rows = (
        telemetry_of(device=device, name=name, since=since, until=until)
        .annotate(start=Trunc("ts", bucket, tzinfo=UTC))
        .values("start", "name")
        .annotate(min=Min("number"), max=Max("number"), avg=Avg("number"), count=Count("id"))
        .order_by("start", "name")
    )
    return list(rows[:MAX_BUCKET_ROWS])


def recent_series(*, device: Device, name: str, limit: int = 60) -> list[tuple[datetime, float]]:
    """The last numeric points of one property, oldest first, for a small chart."""
    rows = TelemetryPoint.objects.filter(device=device, name=name, number__isnull=False).order_by("-ts")
    series = [(ts, number) for ts, number in rows.values_list("ts", "number")[:limit] if number is not None]
    series.reverse()
    return series


def events_of(
    *, device: Device, name: str | None = None, since: datetime | None = None, until: datetime | None = None
) -> QuerySet[DeviceEvent]:
    return _window(DeviceEvent.objects.filter(device=device), name=name, since=since, until=until)


# Live changes (the SSE streams) --------------------------------------------------------------------------------


def stream_positions(*, device_ids: list[str]) -> tuple[int, int]:
    """Where a live stream starts: the newest telemetry point and event ids of these devices."""
    last_point = TelemetryPoint.objects.filter(device_id__in=device_ids).order_by("-id").values_list("id", flat=True)
    last_event = DeviceEvent.objects.filter(device_id__in=device_ids).order_by("-id").values_list("id", flat=True)
    return (last_point.first() or 0), (last_event.first() or 0)


def changes_since(
    *, device_ids: list[str], after_point: int, after_event: int, limit: int = 500
) -> tuple[list[TelemetryPoint], list[DeviceEvent], list[Mapping[str, Any]]]:
    """New telemetry points and events after the given ids, and the twins of the devices as they are now."""
    points = list(
        TelemetryPoint.objects.filter(device_id__in=device_ids, id__gt=after_point).order_by("id")[:limit]
    )
    events = list(DeviceEvent.objects.filter(device_id__in=device_ids, id__gt=after_event).order_by("id")[:limit])
    twins: list[Mapping[str, Any]] = list(
        Device.objects.filter(pk__in=device_ids).values(
            "id", "reported", "reported_at", "desired", "desired_version", "online", "last_seen_at", "enabled"
        )
    )
    return points, events, twins


def latest_values(*, device: Device, names: list[str]) -> dict[str, tuple[Any, datetime]]:
    """Each property's most recent telemetry value and its time (one indexed look-up per property)."""
    latest: dict[str, tuple[Any, datetime]] = {}
    for name in names:
        point = TelemetryPoint.objects.filter(device=device, name=name).order_by("-ts").values("value", "ts").first()
        if point is not None:
            latest[name] = (point["value"], point["ts"])
    return latest
