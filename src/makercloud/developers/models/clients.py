"""developers models: clients — maker apps (OAuth clients), users' grants to them, and their usage counters.

An `App` wraps one django-oauth-toolkit `Application` (the OAuth client: client id, hashed secret, redirect URIs).
A `Grant` is one person's consent to one app: the scopes and the devices it may reach. A person has at most one
active grant per app; consenting again replaces its scopes and devices. Every access and refresh token the app
holds for that person belongs to that grant, and revoking the grant deletes them.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation

__all__ = ["OAUTH_SCOPES", "App", "AppStatus", "AppUsage", "ClientType", "Grant"]

# The scopes an app may ask for, in the words the consent screen uses (see docs/apps.md).
OAUTH_SCOPES = {
    "devices:read": _("See the devices you choose: their state, their model and the commands sent to them."),
    "devices:control": _("Operate the devices you choose: change their settings and start their actions."),
    "telemetry:read": _("Read the measurements and event history of the devices you choose."),
    "events:subscribe": _("Follow what the devices you choose report, live, as it happens."),
    "profile": _("See your name and e-mail address."),
}


class ClientType(models.TextChoices):
    CONFIDENTIAL = "confidential", _("Confidential (a server that keeps a secret)")
    PUBLIC = "public", _("Public (a mobile or browser app, PKCE only)")


class AppStatus(models.TextChoices):
    SANDBOX = "sandbox", _("Sandbox")
    IN_REVIEW = "in_review", _("In review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    SUSPENDED = "suspended", _("Suspended")


class App(models.Model):
    """A venture's third-party program that users authorise to act on their devices."""

    venture = models.ForeignKey(
        Organisation, verbose_name=_("venture"), on_delete=models.CASCADE, related_name="apps"
    )
    name = models.CharField(_("name"), max_length=80)
    description = models.TextField(_("description"), blank=True, max_length=2000)
    icon = models.BinaryField(_("icon"), null=True, blank=True, editable=False, max_length=64 * 1024)
    icon_type = models.CharField(_("icon type"), max_length=32, blank=True, editable=False)
    client_type = models.CharField(_("client type"), max_length=16, choices=ClientType.choices)
    redirect_uris = models.JSONField(_("redirect URIs"), default=list)
    scopes = models.JSONField(_("requested scopes"), default=list)
    status = models.CharField(_("status"), max_length=16, choices=AppStatus.choices, default=AppStatus.SANDBOX)
    review_reason = models.TextField(_("review reason"), blank=True)
    submitted_at = models.DateTimeField(_("submitted for review"), null=True, blank=True)
    reviewed_at = models.DateTimeField(_("reviewed"), null=True, blank=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("reviewed by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    application = models.OneToOneField(
        "oauth2_provider.Application", verbose_name=_("OAuth client"), on_delete=models.PROTECT,
        related_name="app",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "submitted_at"], name="app_review_queue")]
        verbose_name = _("app")
        verbose_name_plural = _("apps")

    def __str__(self) -> str:
        return self.name

    @property
    def client_id(self) -> str:
        return str(self.application.client_id)

    @property
    def reaches_everyone(self) -> bool:
        """Approved apps may be authorised by any user; others only by their venture's members (sandbox)."""
        return self.status == AppStatus.APPROVED


class Grant(models.Model):
    """A person's consent to an app: which scopes, for which devices. Active while `revoked_at` is null."""

    app = models.ForeignKey(App, verbose_name=_("app"), on_delete=models.CASCADE, related_name="grants")
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), on_delete=models.CASCADE, related_name="app_grants"
    )
    scopes = models.JSONField(_("scopes"), default=list)
    devices = models.ManyToManyField("devices.Device", verbose_name=_("devices"), related_name="app_grants",
                                     blank=True)
    created_at = models.DateTimeField(_("granted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["app", "person"], condition=models.Q(revoked_at__isnull=True), name="one_active_grant"
            )
        ]
        verbose_name = _("grant")
        verbose_name_plural = _("grants")

    def __str__(self) -> str:
        return f"{self.app} ← {self.person}"

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes


class AppUsage(models.Model):
    """Per app and minute: API calls made with its tokens, calls refused by its rate limits, tokens issued.

    One row per minute that saw traffic, incremented in place: cheap to count, cheap to sum by day.
    """

    app = models.ForeignKey(App, on_delete=models.CASCADE, related_name="usage")
    minute = models.DateTimeField()
    calls = models.PositiveIntegerField(default=0)
    limited = models.PositiveIntegerField(default=0)
    tokens = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["app", "minute"], name="one_usage_row_per_minute")]
        verbose_name = _("app usage")
        verbose_name_plural = _("app usage")

    def __str__(self) -> str:
        return f"{self.app_id} {self.minute:%Y-%m-%d %H:%M}: {self.calls}"

    def as_dict(self) -> dict[str, Any]:
        return {"minute": self.minute, "calls": self.calls, "limited": self.limited, "tokens": self.tokens}
