"""ledger in the operators' admin: the journal, read-only — accounts, transfers, balance rows and checkpoints.

Nothing here writes: money moves only through the services (and the database refuses changes to the journal).
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from makercloud.core.money import Money
from makercloud.ledger.models.journal import Account, BalanceSnapshot, Checkpoint, Transfer
from makercloud.ledger.selectors.journal import balance_of


class JournalReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Account)
class AccountAdmin(JournalReadOnly):
    list_display = ("id", "organisation", "person", "purpose", "currency", "debits_must_not_exceed_credits",
                    "posted_balance", "created_at")
    list_filter = ("purpose", "currency", "debits_must_not_exceed_credits")
    search_fields = ("organisation__name", "organisation__slug", "person__email", "person__name")
    list_select_related = ("organisation", "person")

    @admin.display(description=_("posted balance (credits − debits)"))
    def posted_balance(self, account: Account) -> str:
        return Money(balance_of(account=account).net_credit, account.currency).format()


@admin.register(Transfer)
class TransferAdmin(JournalReadOnly):
    list_display = ("seq", "kind", "code", "debit_account", "credit_account", "money", "venture", "reference",
                    "created_at")
    list_filter = ("kind", "code", "currency")
    search_fields = ("=id", "=seq", "reference", "=batch", "=hash")
    list_select_related = ("debit_account__organisation", "credit_account__organisation", "venture",
                           "debit_account__person", "credit_account__person")
    ordering = ("-seq",)
    show_full_result_count = False

    @admin.display(description=_("amount"), ordering="amount")
    def money(self, transfer: Transfer) -> str:
        return Money(transfer.amount, transfer.currency).format()


@admin.register(BalanceSnapshot)
class BalanceSnapshotAdmin(JournalReadOnly):
    list_display = ("account", "seq", "debits_posted", "credits_posted", "debits_pending", "credits_pending")
    search_fields = ("=account__id",)
    list_select_related = ("account__organisation", "account__person")
    ordering = ("-seq",)
    show_full_result_count = False


@admin.register(Checkpoint)
class CheckpointAdmin(JournalReadOnly):
    list_display = ("seq", "hash", "created_at")
    ordering = ("-seq",)
