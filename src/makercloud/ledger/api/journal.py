"""ledger on the HTTP API: the journal.

    GET  /ledger/accounts              the caller's accounts and their organisations' (operators: all)
    GET  /ledger/accounts/{id}         one, with its balances
    GET  /ledger/transfers             filters: account, venture, code, kind, from, to; cursor pages, newest first
    POST /ledger/transfers             operators, and organisation owners/admins moving their organisation's money
    POST /ledger/transfers/batch       the same, for a linked batch: all of it or none
    GET  /ledger/checkpoints           public: the chain's published heads
    GET  /ledger/figures               public: how many transfers, posted volume per currency, the chain's head

Money is `{"amount": int, "currency": "CNY"}`. A transfer's id is the client's: the body's `id`, or else the
Idempotency-Key header (a UUID, or any other key, which is turned into a UUID per caller). A retry returns the original
(200) instead of moving money twice; the same id with other content is a 409 `transfer-exists`. Ids of UUID version 5
are the platform's own (settlements, payouts, rewards, tranches derive theirs so) and are refused (422
`invalid-transfer`): a client could otherwise take one first and block it.

`venture_id` is always a venture's id as in /ventures/{id}; `organisation_id` on a transfer is the organisation whose
books it is in (the venture's organisation).
"""

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Header, Query, Router, Schema, Status

from makercloud.accounts.auth import caller, optional, requires
from makercloud.accounts.models import Organisation
from makercloud.core.errors import InvalidInput
from makercloud.core.pagination import decode_cursor, encode_cursor
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, Instant, MoneyOut
from makercloud.ledger.errors import InvalidTransfer, NotYourMoney, PendingTransferNotFound
from makercloud.ledger.models.journal import Account, Checkpoint, Transfer
from makercloud.ledger.selectors import journal as selectors
from makercloud.ledger.services import journal as services
from makercloud.ventures.models import Venture

router = Router(tags=["ledger"])

# Idempotency-Key values that are not UUIDs become one in this namespace, with the caller's id.
KEY_NAMESPACE = uuid.UUID("6f1d3c1e-5b7a-4e59-9d55-2d7c0b6a9e10")
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217.")]
Code = Literal["sale", "refund", "subscription", "service", "payout", "reward", "funding", "adjustment"]
Kind = Literal["single", "pending", "post", "void", "expire"]


class MoneyIn(Input):
    amount: int = Field(..., ge=1, le=2**53, description="Integer minor units (fen for CNY), more than zero.")
    currency: Currency


class BalanceOut(Schema):
    debits_posted: MoneyOut
    credits_posted: MoneyOut
    debits_pending: MoneyOut
    credits_pending: MoneyOut
    net_credit: MoneyOut = Field(..., description="Credits minus debits posted: what a wallet or earnings hold.")


class AccountOut(Schema):
    id: int
    organisation_id: int | None
    person_id: int | None
    purpose: str
    currency: str
    debits_must_not_exceed_credits: bool
    credits_must_not_exceed_debits: bool
    created_at: datetime
    balance: BalanceOut


class AccountPage(Schema):
    items: list[AccountOut]
    next_cursor: str | None


class TransferOut(Schema):
    id: uuid.UUID
    seq: int
    debit_account_id: int
    credit_account_id: int
    amount: MoneyOut
    kind: str
    pending_id: uuid.UUID | None
    timeout_at: datetime | None
    code: str
    venture_id: int | None = Field(..., description="The venture whose books it is in (as in /ventures/{id}).")
    organisation_id: int | None = Field(..., description="The organisation whose books it is in (the venture's).")
    reference: str
    metadata: dict[str, Any]
    batch: uuid.UUID = Field(..., description="The linked batch it went in with: all of it or none.")
    created_at: datetime
    prev_hash: str
    hash: str


class TransferPage(Schema):
    items: list[TransferOut]
    next_cursor: str | None


class TransferIn(Input):
    id: uuid.UUID | None = Field(
        None, description="Your id for it (not of UUID version 5: those are the platform's); default: the "
        "Idempotency-Key.")
    kind: Literal["single", "pending", "post", "void"] = "single"
    debit_account_id: Id | None = Field(None, description="single and pending: the account the money leaves.")
    credit_account_id: Id | None = Field(None, description="single and pending: the account the money goes to.")
    amount: MoneyIn | None = Field(None, description="single and pending; a post's default is the whole pending.")
    code: Code | None = Field(None, description="single and pending: what the money is for.")
    pending_id: uuid.UUID | None = Field(None, description="post and void: the pending transfer they resolve.")
    timeout: int = Field(0, ge=0, le=90 * 86400, description="pending: seconds until it expires (0: never).")
    venture_id: Id | None = Field(
        None, description="The venture whose books it belongs to (as in /ventures/{id}); one you own or administer.")
    reference: str = Field("", max_length=200, pattern=NO_NUL)
    metadata: dict[str, str | int | bool | None] = Field(default_factory=dict, max_length=50)


