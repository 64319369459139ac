"""Scenes, automations and their runs.

An automation belongs to a person (its owner, for whom it acts), optionally created by an app under the person's
grant. Its trigger and actions are JSON documents checked against the device models when saved (services); the
devices it uses are also rows of `AutomationDevice`, so that facts of a device find their automations by index.

A run is a row with a state (DESIGN §6): created in the same transaction as the fact that triggered it, claimed by
the executor with a lease, retried when a worker dies, and carrying its log — each action's outcome.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TriggerKind(models.TextChoices):
    EVENT = "event", _("A device event")
    THRESHOLD = "threshold", _("A property crossing a threshold")
    SCHEDULE = "schedule", _("A schedule")


class Automation(models.Model):
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="automations"
    )
    grant_id = models.BigIntegerField(
        null=True, blank=True, help_text="The app grant it was created under (its devices and scopes bound it)."
    )
    name = models.CharField(_("name"), max_length=120)
    enabled = models.BooleanField(_("enabled"), default=True)
    trigger_kind = models.CharField(_("trigger"), max_length=16, choices=TriggerKind.choices)
    trigger = models.JSONField(_("trigger"))
    actions = models.JSONField(_("actions"))
    # A threshold trigger's state: armed until it fires; re-armed once the value is back past the hysteresis band.
    armed = models.BooleanField(_("armed"), default=True)
    # A schedule's next firing (UTC); the periodic job fires it once it has passed.
    next_run_at = models.DateTimeField(_("next run"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["trigger_kind", "enabled", "next_run_at"], name="automation_due")]
        verbose_name = _("automation")
        verbose_name_plural = _("automations")

    def __str__(self) -> str:
        return self.name


class Scene(models.Model):
    """A one-tap list of actions."""

    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("owner"), on_delete=models.CASCADE, related_name="scenes"
    )
    grant_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(_("name"), max_length=120)
    actions = models.JSONField(_("actions"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("scene")
        verbose_name_plural = _("scenes")

    def __str__(self) -> str:
        return self.name


class AutomationDevice(models.Model):
    """A device an automation uses: its trigger's (role "trigger") or an action's. The index facts are matched by."""

    automation = models.ForeignKey(Automation, on_delete=models.CASCADE, related_name="devices")
    device = models.ForeignKey("devices.Device", on_delete=models.CASCADE, related_name="+")
    trigger = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["automation", "device", "trigger"], name="automation_device_once")
        ]
        indexes = [models.Index(fields=["device", "trigger"], name="automation_by_device")]

    def __str__(self) -> str:
        return f"{self.automation_id} uses {self.device_id}"


class RunStatus(models.TextChoices):
    PENDING = "pending", _("Waiting")
    RUNNING = "running", _("Running")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    STOPPED = "stopped", _("Stopped")
    SKIPPED = "skipped", _("Skipped")


class StopReason(models.TextChoices):
    LOOP = "loop", _("A loop between automations")
    RATE = "rate", _("Too many runs in a short time")
    CHAIN = "chain", _("Too long a chain of automations")
    PERMISSION = "permission", _("A device may no longer be controlled")
    DISABLED = "disabled", _("The automation was turned off")
    MISSED = "missed", _("The platform was not running at the scheduled time")
    GAVE_UP = "gave-up", _("Gave up after repeated crashes")


class Run(models.Model):
    """One execution of an automation (or of a scene): what caused it, and what each of its actions did."""

    automation = models.ForeignKey(Automation, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    scene = models.ForeignKey(Scene, null=True, blank=True, on_delete=models.CASCADE, related_name="runs")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    status = models.CharField(_("status"), max_length=16, choices=RunStatus.choices, default=RunStatus.PENDING)
    cause = models.JSONField(_("cause"), default=dict, blank=True)
    # The automations whose actions (most likely) led to this run, oldest first: a loop shows as a repetition.
    chain = models.JSONField(default=list, blank=True)
    actions = models.JSONField(_("actions"), help_text="The actions as they were when the run was created.")
    log = models.JSONField(_("log"), default=list, blank=True)
    reason = models.CharField(_("stopped because"), max_length=16, choices=StopReason.choices, blank=True)
    detail = models.TextField(_("detail"), blank=True)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    idempotency_key = models.CharField(max_length=200, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["automation", "scheduled_for"], condition=models.Q(scheduled_for__isnull=False),
                name="run_once_per_schedule",
            ),
            models.UniqueConstraint(
                fields=["scene", "owner", "idempotency_key"], condition=~models.Q(idempotency_key=""),
                name="scene_run_idempotency",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "lease_until"], name="run_due"),
            models.Index(fields=["automation", "-id"], name="run_history"),
            models.Index(fields=["automation", "created_at"], name="run_rate"),
        ]
        verbose_name = _("run")
        verbose_name_plural = _("runs")

    def __str__(self) -> str:
        return f"run {self.pk} ({self.status})"


class Effect(models.Model):
    """A device that a run acted on, with the run's chain: a fact of that device soon after is likely its effect."""

    device_id = models.CharField(max_length=32)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="+")
    chain = models.JSONField(default=list)
    at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["device_id", "at"], name="effect_recent")]

    def __str__(self) -> str:
        return f"run {self.run_id} acted on {self.device_id}"
