"""Every write about device models, devices, twins and invocations.

Messages to devices leave only after the transaction commits (`transaction.on_commit`), so a device never hears of
a desired state or an invocation that was rolled back. The database is the source of truth for every deadline.
"""

import hashlib
import logging
import secrets
from base64 import b32encode
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Organisation, OrganisationKind, User
from makercloud.core import mqtt
from makercloud.core.events import record_event
from makercloud.devices import affordances, signals, td, waiters
from makercloud.devices.errors import (
    AlreadyClaimed,
    DeviceDisabled,
    DeviceModelInUse,
    IdempotencyKeyReused,
    InvalidClaimCode,
    InvalidThingDescription,
    NotClaimed,
    NotDeviceOwner,
    UnusableDeviceModel,
)
from makercloud.devices.models import Device, DeviceModel, Invocation, InvocationStatus, TelemetryPoint

logger = logging.getLogger(__name__)

DEFAULT_RETENTION_DAYS = 30
CLAIM_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a sticker without mistakes


def _sha256(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _publish(topic: str, message: dict[str, Any], *, retain: bool = False) -> None:
    """Send to a device after commit. If the broker is down the row stands: an invocation times out, and a desired
    state waits for the next change (the twin's delta shows it was not applied)."""
    try:
        mqtt.publish(topic, message, qos=1, retain=retain)
    except mqtt.MQTTUnavailable:
        logger.warning("could not publish to %s: the MQTT broker is unavailable", topic)


# Device models -------------------------------------------------------------------------------------------------


def _model_key(source: str) -> str:
    if source.startswith("urn:"):
        source = source[4:]
    return slugify(source.replace(":", "-").replace("/", "-"))[:80].strip("-") or "model"


@transaction.atomic
def device_model_publish(
    *, actor: User, organisation: Organisation, document: Any, retention_days: int | None = None
) -> tuple[DeviceModel, bool]:
    """Publish a Thing Description (or Thing Model) as the next version of its model.

    The key comes from the document's `id` (or its `title`), slugified. Publishing the very document of the latest
    version again changes nothing and returns that version (created=False).
    """
    accounts_selectors.ensure_can_manage(person=actor, organisation=organisation)
    try:
        info = td.validate(document)
    except InvalidThingDescription as error:
        # Problem details locate errors as a list (RFC 9457 `errors[].loc`): the body, then the JSON path in it.
        located = [{"loc": ["body", item["loc"]], "msg": item["msg"]} for item in error.errors]
        raise InvalidThingDescription(error.detail, errors=located) from error
    key = _model_key(info.id or info.title)
    digest = info.content_hash
    Organisation.objects.select_for_update().filter(pk=organisation.pk).first()  # one publisher at a time per org
    latest = DeviceModel.objects.filter(organisation=organisation, key=key).order_by("-version").first()
    if latest is not None and latest.content_hash == digest:
        if retention_days is not None and retention_days != latest.retention_days:
            device_model_set_retention(actor=actor, model=latest, retention_days=retention_days)
        return latest, False
    model = DeviceModel.objects.create(
        organisation=organisation,
        key=key,
        version=(latest.version + 1) if latest else 1,
        title=(info.title or key)[:200],
        description=info.description or "",
        is_thing_model=info.is_thing_model,
        document=document,
        content_hash=digest,
        retention_days=retention_days if retention_days is not None else (
            latest.retention_days if latest else DEFAULT_RETENTION_DAYS
        ),
        created_by=actor,
    )
    record_event(actor=actor, subject=model, kind="device_model.published", organisation=organisation, public=True,
                 data={"key": key, "version": model.version, "title": model.title})
    return model, True


@transaction.atomic
def device_model_set_retention(*, actor: User, model: DeviceModel, retention_days: int) -> DeviceModel:
    """How long telemetry of this model's devices is kept. Not part of the document, so it may change."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=model.organisation)
    before = model.retention_days
    DeviceModel.objects.filter(pk=model.pk).update(retention_days=retention_days)
    model.retention_days = retention_days
    record_event(actor=actor, subject=model, kind="device_model.retention_changed", organisation=model.organisation,
                 data={"from": before, "to": retention_days})
    return model


@transaction.atomic
def device_model_withdraw(*, actor: User, model: DeviceModel) -> None:
    """Remove a model version that no device uses yet (a mistaken publication)."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=model.organisation)
    if Device.objects.filter(model=model).exists():
        raise DeviceModelInUse()
    record_event(actor=actor, subject=model, kind="device_model.withdrawn", organisation=model.organisation,
                 data={"key": model.key, "version": model.version})
    model.delete()


# Devices -------------------------------------------------------------------------------------------------------


def new_device_id() -> str:
    """'d' and 20 base32 characters (100 random bits): short, unguessable, safe in an MQTT topic and client id."""
    return "d" + b32encode(secrets.token_bytes(13)).decode()[:20].lower()


def new_claim_code() -> str:
    code = "".join(secrets.choice(CLAIM_ALPHABET) for _ in range(12))
    return f"{code[:4]}-{code[4:8]}-{code[8:]}"


def normalise_claim_code(code: str) -> str:
    return "".join(ch for ch in code.upper() if ch.isalnum())


def _broker_hash(secret: str) -> str:
    from makercloud.gateway.auth import broker_password_hash

    return broker_password_hash(secret)


def _access_changed(device_id: str, *, reason: str) -> None:
    """After commit: tell the brokers and gateways that this device's standing or secret changed, so that its live
    MQTT session ends now (it must log in again) and no gateway goes on with what it cached about it."""
    from makercloud.gateway.auth import access_topic

    def announce() -> None:
        try:
            mqtt.publish(access_topic(device_id), {"reason": reason}, qos=1)
        except mqtt.MQTTUnavailable:
            # The broker is down, so the device is not connected to it either; it logs in afresh when it is back.
            logger.info("could not announce %s of device %s: the MQTT broker is unavailable", reason, device_id)

    transaction.on_commit(announce)


def mqtt_endpoint() -> dict[str, Any]:
    """Where devices connect: the configured broker (the embedded one unless MAKERCLOUD_MQTT_URL says otherwise)."""
    address = mqtt.broker_address()
    return {"host": address.host, "port": address.port}


@transaction.atomic
def device_provision(
    *, actor: User, organisation: Organisation, model: DeviceModel, name: str, sandbox: bool = False
) -> tuple[Device, str, str]:
    """A new device of a model: returns it with its secret and its claim code, both shown this once only."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=organisation)
    if model.organisation_id != organisation.pk and model.organisation.kind != OrganisationKind.PLATFORM:
        raise UnusableDeviceModel()
    secret = secrets.token_urlsafe(32)
    claim_code = new_claim_code()
    device = Device.objects.create(
        id=new_device_id(), organisation=organisation, model=model, name=name.strip(),
        secret_hash=_sha256(secret), broker_hash=_broker_hash(secret), sandbox=sandbox,
        claim_code_hash=_sha256(normalise_claim_code(claim_code)),
    )
    record_event(actor=actor, subject=device, kind="device.provisioned", organisation=organisation,
                 data={"name": device.name, "model": model.key, "version": model.version})
    return device, secret, claim_code


@transaction.atomic
def device_rotate_secret(*, actor: User, device: Device) -> str:
    """A new secret for the device; the old one stops working at once (a session opened with it is ended)."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=device.organisation)
    secret = secrets.token_urlsafe(32)
    device.secret_hash, device.broker_hash = _sha256(secret), _broker_hash(secret)
    device.save(update_fields=["secret_hash", "broker_hash"])
    record_event(actor=actor, subject=device, kind="device.secret_rotated", organisation=device.organisation)
    _access_changed(device.pk, reason="secret-rotated")
    return secret


@transaction.atomic
def device_set_enabled(*, actor: User, device: Device, enabled: bool) -> Device:
    """Disable (its live MQTT session ends, the broker refuses it, actions are refused) or re-enable a device."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=device.organisation)
    if device.enabled != enabled:
        device.enabled = enabled
        device.save(update_fields=["enabled"])
        record_event(actor=actor, subject=device, kind="device.enabled" if enabled else "device.disabled",
                     organisation=device.organisation)
        _access_changed(device.pk, reason="enabled" if enabled else "disabled")
    return device


@transaction.atomic
def device_claim(*, actor: User, code: str) -> Device:
    """Claim the appliance whose sticker carries this code into the actor's home."""
    digest = _sha256(normalise_claim_code(code))
    device = Device.objects.select_for_update().filter(claim_code_hash=digest).first()
    if device is None or not code.strip():
        raise InvalidClaimCode()
    if device.owner_id is not None:
        if device.owner_id == actor.pk:
            return device
        raise AlreadyClaimed()
    device.owner, device.claimed_at = actor, timezone.now()
    device.save(update_fields=["owner", "claimed_at"])
    record_event(actor=actor, subject=device, kind="device.claimed", organisation=device.organisation)
    return device


@transaction.atomic
def device_unbind(*, actor: User, device: Device) -> Device:
    """Release a device from its home (its owner, or its venture's managers). The claim code works again."""
    if device.owner_id is None:
        raise NotClaimed()
    is_owner = device.owner_id == actor.pk
    if not is_owner and not accounts_selectors.can_manage(person=actor, organisation=device.organisation):
        raise NotDeviceOwner()
    device.owner, device.claimed_at = None, None
    device.save(update_fields=["owner", "claimed_at"])
    record_event(actor=actor, subject=device, kind="device.unbound", organisation=device.organisation)
    return device


@transaction.atomic
def device_set_desired(*, actor: User, device: Device, state: dict[str, Any]) -> Device:
    """Merge `state` into the desired state (a key set to null is removed), bump the version, tell the device.

    Every key must be a writable property of the device's model and its value must fit the property's schema.
    """
    affordances.check_desired(model=device.model, state=state)
    device = Device.objects.select_for_update().select_related("model", "organisation").get(pk=device.pk)
    desired = dict(device.desired)
    for key, value in state.items():
        if value is None:
            desired.pop(key, None)
        else:
            desired[key] = value
    if desired == device.desired:
        return device
    device.desired, device.desired_version, device.desired_at = desired, device.desired_version + 1, timezone.now()
    device.save(update_fields=["desired", "desired_version", "desired_at"])
    record_event(actor=actor, subject=device, kind="device.desired_changed", organisation=device.organisation,
                 data={"version": device.desired_version, "state": state})
    message = {"version": device.desired_version, "state": desired}
    transaction.on_commit(lambda: _publish(f"devices/{device.pk}/desired", message, retain=True))
    return device


# Invocations ---------------------------------------------------------------------------------------------------


def invocation_request(
    *, actor: User, device: Device, action: str, input: Any = None, idempotency_key: str = ""
) -> tuple[Invocation, bool]:
    """Ask the device to perform an action. Returns (invocation, created).

    The same Idempotency-Key from the same person for the same device returns the original invocation
    (created=False) and sends nothing again; a different request under a used key is a conflict.
    """
    spec = affordances.check_invocation(model=device.model, action=action, input=input)
    if idempotency_key:
        earlier = Invocation.objects.filter(
            requested_by=actor, device=device, idempotency_key=idempotency_key
        ).first()
        if earlier is not None:
            return _replayed(earlier, action=action, input=input), False
    try:
        return _invocation_create(actor=actor, device=device, action=action, input=input,
                                  idempotency_key=idempotency_key, timeout=spec.timeout), True
    except IntegrityError:  # the same key raced in from a second request: that one won
        earlier = Invocation.objects.get(requested_by=actor, device=device, idempotency_key=idempotency_key)
        return _replayed(earlier, action=action, input=input), False


def _replayed(earlier: Invocation, *, action: str, input: Any) -> Invocation:
    if earlier.action != action or earlier.input != input:
        raise IdempotencyKeyReused()
    return earlier


@transaction.atomic
def _invocation_create(
    *, actor: User, device: Device, action: str, input: Any, idempotency_key: str, timeout: float
) -> Invocation:
    if not device.enabled:
        raise DeviceDisabled()
    now = timezone.now()
    invocation = Invocation.objects.create(
        device=device, action=action, input=input, requested_by=actor, idempotency_key=idempotency_key,
        deadline_at=now + timedelta(seconds=timeout),
    )
    record_event(actor=actor, subject=invocation, kind="invocation.requested", organisation=device.organisation_id,
                 data={"device": device.pk, "action": action})
    message = {"id": str(invocation.pk), "action": action, "input": input}
    transaction.on_commit(lambda: _publish(f"devices/{device.pk}/actions/invoke", message))
    return invocation


def invocation_complete(
    *, device_id: str, invocation_id: Any, status: str, output: Any = None, error: str = ""
) -> bool:
    """Record a device's reply. Only a pending invocation of that very device, before its deadline, takes it.

    Returns whether the reply was taken (a late, repeated or foreign reply is not). Called by the gateway's ingest.
    """
    if status not in (InvocationStatus.OK, InvocationStatus.ERROR):
        return False
    now = timezone.now()
    with transaction.atomic():
        taken = Invocation.objects.filter(
            pk=invocation_id, device_id=device_id, status=InvocationStatus.PENDING, deadline_at__gte=now
        ).update(status=status, output=output, error=(error or "")[:2000], completed_at=now)
        if taken:
            transaction.on_commit(lambda: waiters.wake(str(invocation_id)))
    return bool(taken)


def invocations_expire(*, device: Device | None = None, now: Any = None) -> int:
    """Mark every pending invocation past its deadline as timed out (the job, and every read, call this)."""
    due = Invocation.objects.filter(status=InvocationStatus.PENDING, deadline_at__lt=now or timezone.now())
    if device is not None:
        due = due.filter(device=device)
    if not signals.device_facts.has_listeners():
        return due.update(status=InvocationStatus.TIMEOUT, completed_at=timezone.now())
    with transaction.atomic():
        expired = list(due.select_for_update().values_list("pk", "device_id"))
        count = Invocation.objects.filter(
            pk__in=[pk for pk, _ in expired], status=InvocationStatus.PENDING
        ).update(status=InvocationStatus.TIMEOUT, completed_at=timezone.now())
        signals.facts_publish(signals.DeviceFacts(completions=[
            signals.Completion(device_id=device_id, invocation_id=str(pk), status=InvocationStatus.TIMEOUT)
            for pk, device_id in expired
        ]))
    return count


def invocation_expire_if_due(*, invocation: Invocation) -> Invocation:
    """The lazy half of the deadline: reading a pending invocation past its deadline times it out."""
    if invocation.status == InvocationStatus.PENDING and invocation.deadline_at < timezone.now():
        with transaction.atomic():
            if Invocation.objects.filter(pk=invocation.pk, status=InvocationStatus.PENDING).update(
                status=InvocationStatus.TIMEOUT, completed_at=timezone.now()
            ):
                signals.facts_publish(signals.DeviceFacts(completions=[signals.Completion(
                    device_id=invocation.device_id, invocation_id=str(invocation.pk),
                    status=InvocationStatus.TIMEOUT,
                )]))
        invocation.refresh_from_db()
    return invocation


# Telemetry retention -------------------------------------------------------------------------------------------


def telemetry_expire(*, now: Any = None) -> int:
    """Delete telemetry older than its device model's retention. Returns how many points went."""
    now = now or timezone.now()
    deleted = 0
    for days in sorted(set(DeviceModel.objects.values_list("retention_days", flat=True))):
        cutoff = now - timedelta(days=days)
        count, _ = TelemetryPoint.objects.filter(
            device__model__retention_days=days, ts__lt=cutoff
        ).delete()
        deleted += count
    return deleted
