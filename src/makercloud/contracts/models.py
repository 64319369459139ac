"""contracts models: a contract between parties, its hash-chained versions (the terms), the parties' signatures,
and the rows that follow the terms in force: targets, milestones (plan against actual) and bet-on clauses.

A contract's terms live in immutable versions. Each version's `hash` is sha256 over the canonical JSON of its terms
followed by the previous version's hash (the first follows 64 zeros), so a changed or removed version breaks the
chain. A version is in force once every party has signed exactly that hash; an amendment is a new version that every
party signs again.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation

__all__ = [
    "BetOn",
    "Contract",
    "ContractState",
    "ContractVersion",
    "Metric",
    "Milestone",
    "MilestoneConfirmation",
    "MilestoneRecord",
    "Party",
    "Signature",
    "Target",
    "VersionState",
]

GENESIS = "0" * 64


class ContractState(models.TextChoices):
    AWAITING = "awaiting", _("Awaiting signatures")
    SIGNED = "signed", _("Signed")
    AMENDING = "amending", _("Signed; an amendment awaits signatures")
    CANCELLED = "cancelled", _("Cancelled")


class Contract(models.Model):
    """An agreement between parties, drawn up from a call's award or directly by a venture."""

    venture = models.ForeignKey(Organisation, verbose_name=_("venture"), on_delete=models.PROTECT,
                                related_name="contracts",
                                help_text=_("Whose platform data the targets are measured from."))
    title = models.CharField(_("title"), max_length=200)
    call = models.OneToOneField("calls.Call", verbose_name=_("call"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="contract_drawn")
    response = models.ForeignKey("calls.Response", verbose_name=_("awarded response"), null=True, blank=True,
                                 on_delete=models.PROTECT, related_name="+")
    state = models.CharField(_("state"), max_length=16, choices=ContractState.choices,
                             default=ContractState.AWAITING, db_index=True)
    current = models.ForeignKey("ContractVersion", verbose_name=_("terms in force"), null=True, blank=True,
                                on_delete=models.PROTECT, related_name="+")
    pending = models.ForeignKey("ContractVersion", verbose_name=_("version awaiting signatures"), null=True,
                                blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("drawn up by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    signed_at = models.DateTimeField(_("first signed by every party"), null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("contract")
        verbose_name_plural = _("contracts")

    def __str__(self) -> str:
        return self.title

    @property
    def ever_signed(self) -> bool:
        return self.signed_at is not None


class Party(models.Model):
    """A party: an organisation (any of its owners or administrators signs for it) or a person."""

    contract = models.ForeignKey(Contract, verbose_name=_("contract"), on_delete=models.CASCADE,
                                 related_name="parties")
    key = models.SlugField(_("key"), max_length=32)
    organisation = models.ForeignKey(Organisation, verbose_name=_("organisation"), null=True, blank=True,
                                     on_delete=models.PROTECT, related_name="contract_parties")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("person"), null=True, blank=True,
                               on_delete=models.PROTECT, related_name="contract_parties")
    role = models.CharField(_("role"), max_length=64)

    class Meta:
        ordering = ["contract", "id"]
        verbose_name = _("party")
        verbose_name_plural = _("parties")
        constraints = [
            models.UniqueConstraint(fields=["contract", "key"], name="contracts_party_key"),
            models.CheckConstraint(condition=Q(organisation__isnull=False, person__isnull=True)
                                   | Q(organisation__isnull=True, person__isnull=False),
                                   name="contracts_party_one_of"),
        ]

    def __str__(self) -> str:
        return str(self.organisation or self.person)

    @property
    def name(self) -> str:
        return str(self.organisation.name if self.organisation else self.person.name)  # type: ignore[union-attr]


class VersionState(models.TextChoices):
    PROPOSED = "proposed", _("Awaiting signatures")
    SIGNED = "signed", _("Signed by every party")
    SUPERSEDED = "superseded", _("Superseded")
    REPLACED = "replaced", _("Replaced before it was signed")


class ContractVersion(models.Model):
    """One text of the terms. Its terms never change; `hash` chains it to the version before."""

    contract = models.ForeignKey(Contract, verbose_name=_("contract"), on_delete=models.CASCADE,
                                 related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    terms = models.JSONField(_("terms"))
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash (sha256)"), max_length=64)
    rule_version = models.ForeignKey("ledger.RuleVersion", verbose_name=_("value-sharing rule"), null=True,
                                     blank=True, on_delete=models.PROTECT, related_name="contract_versions")
    reason = models.TextField(_("reason of the amendment"), blank=True)
    state = models.CharField(_("state"), max_length=16, choices=VersionState.choices,
                             default=VersionState.PROPOSED)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("proposed by"), null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("proposed"), auto_now_add=True)
    signed_at = models.DateTimeField(_("signed by every party"), null=True, blank=True)

    class Meta:
        ordering = ["contract", "number"]
        verbose_name = _("contract version")
        verbose_name_plural = _("contract versions")
        constraints = [models.UniqueConstraint(fields=["contract", "number"], name="contracts_version_number")]

    def __str__(self) -> str:
        return f"{self.contract} v{self.number}"


class Signature(models.Model):
    """A party's signature of one version: who signed, when, the hash they signed, after entering their password."""

    version = models.ForeignKey(ContractVersion, verbose_name=_("version"), on_delete=models.CASCADE,
                                related_name="signatures")
    party = models.ForeignKey(Party, verbose_name=_("party"), on_delete=models.CASCADE, related_name="signatures")
    signer = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("signed by"), on_delete=models.PROTECT,
                               related_name="+")
    version_hash = models.CharField(_("hash signed"), max_length=64)
    signed_at = models.DateTimeField(_("signed"), auto_now_add=True)

    class Meta:
        ordering = ["version", "id"]
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        constraints = [models.UniqueConstraint(fields=["version", "party"], name="contracts_one_signature")]

    def __str__(self) -> str:
        return f"{self.party} signed v{self.version.number}"


class Metric(models.TextChoices):
    UNITS_SOLD = "units_sold", _("Units sold")
    ACTIVE_DEVICES = "active_devices", _("Active devices")
    REVENUE = "revenue", _("Revenue")
    RATING = "rating", _("Supplier rating")


class Target(models.Model):
    """A target of a version's terms, measured from platform data over its period."""

    version = models.ForeignKey(ContractVersion, verbose_name=_("version"), on_delete=models.CASCADE,
                                related_name="targets")
    key = models.SlugField(_("key"), max_length=32)
    metric = models.CharField(_("metric"), max_length=32, choices=Metric.choices)
    threshold = models.BigIntegerField(_("threshold"),
                                       help_text=_("Units, devices, minor units of revenue, or stars × 100."))
    currency = models.CharField(_("currency"), max_length=3, blank=True)
    party = models.ForeignKey(Party, verbose_name=_("rated party"), null=True, blank=True,
                              on_delete=models.CASCADE, related_name="+")
    period_start = models.DateTimeField(_("period from"))
    period_end = models.DateTimeField(_("period until"))

    class Meta:
        ordering = ["version", "id"]
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="contracts_target_key")]

    def __str__(self) -> str:
        return f"{self.metric} ≥ {self.threshold}"


