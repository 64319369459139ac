"""developers models: webhooks — an app's endpoints, the deliveries owed to them and every attempt to make one.

Deliveries are rows with a state (DESIGN §6), written in the transaction that stores the device facts they report
(a transactional outbox), and moved on by a dispatcher that leases them:

    pending --claim--> sending --2xx--> succeeded
       ^                  |  \\--error, retries left--> pending (next_attempt_at = back-off with full jitter)
       |                  |   \\--error, a day gone--> failed
       |                  \\--lease expired (the dispatcher died)--> claimed again (at least once, never lost)
       +--replay (the maker) -- from succeeded, failed or cancelled
    pending --grant revoked / endpoint disabled--> cancelled

The signing secret must be usable to sign, so it is kept encrypted (Fernet, key derived from SECRET_KEY) and shown
in clear only when it is made.
"""

from datetime import datetime

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = [
    "EVENT_TYPES",
    "CircuitState",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryState",
    "WebhookEndpoint",
]

EVENT_TYPES = {
    "device.online": _("A device came online"),
    "device.offline": _("A device went offline"),
    "device.event": _("A device sent an event"),
    "device.reported": _("A device reported its state"),
    "invocation.completed": _("An action invocation finished (ok, error or timed out)"),
    "grant.revoked": _("A user revoked their grant to the app"),
}


class CircuitState(models.TextChoices):
    CLOSED = "closed", _("closed (delivering)")
    OPEN = "open", _("open (paused after failures)")
    HALF_OPEN = "half_open", _("half-open (one probe allowed)")


class WebhookEndpoint(models.Model):
    """A URL of an app that receives signed deliveries of the event types it subscribes to."""

    app = models.ForeignKey("developers.App", verbose_name=_("app"), on_delete=models.CASCADE,
                            related_name="webhook_endpoints")
    url = models.URLField(_("URL"), max_length=2000)
    description = models.CharField(_("description"), max_length=200, blank=True)
    event_types = models.JSONField(_("event types"), default=list)
    enabled = models.BooleanField(_("enabled"), default=True)
    secret_encrypted = models.TextField(_("signing secret (encrypted)"), editable=False)
    # The secret before the last rotation keeps signing beside the new one for a while (Standard Webhooks allows
    # several signatures), so a receiver can switch without losing deliveries.
    previous_secret_encrypted = models.TextField(_("previous signing secret (encrypted)"), blank=True,
                                                 editable=False)
    previous_secret_until = models.DateTimeField(_("previous secret signs until"), null=True, blank=True)
    secret_rotated_at = models.DateTimeField(_("secret rotated"), null=True, blank=True)
    # Circuit breaker: after CIRCUIT_THRESHOLD consecutive failures the endpoint is open until `circuit_open_until`;
    # then one probe is sent (half-open); its success closes the circuit, its failure opens it again.
    consecutive_failures = models.PositiveIntegerField(_("consecutive failures"), default=0)
    circuit_opened_at = models.DateTimeField(_("circuit opened"), null=True, blank=True)
    circuit_open_until = models.DateTimeField(_("circuit open until"), null=True, blank=True)
    last_success_at = models.DateTimeField(_("last success"), null=True, blank=True)
    last_failure_at = models.DateTimeField(_("last failure"), null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("webhook endpoint")
        verbose_name_plural = _("webhook endpoints")

    def __str__(self) -> str:
        return self.url

    def circuit_state(self, *, now: datetime | None = None) -> str:
        if self.circuit_opened_at is None:
            return CircuitState.CLOSED
        if self.circuit_open_until is not None and self.circuit_open_until > (now or timezone.now()):
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN


class DeliveryState(models.TextChoices):
    PENDING = "pending", _("pending")
    SENDING = "sending", _("sending")
    SUCCEEDED = "succeeded", _("delivered")
    FAILED = "failed", _("failed")
    CANCELLED = "cancelled", _("cancelled")


class Delivery(models.Model):
    """One message owed to one endpoint. `message_id` (the webhook-id) is the event's, so every attempt and every
    endpoint that receives the event sees the same id — receivers de-duplicate on it."""

    endpoint = models.ForeignKey(WebhookEndpoint, verbose_name=_("endpoint"), on_delete=models.CASCADE,
                                 related_name="deliveries")
    app = models.ForeignKey("developers.App", verbose_name=_("app"), on_delete=models.CASCADE,
                            related_name="webhook_deliveries")
    message_id = models.CharField(_("message id"), max_length=40)
    event_type = models.CharField(_("event type"), max_length=40)
    device_id = models.CharField(_("device"), max_length=32, blank=True)
    body = models.TextField(_("body"))  # the JSON sent, serialised once so every attempt sends the same bytes
    occurred_at = models.DateTimeField(_("occurred"))
    state = models.CharField(_("state"), max_length=16, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    retries = models.PositiveIntegerField(_("retries in this round"), default=0)  # back-off step; replay resets it
    round_started_at = models.DateTimeField(_("round started"), default=timezone.now)  # retries stop a day after
    next_attempt_at = models.DateTimeField(_("next attempt"), default=timezone.now)
    lease_token = models.CharField(_("lease"), max_length=32, blank=True)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    last_status = models.PositiveIntegerField(_("last response status"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True)
    cancel_reason = models.CharField(_("why cancelled"), max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    completed_at = models.DateTimeField(_("completed"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "message_id"], name="one_delivery_per_endpoint_message")
        ]
        indexes = [
            # The dispatcher's question: what is due (pending by time, sending by lease expiry)?
            models.Index(fields=["state", "next_attempt_at"], name="delivery_due",
                         condition=models.Q(state__in=["pending", "sending"])),
            models.Index(fields=["app", "-id"], name="delivery_app_log"),
        ]
        verbose_name = _("webhook delivery")
        verbose_name_plural = _("webhook deliveries")

    def __str__(self) -> str:
        return f"{self.message_id} → {self.endpoint_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """One HTTP request of a delivery and what came back (bodies truncated)."""

    class Trigger(models.TextChoices):
        FIRST = "first", _("first attempt")
        RETRY = "retry", _("retry")
        PROBE = "probe", _("circuit probe")
        REPLAY = "replay", _("replay")
        RECOVERED = "recovered", _("after a lost lease")

    delivery = models.ForeignKey(Delivery, verbose_name=_("delivery"), on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveIntegerField(_("number"))
    trigger = models.CharField(_("trigger"), max_length=16, choices=Trigger.choices, default=Trigger.FIRST)
    started_at = models.DateTimeField(_("started"))
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    url = models.URLField(_("URL"), max_length=2000)
    request_headers = models.JSONField(_("request headers"), default=dict)
    request_body = models.TextField(_("request body"), blank=True)
    response_status = models.PositiveIntegerField(_("response status"), null=True, blank=True)
    response_headers = models.JSONField(_("response headers"), default=dict)
    response_body = models.TextField(_("response body"), blank=True)
    error = models.CharField(_("error"), max_length=500, blank=True)
    succeeded = models.BooleanField(_("succeeded"), default=False)

    class Meta:
        ordering = ["delivery", "number"]
        verbose_name = _("delivery attempt")
        verbose_name_plural = _("delivery attempts")

    def __str__(self) -> str:
        return f"{self.delivery_id} #{self.number}: {self.response_status or self.error}"
