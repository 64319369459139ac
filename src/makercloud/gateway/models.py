"""What the gateway keeps: rejections per device (shown to the owner), delivery windows (de-duplication) and stats."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation
from makercloud.devices.models import Device


class RejectionReason(models.TextChoices):
    TOO_LARGE = "too-large", _("Payload over 64 KB")
    NOT_JSON = "not-json", _("Payload is not UTF-8 JSON")
    BAD_SHAPE = "bad-shape", _("Payload does not have the topic's shape")
    INVALID_VALUE = "invalid-value", _("A value does not fit the device model")
    UNKNOWN_NAME = "unknown-name", _("Property or event not in the device model")
    BAD_TIMESTAMP = "bad-timestamp", _("Timestamp missing a time zone or far in the future")
    RATE_LIMITED = "rate-limited", _("Over the device's message rate")
    DISABLED = "disabled", _("Device is disabled")
    UNKNOWN_TOPIC = "unknown-topic", _("Not a device topic")
    UNKNOWN_DEVICE = "unknown-device", _("No such device")
    UNKNOWN_INVOCATION = "unknown-invocation", _("Reply to an invocation that is not pending")


class Rejection(models.Model):
    """How many of a device's messages were dropped for one reason; the owner sees these on the fleet page."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="+")
    reason = models.CharField(_("reason"), max_length=32, choices=RejectionReason.choices)
    count = models.PositiveBigIntegerField(_("messages"), default=0)
    first_at = models.DateTimeField(_("first"))
    last_at = models.DateTimeField(_("last"))
    last_detail = models.CharField(_("last problem"), max_length=200, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "reason"], name="one_rejection_counter")]
        indexes = [models.Index(fields=["organisation", "-last_at"], name="rejection_owner")]
        verbose_name = _("rejected messages")
        verbose_name_plural = _("rejected messages")

    def __str__(self) -> str:
        return f"{self.device_id}: {self.count} × {self.reason}"


class DeliveryBatch(models.Model):
    """The QoS 1 messages one gateway session committed in one batch: (packet id, digest) pairs, packed.

    A message whose rows are committed but whose PUBACK was lost (a crash) is redelivered with the DUP flag and the
    same packet id; the recent batches tell the gateway it is already in the database. Old batches are pruned.
    """

    id = models.BigAutoField(primary_key=True)
    session = models.CharField(max_length=64)
    committed_at = models.DateTimeField(auto_now_add=True)
    keys = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["session", "id"], name="delivery_batch_session")]

    def __str__(self) -> str:
        return f"{self.session} #{self.id}"


class GatewayStats(models.Model):
    """The counters of one running gateway, refreshed every few seconds, for GET /gateway/stats."""

    instance = models.CharField(max_length=100, primary_key=True)
    started_at = models.DateTimeField()
    updated_at = models.DateTimeField()
    counters = models.JSONField(default=dict)

    class Meta:
        verbose_name = _("gateway statistics")
        verbose_name_plural = _("gateway statistics")

    def __str__(self) -> str:
        return self.instance