class Milestone(models.Model):
    """A milestone of a version's terms: the plan (due, what). Its actual is the latest confirmed
    `MilestoneRecord` of the contract under the same key (so actuals carry over amendments)."""

    version = models.ForeignKey(ContractVersion, verbose_name=_("version"), on_delete=models.CASCADE,
                                related_name="milestones")
    key = models.SlugField(_("key"), max_length=32)
    title = models.CharField(_("title"), max_length=200)
    due_on = models.DateField(_("planned for"))
    amount = models.BigIntegerField(_("amount (minor units)"), null=True, blank=True)
    currency = models.CharField(_("currency"), max_length=3, blank=True)

    class Meta:
        ordering = ["version", "due_on", "id"]
        verbose_name = _("milestone")
        verbose_name_plural = _("milestones")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="contracts_milestone_key")]

    def __str__(self) -> str:
        return self.title


class MilestoneRecord(models.Model):
    """One party's statement that a milestone was met (the actual), never changed: a correction is a new record.
    It counts once every other party has confirmed it (`confirmed_at`)."""

    contract = models.ForeignKey(Contract, verbose_name=_("contract"), on_delete=models.CASCADE,
                                 related_name="milestone_records")
    key = models.SlugField(_("milestone"), max_length=32)
    done_on = models.DateField(_("met on"))
    evidence = models.TextField(_("evidence"))
    party = models.ForeignKey(Party, verbose_name=_("recorded for"), null=True, blank=True,
                              on_delete=models.CASCADE, related_name="+",
                              help_text=_("Empty for records kept from before confirmation was required."))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("recorded by"), null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    confirmed_at = models.DateTimeField(_("confirmed by every other party"), null=True, blank=True)

    class Meta:
        ordering = ["contract", "key", "id"]
        verbose_name = _("milestone record")
        verbose_name_plural = _("milestone records")

    def __str__(self) -> str:
        return f"{self.key} met on {self.done_on}"