class TransferBatchIn(Input):
    transfers: list[TransferIn] = Field(..., min_length=1, max_length=1000, description=(
        "A linked batch, applied in order: all of it or none. A post or void may resolve a pending transfer made "
        "earlier in the batch. A transfer without an id gets one derived from the Idempotency-Key and its position."
    ))


class TransferBatchOut(Schema):
    transfers: list[TransferOut]


class CheckpointOut(Schema):
    seq: int
    hash: str
    created_at: datetime


class CheckpointPage(Schema):
    items: list[CheckpointOut]
    next_cursor: str | None


class FiguresOut(Schema):
    transfers: int
    volume: list[MoneyOut] = Field(..., description="Posted money moved, per currency.")
    head_seq: int
    head_hash: str


class Page(Schema):
    limit: int = Field(50, ge=1, le=200)
    cursor: str | None = Field(None, max_length=40, pattern=r"^[A-Za-z0-9_-]*$")


class TransferFilters(Page):
    account: Id | None = Field(None, description="Only transfers debiting or crediting this account.")
    venture: Id | None = Field(None, description="Only transfers in this venture's books (as in /ventures/{id}).")
    code: Code | None = None
    kind: Kind | None = None
    from_: Instant | None = Field(None, alias="from", description="Created at or after (RFC 3339).")
    to: Instant | None = Field(None, description="Created before (RFC 3339).")


def _money(amount: int, currency: str) -> dict[str, Any]:
    return {"amount": amount, "currency": currency}


def _account_out(account: Account) -> dict[str, Any]:
    balance = selectors.balance_of(account=account)
    currency = account.currency
    return {
        "id": account.pk, "organisation_id": account.organisation_id, "person_id": account.person_id,
        "purpose": account.purpose, "currency": currency,
        "debits_must_not_exceed_credits": account.debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": account.credits_must_not_exceed_debits, "created_at": account.created_at,
        "balance": {
            "debits_posted": _money(balance.debits_posted, currency),
            "credits_posted": _money(balance.credits_posted, currency),
            "debits_pending": _money(balance.debits_pending, currency),
            "credits_pending": _money(balance.credits_pending, currency),
            "net_credit": _money(balance.net_credit, currency),
        },
    }


def _transfer_out(transfer: Transfer, ventures: dict[int, int]) -> dict[str, Any]:
    """`ventures`: the Venture id of each organisation (see `_ventures_of`)."""
    return {
        "id": transfer.id, "seq": transfer.seq, "debit_account_id": transfer.debit_account_id,
        "credit_account_id": transfer.credit_account_id, "amount": _money(transfer.amount, transfer.currency),
        "kind": transfer.kind, "pending_id": transfer.pending_id, "timeout_at": transfer.timeout_at,
        "code": transfer.code, "venture_id": ventures.get(transfer.venture_id) if transfer.venture_id else None,
        "organisation_id": transfer.venture_id, "reference": transfer.reference,
        "metadata": transfer.metadata, "batch": transfer.batch, "created_at": transfer.created_at,
        "prev_hash": transfer.prev_hash, "hash": transfer.hash,
    }


def _ventures_of(transfers: list[Transfer]) -> dict[int, int]:
    """{organisation id: venture id} for the books the transfers are in."""
    organisations = {transfer.venture_id for transfer in transfers if transfer.venture_id}
    if not organisations:
        return {}
    return dict(Venture.objects.filter(organisation_id__in=organisations).values_list("organisation_id", "pk"))


def _page(rows: list[Any], limit: int, key: str) -> tuple[list[Any], str | None]:
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(getattr(rows[-1], key)) if more and rows else None


@router.get("/ledger/accounts", response=AccountPage, auth=requires("ledger:read"),
            summary="Your ledger accounts and your organisations'")
