import os
import time
import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation


def invocation_id() -> uuid.UUID:
    """A UUIDv7 (RFC 9562): time-ordered, so the primary key is also the history's order and its cursor."""
    ms = time.time_ns() // 1_000_000
    rand = int.from_bytes(os.urandom(10), "big")
    value = (ms & (2**48 - 1)) << 80 | 0x7 << 76 | (rand >> 62 & 0xFFF) << 64 | 0b10 << 62 | rand & (2**62 - 1)
    return uuid.UUID(int=value)


class DeviceModel(models.Model):
    """One version of a device model: a W3C WoT Thing Description (or Thing Model), immutable once devices use it."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("published by"), on_delete=models.PROTECT, related_name="device_models"
    )
    key = models.SlugField(_("model key"), max_length=80, help_text=_("Stable across versions."))
    version = models.PositiveIntegerField(_("version"))
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    is_thing_model = models.BooleanField(_("thing model"), default=False)
    document = models.JSONField(_("Thing Description"), help_text=_("As submitted."))
    content_hash = models.CharField(_("content hash"), max_length=64)
    retention_days = models.PositiveIntegerField(_("telemetry retention (days)"), default=30)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organisation", "key", "version"], name="one_model_version")]
        ordering = ["organisation_id", "key", "-version"]
        verbose_name = _("device model")
        verbose_name_plural = _("device models")

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"


class Device(models.Model):
    """A connected appliance and its twin. Its id is its MQTT client id and username."""

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("provisioned by"), on_delete=models.PROTECT, related_name="devices"
    )
    model = models.ForeignKey(DeviceModel, verbose_name=_("model"), on_delete=models.PROTECT, related_name="devices")
    name = models.CharField(_("name"), max_length=120)
    secret_hash = models.CharField(max_length=64, editable=False)
    broker_hash = models.CharField(max_length=200, blank=True, editable=False,
                                   help_text="The secret hashed for a Mosquitto password file.")
    enabled = models.BooleanField(_("enabled"), default=True)
    sandbox = models.BooleanField(_("virtual (sandbox)"), default=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="devices",
    )
    claim_code_hash = models.CharField(max_length=64, blank=True, editable=False, db_index=True)
    claimed_at = models.DateTimeField(_("claimed"), null=True, blank=True)
    created_at = models.DateTimeField(_("provisioned"), auto_now_add=True)
    # The twin.
    reported = models.JSONField(_("reported state"), default=dict, blank=True)
    reported_at = models.DateTimeField(_("reported at"), null=True, blank=True)
    desired = models.JSONField(_("desired state"), default=dict, blank=True)
    desired_version = models.PositiveIntegerField(_("desired version"), default=0)
    desired_at = models.DateTimeField(_("desired state changed"), null=True, blank=True)
    online = models.BooleanField(_("online"), default=False)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("device")
        verbose_name_plural = _("devices")

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class InvocationStatus(models.TextChoices):
    PENDING = "pending", _("Waiting for the device")
    OK = "ok", _("Done")
    ERROR = "error", _("Failed on the device")
    TIMEOUT = "timeout", _("No reply in time")


class Invocation(models.Model):
    """One call of a device action: a row with a state, completed by the device's reply or by its deadline."""

    id = models.UUIDField(primary_key=True, default=invocation_id, editable=False)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="invocations")
    action = models.CharField(_("action"), max_length=120)
    input = models.JSONField(_("input"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=16, choices=InvocationStatus.choices, default=InvocationStatus.PENDING
    )
    output = models.JSONField(_("output"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    idempotency_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    deadline_at = models.DateTimeField(_("deadline"))
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["requested_by", "device", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                name="invocation_idempotency",
            )
        ]
        indexes = [
            models.Index(fields=["status", "deadline_at"], name="invocation_due"),
            models.Index(fields=["device", "-id"], name="invocation_history"),
        ]
        verbose_name = _("invocation")
        verbose_name_plural = _("invocations")

    def __str__(self) -> str:
        return f"{self.action} on {self.device_id} ({self.status})"


class TelemetryPoint(models.Model):
    """One reported value of one property at one time. Numeric values are also kept as a number for aggregation."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    ts = models.DateTimeField()
    name = models.CharField(max_length=120)
    number = models.FloatField(null=True)
    value = models.JSONField()

    class Meta:
        indexes = [
            models.Index(fields=["device", "name", "ts"], name="telemetry_series"),
            models.Index(fields=["device", "-id"], name="telemetry_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.name}={self.value} at {self.ts:%Y-%m-%d %H:%M:%S} ({self.device_id})"


class DeviceEvent(models.Model):
    """One event a device emitted (an affordance of its model's `events`)."""

    id = models.BigAutoField(primary_key=True)
    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+", db_index=False)
    ts = models.DateTimeField()
    name = models.CharField(max_length=120)
    data = models.JSONField(null=True)

    class Meta:
        indexes = [
            models.Index(fields=["device", "ts"], name="device_event_time"),
            models.Index(fields=["device", "-id"], name="device_event_latest"),
        ]

    def __str__(self) -> str:
        return f"{self.name} at {self.ts:%Y-%m-%d %H:%M:%S} ({self.device_id})"
