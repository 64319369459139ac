"""ledger models: value-sharing rules (versioned, content-hashed), their named sets, settlements and payouts."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from makercloud.accounts.models import Organisation
from makercloud.ledger.models.journal import Account

__all__ = [
    "PartyMember",
    "PartySet",
    "Payout",
    "PayoutState",
    "RevenueClass",
    "RuleVersion",
    "Settlement",
    "SettlementKind",
    "SharingRule",
]


class SharingRule(models.Model):
    """A venture's published rule for sharing its revenue. Its text lives in immutable versions."""

    venture = models.ForeignKey(
        Organisation, verbose_name=_("venture"), on_delete=models.PROTECT, related_name="sharing_rules"
    )
    name = models.CharField(_("name"), max_length=120)
    public = models.BooleanField(_("public"), default=False, help_text=_("Anyone may read and recompute it."))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    retired_at = models.DateTimeField(_("retired"), null=True, blank=True)

    class Meta:
        ordering = ["venture", "name"]
        verbose_name = _("sharing rule")
        verbose_name_plural = _("sharing rules")
        constraints = [models.UniqueConstraint(fields=["venture", "name"], name="ledger_rule_unique_name")]

    def __str__(self) -> str:
        return self.name


class RuleVersion(models.Model):
    """One saved text of a rule. Never changed: every save is a new version with the sha256 of its text."""

    rule = models.ForeignKey(SharingRule, verbose_name=_("rule"), on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    text = models.TextField(_("text"))
    content_hash = models.CharField(_("content hash (sha256)"), max_length=64)
    kinds = models.JSONField(_("revenue kinds"), default=list)
    effective_from = models.DateTimeField(_("in force from"), default=timezone.now)
    created_at = models.DateTimeField(_("saved"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("saved by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["rule", "-number"]
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        constraints = [models.UniqueConstraint(fields=["rule", "number"], name="ledger_rule_version_unique")]

    def __str__(self) -> str:
        return f"{self.rule} v{self.number}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None and not self._state.adding:
            raise ValueError("A rule version is immutable; save a new version instead.")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class PartySet(models.Model):
    """The members of a named set of a rule (@co_creators, @suppliers, @investors) and their weights. Editable:
    contribution points grow; each settlement keeps the weights it used."""

    rule = models.ForeignKey(SharingRule, verbose_name=_("rule"), on_delete=models.CASCADE, related_name="sets")
    name = models.CharField(_("name"), max_length=32)

    class Meta:
        ordering = ["rule", "name"]
        verbose_name = _("party set")
        verbose_name_plural = _("party sets")
        constraints = [models.UniqueConstraint(fields=["rule", "name"], name="ledger_party_set_unique")]

    def __str__(self) -> str:
        return f"@{self.name}"


class PartyMember(models.Model):
    party_set = models.ForeignKey(PartySet, verbose_name=_("set"), on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    weight = models.BigIntegerField(_("weight"))

    class Meta:
        ordering = ["party_set", "id"]
        verbose_name = _("set member")
        verbose_name_plural = _("set members")
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False, person__isnull=True)
                | Q(organisation__isnull=True, person__isnull=False),
                name="ledger_party_member_one_owner",
            ),
            models.CheckConstraint(condition=Q(weight__gte=0), name="ledger_party_member_weight"),
            models.UniqueConstraint(fields=["party_set", "organisation"], condition=Q(organisation__isnull=False),
                                    name="ledger_party_member_org"),
            models.UniqueConstraint(fields=["party_set", "person"], condition=Q(person__isnull=False),
                                    name="ledger_party_member_person"),
        ]

    def __str__(self) -> str:
        return str(self.organisation or self.person)

    @property
    def key(self) -> str:
        return f"organisation:{self.organisation_id}" if self.organisation_id else f"person:{self.person_id}"


class SettlementKind(models.TextChoices):
    SALE = "sale", _("Sale")
    REFUND = "refund", _("Refund")
    SUBSCRIPTION = "subscription", _("Subscription")
    SERVICE = "service", _("Service")


class RevenueClass(models.TextChoices):
    PRODUCT = "product", _("Product")
    ECOSYSTEM = "ecosystem", _("Ecosystem (apps, services)")


class Settlement(models.Model):
    """One revenue event shared under a rule version: one per event id. `shares` lists what each party got and by
    which transfer; `context` keeps the set members and weights used, so anyone can recompute it."""

    event_id = models.CharField(_("event id"), max_length=200, unique=True)
    venture = models.ForeignKey(
        Organisation, verbose_name=_("venture"), on_delete=models.PROTECT, related_name="settlements"
    )
    kind = models.CharField(_("kind"), max_length=16, choices=SettlementKind.choices)
    revenue_class = models.CharField(_("revenue class"), max_length=16, choices=RevenueClass.choices)
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    rule_version = models.ForeignKey(
        RuleVersion, verbose_name=_("rule version"), on_delete=models.PROTECT, related_name="settlements"
    )
    refund_of = models.ForeignKey(
        "self", verbose_name=_("refund of"), null=True, blank=True, on_delete=models.PROTECT, related_name="refunds"
    )
    occurred_at = models.DateTimeField(_("occurred"))
    seed = models.CharField(_("tie-break seed"), max_length=20)
    shares = models.JSONField(_("shares"), default=list)
    context = models.JSONField(_("set members and weights"), default=dict)
    batch = models.UUIDField(_("linked batch"))
    created_at = models.DateTimeField(_("settled"), auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("settled by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["-occurred_at", "-id"]
        verbose_name = _("settlement")
        verbose_name_plural = _("settlements")
        constraints = [models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_settlement_amount_positive")]
        indexes = [models.Index(fields=["venture", "occurred_at"], name="ledger_settlement_venture")]

    def __str__(self) -> str:
        return f"{self.kind} {self.event_id}"


class PayoutState(models.TextChoices):
    REQUESTED = "requested", _("Requested")
    SUBMITTED = "submitted", _("Sent to the provider")
    PAID = "paid", _("Paid")
    FAILED = "failed", _("Failed")


class Payout(models.Model):
    """A withdrawal from a party's account to an external payout provider; two-phase in the journal until the
    provider confirms (posted) or fails (voided)."""

    id = models.UUIDField(_("id"), primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="payouts")
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    destination = models.CharField(_("destination"), max_length=200)
    provider = models.CharField(_("provider"), max_length=32, default="sandbox")
    provider_reference = models.CharField(_("provider reference"), max_length=200, blank=True)
    state = FSMField(_("state"), default=PayoutState.REQUESTED, choices=PayoutState.choices, protected=False)
    failure = models.TextField(_("why it failed"), blank=True)
    pending_transfer_id = models.UUIDField(_("pending transfer"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("requested by"), on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(_("requested"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("payout")
        verbose_name_plural = _("payouts")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_payout_amount_positive"),
            models.UniqueConstraint(fields=["requested_by", "idempotency_key"], condition=~Q(idempotency_key=""),
                                    name="ledger_payout_idempotency"),
        ]

    def __str__(self) -> str:
        return f"payout {self.id} {self.state}"

    @transition(field=state, source=PayoutState.REQUESTED, target=PayoutState.SUBMITTED)
    def submit(self, reference: str) -> None:
        self.provider_reference = reference

    @transition(field=state, source=[PayoutState.REQUESTED, PayoutState.SUBMITTED], target=PayoutState.PAID)
    def confirm(self) -> None:
        pass

    @transition(field=state, source=[PayoutState.REQUESTED, PayoutState.SUBMITTED], target=PayoutState.FAILED)
    def fail(self, reason: str) -> None:
        self.failure = reason