def accounts_list(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    """The caller's own accounts and those of every organisation they belong to (operators: every account), each
    with its balances. Oldest first."""
    accounts = selectors.accounts_visible_to(person=caller(request))
    if page.cursor:
        accounts = accounts.filter(pk__gt=decode_cursor(page.cursor))
    rows, cursor = _page(list(accounts[: page.limit + 1]), page.limit, "pk")
    return {"items": [_account_out(account) for account in rows], "next_cursor": cursor}


@router.get("/ledger/accounts/{account_id}", response={200: AccountOut, **responses(404)},
            auth=requires("ledger:read"), summary="A ledger account with its balances")
def account_get(request: HttpRequest, account_id: Id) -> dict[str, Any]:
    """404 also for an account that exists but is not the caller's to see."""
    return _account_out(selectors.account_get(person=caller(request), account_id=account_id))


@router.get("/ledger/transfers", response={200: TransferPage, **responses(404)}, auth=requires("ledger:read"),
            summary="Transfers, newest first")
def transfers_list(request: HttpRequest, filters: Query[TransferFilters]) -> dict[str, Any]:
    """Transfers touching the caller's accounts (and their organisations'), or in the books of a venture they belong
    to; operators see all. Filtering by an account the caller may not see is a 404."""
    person = caller(request)
    account = selectors.account_get(person=person, account_id=filters.account) if filters.account else None
    venture = Organisation.objects.filter(venture__pk=filters.venture).first() if filters.venture else None
    if filters.venture and venture is None:
        return {"items": [], "next_cursor": None}
    transfers = selectors.transfers_visible_to(
        person=person, account=account, venture=venture, code=filters.code, kind=filters.kind, since=filters.from_,
        until=filters.to,
    )
    if filters.cursor:
        transfers = transfers.filter(seq__lt=decode_cursor(filters.cursor))
    rows, cursor = _page(list(transfers[: filters.limit + 1]), filters.limit, "seq")
    ventures = _ventures_of(rows)
    return {"items": [_transfer_out(transfer, ventures) for transfer in rows], "next_cursor": cursor}


def _client_id(value: uuid.UUID) -> uuid.UUID:
    if value.version == 5:
        raise InvalidTransfer(detail="Transfer ids of UUID version 5 are the platform's own (settlements, payouts, "
                                     "rewards); give another, e.g. a random UUID (version 4).")
    return value


def _key_id(request: HttpRequest, key: str | None) -> uuid.UUID | None:
    """The transfer id an Idempotency-Key names: the key itself if it is a UUID, else one derived from it."""
    if not key:
        return None
    try:
        return _client_id(uuid.UUID(key))
    except ValueError:
        return uuid.uuid5(KEY_NAMESPACE, f"{caller(request).pk}:{key}")


def _transfer_id(request: HttpRequest, body: TransferIn, key: str | None) -> uuid.UUID:
    from_key = _key_id(request, key)
    if body.id and from_key and body.id != from_key:
        raise InvalidInput(detail="The body's id and the Idempotency-Key name different transfers.")
    return (_client_id(body.id) if body.id else None) or from_key or uuid.uuid4()


def _checked_spec(
    person: Any, body: TransferIn, transfer_id: uuid.UUID, earlier: dict[uuid.UUID, services.TransferSpec]
) -> services.TransferSpec:
    """Check that the caller may make this transfer — move the money of its source account, and put it in the
    venture's books — and return its spec. `earlier`: the transfers before it in its batch (a post or void may
    resolve a pending one of them)."""
    source: Account | None = None  # None: a pending transfer earlier in the batch, its source checked already
    if body.kind in ("post", "void"):
        if body.pending_id is not None and body.pending_id in earlier:
            if earlier[body.pending_id].kind != "pending":
                raise PendingTransferNotFound()
        else:
            pending = None
            if body.pending_id is not None:
                pending = Transfer.objects.filter(id=body.pending_id, kind="pending").first()
            visible = selectors.accounts_visible_to(person=person)
            if pending is None or not visible.filter(pk=pending.debit_account_id).exists():
                raise PendingTransferNotFound()
            source = pending.debit_account
    else:
        if body.debit_account_id is None:
            raise InvalidInput(detail="A transfer needs a debit_account_id.")
        source = selectors.account_get(person=person, account_id=body.debit_account_id)
    if source is not None and not selectors.can_move_money_of(person=person, account=source):
        raise NotYourMoney()
    books = None
    if body.venture_id is not None:
        books = Organisation.objects.filter(venture__pk=body.venture_id).first()
        if books is None:
            raise InvalidTransfer(detail="There is no such venture.")
        if not selectors.can_book_for(person=person, organisation=books):
            raise NotYourMoney(detail="Only a venture's owners and administrators (and operators) may put transfers "
                                      "in its books.")
    return services.TransferSpec(
        id=transfer_id, kind=body.kind, debit_account=body.debit_account_id, credit_account=body.credit_account_id,
        amount=body.amount.amount if body.amount else None, currency=body.amount.currency if body.amount else None,
        code=body.code or "", pending_id=body.pending_id, timeout=body.timeout, venture=books,
        reference=body.reference, metadata=body.metadata,
    )


@router.post("/ledger/transfers", response={200: TransferOut, 201: TransferOut, **responses(403, 404, 409)},
             auth=requires("ledger:write"), summary="Move money (one transfer, or post or void a pending one)")
def transfer_create(
    request: HttpRequest, body: TransferIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> Any:
    """Operators, and the owners and administrators of the organisation whose account the money leaves (for a post or
    a void: the pending transfer's debit account); a `venture_id` must be a venture they own or administer. 201 when
    it moved money; 200 with the original on a retry.

    Refusals: 409 `exceeds-credits` (the account would be overdrawn), `transfer-exists` (the id was used for another
    transfer), `pending-transfer-resolved`, `pending-transfer-expired`, `exceeds-pending-amount`; 422
    `transfer-currency-mismatch`, `invalid-transfer` (also: an id of UUID version 5); 403 `not-your-money`."""
    person = caller(request)
    transfer_id = _transfer_id(request, body, idempotency_key)
    spec = _checked_spec(person, body, transfer_id, {})
    replay = Transfer.objects.filter(id=transfer_id).exists()
    [transfer] = services.transfers_create(transfers=[spec], actor=person)
    return Status(200 if replay else 201, _transfer_out(transfer, _ventures_of([transfer])))


@router.post("/ledger/transfers/batch", response={200: TransferBatchOut, 201: TransferBatchOut,
                                                 **responses(403, 404, 409)},
             auth=requires("ledger:write"), summary="Move money in a linked batch: all of it or none")
def transfers_batch_create(
    request: HttpRequest, body: TransferBatchIn,
    idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200),
) -> Any:
    """Up to 1,000 transfers in order, each checked as `POST /ledger/transfers` checks one; if any is refused, none
    is made and the problem names it (`id`). 201 when it moved money; 200 with the originals when the whole batch is
    already in the journal (a retry). A batch of which only part is in the journal is a 409 `transfer-exists`."""
    person = caller(request)
    ids = []
    for index, item in enumerate(body.transfers):
        if item.id is not None:
            ids.append(_client_id(item.id))
        elif idempotency_key:
            ids.append(uuid.uuid5(KEY_NAMESPACE, f"{person.pk}:{idempotency_key}/{index}"))
        else:
            ids.append(uuid.uuid4())
    specs: dict[uuid.UUID, services.TransferSpec] = {}
    for transfer_id, item in zip(ids, body.transfers, strict=True):
        if transfer_id in specs:
            raise InvalidTransfer(detail="Each transfer of a batch needs its own id.", id=str(transfer_id))
        specs[transfer_id] = _checked_spec(person, item, transfer_id, specs)
    replay = Transfer.objects.filter(id__in=ids).count() == len(ids)
    transfers = services.transfers_create(transfers=list(specs.values()), actor=person)
    ventures = _ventures_of(transfers)
    return Status(200 if replay else 201, {"transfers": [_transfer_out(t, ventures) for t in transfers]})


@router.get("/ledger/checkpoints", response=CheckpointPage, auth=optional("ledger:read"),
            summary="Published checkpoints of the hash chain (public)")
def checkpoints_list(request: HttpRequest, page: Query[Page]) -> dict[str, Any]:
    """The chain's head as published every 1,000 transfers and hourly, newest first. Keep one: if the journal were
    ever rewritten, `makercloud ledger verify` (and anyone holding the export) would disagree with it."""
    checkpoints = selectors.checkpoints_public()
    if page.cursor:
        checkpoints = checkpoints.filter(seq__lt=decode_cursor(page.cursor))
    rows: list[Checkpoint]
    rows, cursor = _page(list(checkpoints[: page.limit + 1]), page.limit, "seq")
    return {"items": rows, "next_cursor": cursor}


@router.get("/ledger/figures", response=FiguresOut, auth=optional("ledger:read"),
            summary="The ledger's public figures")
def figures(request: HttpRequest) -> dict[str, Any]:
    """How many transfers, the posted volume per currency and the chain's head: no account or party is named."""
    figures = selectors.ledger_figures()
    return {"transfers": figures.transfers, "head_seq": figures.head_seq, "head_hash": figures.head_hash,
            "volume": [_money(amount, currency) for currency, amount in figures.volume.items()]}
