"""The journal as a beancount file: the whole ledger, or one venture's books.

Accounts are named `<Root>:<Owner group>:<Owner>:<Purpose>:<Currency>`:

    Assets:Makercloud:Clearing:CNY                 the platform's clearing account (money in from, out to the world)
    Income:Makercloud:PlatformRevenue:CNY          the platform's revenue
    Liabilities:Ventures:Bright-Home:Operating:CNY money the platform holds for a venture (and so on for suppliers,
    Liabilities:Users:U42:Wallet:CNY               investors and people: U<id>)

Clearing accounts are assets, platform revenue is income, every other account is money held for its owner (a
liability). One beancount transaction per transfer that moved posted money — single-phase transfers and posts of
pending ones — with the debit account's posting positive and the credit account's negative, and the transfer's id,
seq, hash and kind as metadata. Pending transfers, voids and expiries move no posted money: they are listed as
comments. So beancount's balance of every account is its posted debits minus its posted credits.
"""

import re
from collections.abc import Iterable, Iterator
from datetime import date
from typing import TextIO

from django.db.models import Min, Q

from makercloud.accounts.models import Organisation, OrganisationKind
from makercloud.core.money import Money
from makercloud.ledger.models.journal import Account, AccountPurpose, Transfer

ROOTS = {AccountPurpose.CLEARING: "Assets", AccountPurpose.PLATFORM_REVENUE: "Income"}
PURPOSES = {
    AccountPurpose.PLATFORM_REVENUE: "PlatformRevenue",
    AccountPurpose.VENTURE_OPERATING: "Operating",
    AccountPurpose.PREORDER_ESCROW: "PreorderEscrow",
    AccountPurpose.SUPPLIER_PAYABLE: "Payable",
    AccountPurpose.USER_WALLET: "Wallet",
    AccountPurpose.CO_CREATOR_EARNINGS: "CoCreatorEarnings",
    AccountPurpose.INVESTOR_RETURNS: "Returns",
    AccountPurpose.CLEARING: "Clearing",
    AccountPurpose.PAYOUT_PENDING: "PayoutPending",
}
GROUPS = {
    OrganisationKind.PLATFORM: "Makercloud",
    OrganisationKind.VENTURE: "Ventures",
    OrganisationKind.SUPPLIER: "Suppliers",
    OrganisationKind.INVESTOR: "Investors",
}
POSTED = ("single", "post")


def _component(slug: str) -> str:
    """A slug as a beancount account component: starts with a capital or digit; letters, digits and dashes."""
    parts = [part for part in re.split(r"[^A-Za-z0-9]+", slug) if part]
    return "-".join(part[:1].upper() + part[1:] for part in parts) or "X"


def account_name(account: Account) -> str:
    root = ROOTS.get(AccountPurpose(account.purpose), "Liabilities")
    if account.organisation_id:
        organisation = account.organisation
        assert organisation is not None
        if organisation.kind == OrganisationKind.PLATFORM:
            owner = GROUPS[OrganisationKind.PLATFORM]
        else:
            group = GROUPS.get(OrganisationKind(organisation.kind), "Organisations")
            owner = f"{group}:{_component(organisation.slug)}"
    else:
        owner = f"Users:U{account.person_id}"
    return f"{root}:{owner}:{PURPOSES[AccountPurpose(account.purpose)]}:{account.currency}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def _units(amount: int, currency: str) -> str:
    return f"{Money(amount, currency).decimal} {currency}"


def transfers_of(*, venture: Organisation | None = None) -> "Iterable[Transfer]":
    transfers = Transfer.objects.order_by("seq")
    if venture is not None:
        transfers = transfers.filter(
            Q(venture=venture) | Q(debit_account__organisation=venture) | Q(credit_account__organisation=venture)
        )
    return transfers.iterator(chunk_size=5000)


def lines(*, venture: Organisation | None = None) -> Iterator[str]:
    """The export, line by line (streamed: the journal may be large)."""
    transfers = Transfer.objects.all()
    if venture is not None:
        transfers = transfers.filter(
            Q(venture=venture) | Q(debit_account__organisation=venture) | Q(credit_account__organisation=venture)
        )
    account_ids = set(transfers.values_list("debit_account_id", flat=True).distinct()) | set(
        transfers.values_list("credit_account_id", flat=True).distinct()
    )
    if venture is not None:
        account_ids |= set(Account.objects.filter(organisation=venture).values_list("id", flat=True))
    accounts = {
        account.pk: account
        for account in Account.objects.filter(pk__in=account_ids).select_related("organisation").order_by("pk")
    }
    names = {pk: account_name(account) for pk, account in accounts.items()}
    first = transfers.aggregate(first=Min("created_at"))["first"]
    title = f"makercloud ledger — {venture.name}" if venture is not None else "makercloud ledger"
    yield f"option \"title\" {_quote(title)}"
    yield ""
    for pk, account in accounts.items():
        opened: date = account.created_at.date()
        if first is not None and first.date() < opened:
            opened = first.date()
        yield f"{opened.isoformat()} open {names[pk]} {account.currency}"
    yield ""
    for transfer in transfers_of(venture=venture):
        debit, credit = names[transfer.debit_account_id], names[transfer.credit_account_id]
        day = transfer.created_at.date().isoformat()
        if transfer.kind not in POSTED:
            yield (f"; {day} {transfer.kind} #{transfer.seq} {transfer.id} {_units(transfer.amount, transfer.currency)}"
                   f" {debit} -> {credit} (no posted money moves)")
            continue
        yield f"{day} * {_quote(transfer.code)} {_quote(transfer.reference or transfer.kind)}"
        yield f"  id: {_quote(str(transfer.id))}"
        yield f"  seq: {transfer.seq}"
        yield f"  hash: {_quote(transfer.hash)}"
        yield f"  kind: {_quote(transfer.kind)}"
        if transfer.venture_id:
            yield f"  venture: {transfer.venture_id}"
        if transfer.pending_id:
            yield f"  pending: {_quote(str(transfer.pending_id))}"
        yield f"  {debit}  {_units(transfer.amount, transfer.currency)}"
        yield f"  {credit}  {_units(-transfer.amount, transfer.currency)}"
        yield ""


def export(*, out: TextIO, venture: Organisation | None = None) -> None:
    for line in lines(venture=venture):
        out.write(line + "\n")
