"""ledger selectors (reads): the journal — balances, accounts and transfers as the asker may see them."""

from dataclasses import dataclass

from makercloud.ledger.models.journal import Account, BalanceSnapshot


@dataclass(frozen=True, slots=True)
class Balance:
    """An account's totals in minor units. Posted: settled; pending: held by two-phase transfers not resolved yet."""

    debits_posted: int = 0
    credits_posted: int = 0
    debits_pending: int = 0
    credits_pending: int = 0

    @property
    def net_credit(self) -> int:
        """Credits minus debits posted: what a credit-normal account (a wallet, earnings) holds."""
        return self.credits_posted - self.debits_posted

    @property
    def net_debit(self) -> int:
        """Debits minus credits posted: what a debit-normal account (clearing) holds."""
        return self.debits_posted - self.credits_posted


def balance_of(*, account: Account | int) -> Balance:
    """The account's balances after the last batch that touched it (exact: written under the account's lock)."""
    account_id = account if isinstance(account, int) else account.pk
    snapshot = (
        BalanceSnapshot.objects.filter(account_id=account_id)
        .order_by("-seq")
        .values_list("debits_posted", "credits_posted", "debits_pending", "credits_pending")
        .first()
    )
    return Balance(*snapshot) if snapshot else Balance()
