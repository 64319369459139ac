"""ledger selectors (reads): the journal — balances, accounts and transfers as the asker may see them."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Q, QuerySet, Sum

from makercloud.accounts.models import Membership, Organisation, Role, User
from makercloud.accounts.selectors import is_operator, role_in
from makercloud.ledger import chain
from makercloud.ledger.errors import LedgerAccountNotFound
from makercloud.ledger.models.journal import Account, BalanceSnapshot, Checkpoint, Transfer


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


@dataclass(frozen=True, slots=True)
class ChainReport:
    """What `makercloud ledger verify` says: how many transfers, the head's hash, and the first broken link."""

    count: int
    head: str
    broken_seq: int | None = None
    reason: str = ""


def ledger_report(*, chunk: int = 5000) -> ChainReport:
    """Recompute the hash chain over the whole journal in seq order, then compare the published checkpoints."""
    prev = chain.GENESIS
    expected = 1
    hashes_at: dict[int, str] = {}
    checkpoints = dict(Checkpoint.objects.values_list("seq", "hash"))
    for transfer in Transfer.objects.order_by("seq").iterator(chunk_size=chunk):
        if transfer.seq != expected:
            return ChainReport(expected - 1, prev, expected, f"transfer #{expected} is missing")
        if transfer.prev_hash != prev:
            return ChainReport(expected - 1, prev, transfer.seq, "its previous hash is not the hash before it")
        if chain.transfer_hash(transfer, prev) != transfer.hash:
            return ChainReport(expected - 1, prev, transfer.seq, "its content does not match its hash")
        if transfer.seq in checkpoints:
            hashes_at[transfer.seq] = transfer.hash
        prev = transfer.hash
        expected += 1
    for seq, published in sorted(checkpoints.items()):
        if hashes_at.get(seq) != published:
            return ChainReport(expected - 1, prev, seq, "the chain no longer matches the checkpoint published here")
    return ChainReport(expected - 1, prev)


def ledger_verify() -> int | None:
    """The seq of the first broken link of the hash chain, or None when the whole journal checks out."""
    return ledger_report().broken_seq


def balance_from_journal(*, account: Account | int) -> Balance:
    """The account's balances summed from the transfers themselves (slow; for checks: it must equal `balance_of`)."""
    account_id = account if isinstance(account, int) else account.pk
    resolved = Transfer.objects.filter(pending__isnull=False).values("pending_id")

    def total(side: str, kinds: tuple[str, ...], open_only: bool = False) -> int:
        transfers = Transfer.objects.filter(**{f"{side}_account_id": account_id}, kind__in=kinds)
        if open_only:
            transfers = transfers.exclude(id__in=resolved)
        return transfers.aggregate(total=Sum("amount"))["total"] or 0

    return Balance(
        debits_posted=total("debit", ("single", "post")),
        credits_posted=total("credit", ("single", "post")),
        debits_pending=total("debit", ("pending",), open_only=True),
        credits_pending=total("credit", ("pending",), open_only=True),
    )


# Who sees what -----------------------------------------------------------------------------------------------------


def accounts_visible_to(*, person: User) -> QuerySet[Account]:
    """A person's own accounts and those of the organisations they belong to; an operator sees every account."""
    accounts = Account.objects.select_related("organisation", "person")
    if is_operator(person=person):
        return accounts.order_by("pk")
    return accounts.filter(
        Q(person=person) | Q(organisation__in=Membership.objects.filter(person=person).values("organisation"))
    ).order_by("pk")


def account_get(*, person: User, account_id: int) -> Account:
    account = accounts_visible_to(person=person).filter(pk=account_id).first()
    if account is None:
        raise LedgerAccountNotFound()
    return account


def can_move_money_of(*, person: User, account: Account) -> bool:
    """Operators, and the owners and administrators of the account's organisation. People's own accounts move only
    through the platform's services (settlements, payouts), not by hand."""
    if is_operator(person=person):
        return True
    if account.organisation_id is None:
        return False
    assert account.organisation is not None
    return role_in(person=person, organisation=account.organisation) in (Role.OWNER.value, Role.ADMIN.value)


def can_book_for(*, person: User, organisation: Organisation) -> bool:
    """Whether a transfer made by hand may be put in this venture's books: operators, and the venture's own owners
    and administrators — never another venture's (its transfers list, exports and statement read its books)."""
    if is_operator(person=person):
        return True
    return role_in(person=person, organisation=organisation) in (Role.OWNER.value, Role.ADMIN.value)


def transfers_visible_to(
    *,
    person: User,
    account: Account | None = None,
    venture: Organisation | None = None,
    code: str | None = None,
    kind: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> QuerySet[Transfer]:
    """Transfers that touch an account the person may see, or that belong to the books of a venture they are in;
    operators see all. `account` must be one they may see (else LedgerAccountNotFound)."""
    transfers = Transfer.objects.select_related("debit_account", "credit_account")
    if not is_operator(person=person):
        organisations = Membership.objects.filter(person=person).values("organisation")
        visible = Account.objects.filter(Q(person=person) | Q(organisation__in=organisations)).values("pk")
        transfers = transfers.filter(
            Q(debit_account__in=visible) | Q(credit_account__in=visible) | Q(venture__in=organisations)
        )
    if account is not None:
        account = account_get(person=person, account_id=account.pk)
        transfers = transfers.filter(Q(debit_account=account) | Q(credit_account=account))
    if venture is not None:
        transfers = transfers.filter(venture=venture)
    if code:
        transfers = transfers.filter(code=code)
    if kind:
        transfers = transfers.filter(kind=kind)
    if since is not None:
        transfers = transfers.filter(created_at__gte=since)
    if until is not None:
        transfers = transfers.filter(created_at__lt=until)
    return transfers.order_by("-seq")


def checkpoints_public() -> QuerySet[Checkpoint]:
    return Checkpoint.objects.order_by("-seq")


@dataclass(frozen=True, slots=True)
class LedgerFigures:
    """What anyone may know of the ledger: how many transfers, the posted volume per currency, the chain's head."""

    transfers: int
    volume: dict[str, int]
    head_seq: int
    head_hash: str


def ledger_figures() -> LedgerFigures:
    head = Transfer.objects.order_by("-seq").values_list("seq", "hash").first() or (0, chain.GENESIS)
    volume = {
        row["currency"]: row["total"]
        for row in Transfer.objects.filter(kind__in=("single", "post"))
        .values("currency")
        .annotate(total=Sum("amount"))
        .order_by("currency")
    }
    return LedgerFigures(transfers=head[0], volume=volume, head_seq=head[0], head_hash=head[1])


def accounts_of(*, person: User) -> QuerySet[Account]:
    """The accounts a person holds, themselves or through an organisation they belong to (operators included)."""
    return (
        Account.objects.select_related("organisation", "person")
        .filter(Q(person=person) | Q(organisation__in=Membership.objects.filter(person=person).values("organisation")))
        .order_by("organisation__name", "purpose", "currency", "pk")
    )


def transfers_touching(*, accounts: list[Account]) -> QuerySet[Transfer]:
    return Transfer.objects.filter(Q(debit_account__in=accounts) | Q(credit_account__in=accounts))