class MilestoneConfirmation(models.Model):
    """A party's confirmation of another party's milestone record."""

    record = models.ForeignKey(MilestoneRecord, verbose_name=_("record"), on_delete=models.CASCADE,
                               related_name="confirmations")
    party = models.ForeignKey(Party, verbose_name=_("party"), on_delete=models.CASCADE, related_name="+")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("confirmed by"), on_delete=models.PROTECT,
                               related_name="+")
    confirmed_at = models.DateTimeField(_("confirmed"), auto_now_add=True)

    class Meta:
        ordering = ["record", "id"]
        verbose_name = _("milestone confirmation")
        verbose_name_plural = _("milestone confirmations")
        constraints = [models.UniqueConstraint(fields=["record", "party"], name="contracts_one_confirmation")]

    def __str__(self) -> str:
        return f"{self.party} confirmed {self.record}"


class BetOn(models.Model):
    """A bet-on clause (对赌): the target met by the date → outcome A, otherwise outcome B."""

    version = models.ForeignKey(ContractVersion, verbose_name=_("version"), on_delete=models.CASCADE,
                                related_name="bet_ons")
    key = models.SlugField(_("key"), max_length=32)
    target = models.ForeignKey(Target, verbose_name=_("target"), on_delete=models.CASCADE, related_name="bet_ons")
    by = models.DateTimeField(_("by"))
    if_met = models.TextField(_("if met"))
    otherwise = models.TextField(_("otherwise"))
    outcome = models.CharField(_("outcome"), max_length=8, blank=True,
                               choices=[("met", _("Met")), ("missed", _("Missed"))])
    if_met_transfer = models.JSONField(_("transfer if met"), null=True, blank=True,
                                       help_text=_("from, to (party keys), amount (minor units), currency, code."))
    otherwise_transfer = models.JSONField(_("transfer otherwise"), null=True, blank=True)
    measured = models.BigIntegerField(_("measured value"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated"), null=True, blank=True)
    transfer_id = models.UUIDField(_("ledger transfer"), null=True, blank=True,
                                   help_text=_("The transfer the outcome made, once the ledger accepted it."))
    transfer_error = models.TextField(_("transfer refused"), blank=True,
                                      help_text=_("Why the ledger refused the outcome's transfer (retried hourly)."))

    class Meta:
        ordering = ["version", "by", "id"]
        verbose_name = _("bet-on clause")
        verbose_name_plural = _("bet-on clauses")
        constraints = [models.UniqueConstraint(fields=["version", "key"], name="contracts_bet_on_key")]

    def __str__(self) -> str:
        return self.key

    @property
    def transfer(self) -> dict[str, Any] | None:
        """What the decided outcome moves through the ledger (none before it is decided, or if it moves nothing)."""
        if self.outcome == "met":
            return self.if_met_transfer
        if self.outcome == "missed":
            return self.otherwise_transfer
        return None
