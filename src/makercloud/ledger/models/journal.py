"""ledger models: the journal — accounts, transfers, balances and checkpoints (TigerBeetle's semantics).

Nothing in the journal is ever updated in place. A transfer is one row; the balances of the accounts it touched are
new `BalanceSnapshot` rows (the account's totals after the batch); a checkpoint publishes the chain's head. The
database refuses UPDATE and DELETE on all three (migration 0002 of the ledger).
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation

__all__ = [
    "Account",
    "AccountPurpose",
    "BalanceSnapshot",
    "Checkpoint",
    "Transfer",
    "TransferCode",
    "TransferKind",
]


class AccountPurpose(models.TextChoices):
    PLATFORM_REVENUE = "platform_revenue", _("Platform revenue")
    VENTURE_OPERATING = "venture_operating", _("Venture operating")
    PREORDER_ESCROW = "preorder_escrow", _("Pre-order escrow")
    SUPPLIER_PAYABLE = "supplier_payable", _("Supplier payable")
    USER_WALLET = "user_wallet", _("User wallet")
    CO_CREATOR_EARNINGS = "co_creator_earnings", _("Co-creator earnings")
    INVESTOR_RETURNS = "investor_returns", _("Investor returns")
    CLEARING = "clearing", _("Clearing")
    PAYOUT_PENDING = "payout_pending", _("Payout pending")


class TransferKind(models.TextChoices):
    SINGLE = "single", _("Single-phase")
    PENDING = "pending", _("Pending")
    POST = "post", _("Post pending")
    VOID = "void", _("Void pending")
    EXPIRE = "expire", _("Expire pending")


class TransferCode(models.TextChoices):
    SALE = "sale", _("Sale")
    REFUND = "refund", _("Refund")
    SUBSCRIPTION = "subscription", _("Subscription")
    SERVICE = "service", _("Service")
    PAYOUT = "payout", _("Payout")
    REWARD = "reward", _("Reward")
    FUNDING = "funding", _("Funding")
    ADJUSTMENT = "adjustment", _("Adjustment")


class Account(models.Model):
    """One account per (owner, purpose, currency); the owner is an organisation or a person. Created, never changed."""

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    person = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("person"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="ledger_accounts",
    )
    purpose = models.CharField(_("purpose"), max_length=32, choices=AccountPurpose.choices)
    currency = models.CharField(_("currency"), max_length=3)
    debits_must_not_exceed_credits = models.BooleanField(_("debits must not exceed credits"), default=False)
    credits_must_not_exceed_debits = models.BooleanField(_("credits must not exceed debits"), default=False)
    created_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("ledger account")
        verbose_name_plural = _("ledger accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(organisation__isnull=False, person__isnull=True)
                | Q(organisation__isnull=True, person__isnull=False),
                name="ledger_account_one_owner",
            ),
            models.CheckConstraint(
                condition=~Q(debits_must_not_exceed_credits=True, credits_must_not_exceed_debits=True),
                name="ledger_account_one_flag",
            ),
            models.UniqueConstraint(
                fields=["organisation", "purpose", "currency"], condition=Q(organisation__isnull=False),
                name="ledger_account_unique_org",
            ),
            models.UniqueConstraint(
                fields=["person", "purpose", "currency"], condition=Q(person__isnull=False),
                name="ledger_account_unique_person",
            ),
        ]

    def __str__(self) -> str:
        owner = self.organisation.slug if self.organisation_id else f"person {self.person_id}"  # type: ignore[union-attr]
        return f"{owner} · {self.purpose} · {self.currency}"


class Transfer(models.Model):
    """One movement of money between two accounts — or the resolution of a pending one. Append-only, hash-chained."""

    id = models.UUIDField(_("id"), primary_key=True)
    seq = models.BigIntegerField(_("sequence"), unique=True)
    # No database foreign-key constraints on the accounts and the venture: PostgreSQL's per-row checks (each a
    # FOR KEY SHARE lock on the same few account rows) tripled the cost of an append. transfers_create checks that
    # they exist, under the accounts' row locks, and the database refuses to delete or change an account.
    debit_account = models.ForeignKey(
        Account, verbose_name=_("debit account"), on_delete=models.PROTECT, related_name="debits",
        db_constraint=False,
    )
    credit_account = models.ForeignKey(
        Account, verbose_name=_("credit account"), on_delete=models.PROTECT, related_name="credits",
        db_constraint=False,
    )
    amount = models.BigIntegerField(_("amount"))
    currency = models.CharField(_("currency"), max_length=3)
    kind = models.CharField(_("kind"), max_length=8, choices=TransferKind.choices)
    pending = models.ForeignKey(
        "self", verbose_name=_("pending transfer"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False,  # the unique constraint below indexes it
    )
    timeout_at = models.DateTimeField(_("times out at"), null=True, blank=True)
    code = models.CharField(_("code"), max_length=16, choices=TransferCode.choices)
    venture = models.ForeignKey(
        Organisation, verbose_name=_("venture"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="ledger_transfers", db_constraint=False,
    )
    reference = models.CharField(_("reference"), max_length=200, blank=True)
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    batch = models.UUIDField(_("linked batch"))
    created_at = models.DateTimeField(_("created"))
    prev_hash = models.CharField(_("previous hash"), max_length=64)
    hash = models.CharField(_("hash"), max_length=64)

    class Meta:
        ordering = ["seq"]
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="ledger_transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=models.F("credit_account")), name="ledger_transfer_two_accounts"
            ),
            # A pending transfer is resolved (posted, voided or expired) once, by the database's word.
            models.UniqueConstraint(
                fields=["pending"], condition=Q(pending__isnull=False), name="ledger_transfer_resolved_once"
            ),
        ]
        indexes = [
            models.Index(fields=["timeout_at"], condition=Q(kind="pending"), name="ledger_transfer_timeouts"),
        ]

    def __str__(self) -> str:
        return f"#{self.seq} {self.kind} {self.amount} {self.currency}"


class BalanceSnapshot(models.Model):
    """An account's totals after the batch whose last transfer touching it is `seq`. The newest row is the balance."""

    account = models.ForeignKey(
        Account, verbose_name=_("account"), on_delete=models.PROTECT, related_name="snapshots"
    )
    seq = models.BigIntegerField(_("after transfer"))
    debits_posted = models.BigIntegerField(_("debits posted"))
    credits_posted = models.BigIntegerField(_("credits posted"))
    debits_pending = models.BigIntegerField(_("debits pending"))
    credits_pending = models.BigIntegerField(_("credits pending"))

    class Meta:
        ordering = ["account", "seq"]
        verbose_name = _("balance")
        verbose_name_plural = _("balances")
        constraints = [
            models.UniqueConstraint(fields=["account", "seq"], name="ledger_snapshot_unique"),
            models.CheckConstraint(
                condition=Q(debits_posted__gte=0, credits_posted__gte=0, debits_pending__gte=0,
                            credits_pending__gte=0),
                name="ledger_snapshot_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"account {self.account_id} after #{self.seq}"


class Checkpoint(models.Model):
    """The chain's head published at a moment: anyone who kept it can later check that history was not rewritten."""

    seq = models.BigIntegerField(_("sequence"), unique=True)
    hash = models.CharField(_("hash"), max_length=64)
    created_at = models.DateTimeField(_("published"), auto_now_add=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("checkpoint")
        verbose_name_plural = _("checkpoints")

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
