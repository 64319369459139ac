"""ledger services (writes): the journal — open accounts, create, post, void and expire transfers.

Every write goes through `transfers_create`, one linked batch at a time, in one transaction:
1. the batch is checked on its own (amounts, kinds, ids unique in the batch);
2. appends are serialised (a transaction-scoped advisory lock on PostgreSQL; SQLite's IMMEDIATE transactions are
   serial anyway), so the chain's head and the sequence numbers are the database's, gapless;
3. ids already in the journal: a retry with identical content returns the originals, anything else is a conflict;
4. the accounts are locked in id order (SELECT … FOR UPDATE), their latest balances read, and the transfers applied
   in memory one by one, each checked against the accounts' flags — a single refusal refuses the whole batch;
5. transfers and one balance row per touched account are appended (COPY on PostgreSQL), chained by hash.
"""

import contextlib
import gc
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.db.models.base import ModelState
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts.models import Organisation, User
from makercloud.core.errors import DomainError, InvalidInput
from makercloud.core.events import record_event
from makercloud.ledger import chain
from makercloud.ledger.errors import (
    ExceedsCredits,
    ExceedsDebits,
    ExceedsPendingAmount,
    InvalidTransfer,
    LedgerAccountExists,
    LedgerAccountNotFound,
    PendingTransferExpired,
    PendingTransferNotFound,
    PendingTransferResolved,
    TransferCurrencyMismatch,
    TransferExists,
)
from makercloud.ledger.models.journal import (
    Account,
    AccountPurpose,
    BalanceSnapshot,
    Checkpoint,
    Transfer,
    TransferCode,
)

# A checkpoint is published when the head has moved this many transfers past the last one (and hourly by a job).
CHECKPOINT_EVERY = 1000
# The advisory lock that serialises appends to the chain on PostgreSQL ("LEDGER" in ASCII).
CHAIN_LOCK = 0x4C4544474552
# Accounts whose balance may go either way; every other purpose refuses debits beyond its credits by default.
UNFLAGGED_PURPOSES = frozenset({AccountPurpose.CLEARING})
MAX_AMOUNT = 2**62
CODES = frozenset(TransferCode.values)
SINGLE, PENDING, POST, VOID, EXPIRE = "single", "pending", "post", "void", "expire"
CLIENT_KINDS = frozenset({SINGLE, PENDING, POST, VOID})

TRANSFER_COLUMNS = (
    "id", "seq", "debit_account_id", "credit_account_id", "amount", "currency", "kind", "pending_id", "timeout_at",
    "code", "venture_id", "reference", "metadata", "batch", "created_at", "prev_hash", "hash",
)
SNAPSHOT_COLUMNS = ("account_id", "seq", "debits_posted", "credits_posted", "debits_pending", "credits_pending")


# Accounts -------------------------------------------------------------------------------------------------------


def account_open(
    *,
    organisation: Organisation | None = None,
    person: User | None = None,
    purpose: str,
    currency: str,
    debits_must_not_exceed_credits: bool | None = None,
    credits_must_not_exceed_debits: bool = False,
) -> Account:
    """The owner's account of this purpose and currency, opened if it does not exist yet (get or create).

    Unless told otherwise, every account but a clearing account refuses debits beyond its credits.
    """
    if (organisation is None) == (person is None):
        raise InvalidInput(detail=_("An account belongs to an organisation or to a person."))
    if purpose not in AccountPurpose.values:
        raise InvalidInput(detail=_("%(purpose)s is not an account purpose.") % {"purpose": purpose})
    if len(currency) != 3 or not currency.isalpha() or not currency.isupper():
        raise InvalidInput(detail=_("%(currency)s is not an ISO 4217 currency code.") % {"currency": currency})
    if debits_must_not_exceed_credits is None:
        debits_must_not_exceed_credits = _debits_limited_by_default(purpose) and not credits_must_not_exceed_debits
    owner: dict[str, Any] = {"organisation": organisation} if organisation is not None else {"person": person}
    flags = {
        "debits_must_not_exceed_credits": debits_must_not_exceed_credits,
        "credits_must_not_exceed_debits": credits_must_not_exceed_debits,
    }
    account = Account.objects.filter(**owner, purpose=purpose, currency=currency).first()
    if account is None:
        try:
            with transaction.atomic():
                account = Account.objects.create(**owner, purpose=purpose, currency=currency, **flags)
        except IntegrityError:  # a concurrent opener won the unique constraint
            account = Account.objects.filter(**owner, purpose=purpose, currency=currency).first()
            if account is None:
                raise
    if any(getattr(account, name) != value for name, value in flags.items()):
        raise LedgerAccountExists(account_id=account.pk)
    return account


def _debits_limited_by_default(purpose: str) -> bool:
    return purpose not in UNFLAGGED_PURPOSES


def opened_as_by_default(account: Account) -> bool:
    """Whether the account has the flags `account_open` gives its purpose unless told otherwise (so that opening
    it with the defaults would return it rather than refuse)."""
    return (account.debits_must_not_exceed_credits == _debits_limited_by_default(account.purpose)
            and not account.credits_must_not_exceed_debits)


# Transfers ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TransferSpec:
    """One transfer of a batch, as its client describes it.

    single / pending: debit_account, credit_account, amount (> 0) and code are required; `timeout` (seconds, 0 =
    never) makes a pending transfer expire. post / void: `pending_id` names the pending transfer; the accounts,
    currency, code and venture are taken from it; a post's `amount` defaults to the whole pending amount and may be
    less (the remainder is released).
    """

    id: uuid.UUID
    debit_account: Account | int | None = None
    credit_account: Account | int | None = None
    amount: int | None = None
    code: str = ""
    kind: str = "single"
    pending_id: uuid.UUID | None = None
    timeout: int = 0
    currency: str | None = None
    venture: Organisation | int | None = None
    reference: str = ""
    metadata: Mapping[str, Any] = field(default_factory=dict)


def _plain_json(value: Any, path: str = "metadata") -> None:
    """Metadata is hashed as JSON and must read back identically from every database: no floats."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise InvalidTransfer(detail=_("%(path)s: keys must be strings.") % {"path": path})
            _plain_json(item, f"{path}.{key}")
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _plain_json(item, f"{path}[{index}]")
    elif not (value is None or isinstance(value, str | int | bool)) or isinstance(value, float):
        raise InvalidTransfer(
            detail=_("%(path)s: only strings, integers, booleans, null, lists and objects.") % {"path": path}
        )


def _checked(spec: TransferSpec) -> dict[str, Any]:
    """A spec as a plain dict, checked on its own (without the database). On the hot path of every append."""
    tid, kind, amount, code = spec.id, spec.kind, spec.amount, spec.code
    reference, timeout = spec.reference, spec.timeout
    if type(tid) is not uuid.UUID or tid.int == 0:
        raise InvalidTransfer(detail=_("A transfer's id must be a non-zero UUID."))
    if kind not in CLIENT_KINDS:
        raise InvalidTransfer(detail=_("%(kind)s is not a kind of transfer a client can create.") % {"kind": kind})
    if amount is not None and (type(amount) is not int or not 0 < amount < MAX_AMOUNT):
        raise InvalidTransfer(detail=_("The amount must be a positive integer number of minor units."), id=str(tid))
    if code and code not in CODES:
        raise InvalidTransfer(detail=_("%(code)s is not a transfer code.") % {"code": code}, id=str(tid))
    if type(reference) is not str or len(reference) > 200 or "\x00" in reference:
        raise InvalidTransfer(detail=_("The reference is text of at most 200 characters."), id=str(tid))
    if type(timeout) is not int or timeout < 0:
        raise InvalidTransfer(detail=_("The timeout is a number of seconds, 0 or more."), id=str(tid))
    metadata = dict(spec.metadata)
    if metadata:
        for value in metadata.values():
            if type(value) is not str and type(value) is not int and value is not None:
                _plain_json(metadata)
                break
    debit, credit, venture = spec.debit_account, spec.credit_account, spec.venture
    if kind in (POST, VOID):
        if spec.pending_id is None:
            raise InvalidTransfer(detail=_("A post or void names the pending transfer it resolves."), id=str(tid))
        if kind == VOID and amount is not None:
            raise InvalidTransfer(detail=_("A void releases the whole pending amount; give no amount."), id=str(tid))
    else:
        if spec.pending_id is not None:
            raise InvalidTransfer(detail=_("Only a post or a void names a pending transfer."), id=str(tid))
        if debit is None or credit is None or amount is None or not code:
            raise InvalidTransfer(
                detail=_("A transfer needs a debit account, a credit account, an amount and a code."), id=str(tid)
            )
        if timeout and kind != PENDING:
            raise InvalidTransfer(detail=_("Only a pending transfer has a timeout."), id=str(tid))
    return {
        "id": tid,
        "kind": kind,
        "debit_account_id": debit if debit is None or isinstance(debit, int) else debit.id,
        "credit_account_id": credit if credit is None or isinstance(credit, int) else credit.id,
        "amount": amount,
        "code": code,
        "pending_id": spec.pending_id,
        "timeout": timeout,
        "currency": spec.currency,
        "venture_id": venture if venture is None or isinstance(venture, int) else venture.id,
        "reference": reference,
        "metadata": metadata,
        "metadata_json": chain.encode_metadata(metadata),
    }


def _same(stored: Transfer, wanted: dict[str, Any]) -> bool:
    """Whether a stored transfer is what a retry with this spec would have created."""
    if (stored.kind, stored.reference, stored.metadata) != (wanted["kind"], wanted["reference"], wanted["metadata"]):
        return False
    for name in ("debit_account_id", "credit_account_id", "amount", "pending_id", "currency", "venture_id"):
        if wanted[name] is not None and getattr(stored, name) != wanted[name]:
            return False
    if wanted["code"] and stored.code != wanted["code"]:
        return False
    return not (wanted["kind"] == PENDING and bool(wanted["timeout"]) != bool(stored.timeout_at))


def _serialise() -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [CHAIN_LOCK])


def _head() -> tuple[int, str]:
    head = Transfer.objects.order_by("-seq").values_list("seq", "hash").first()
    return head if head else (0, chain.GENESIS)


def _transfer(values: dict[str, Any]) -> Transfer:
    """A model instance for a row just written, without the cost of Model.__init__."""
    transfer = Transfer.__new__(Transfer)
    transfer.__dict__.update(values)
    transfer.__dict__.pop("metadata_json", None)
    state = ModelState()
    state.adding = False
    state.db = "default"
    transfer._state = state
    return transfer


def _write(rows: list[dict[str, Any]], snapshots: list[tuple[int, ...]]) -> None:
    """Append rows made outside `_apply` (the expiry job's)."""
    sink = _Sink()
    for row in rows:
        sink.add(row)
    sink.finish(snapshots)


def _write_snapshots(snapshots: list[tuple[int, ...]]) -> None:
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor, cursor.cursor.copy(
            f"COPY ledger_balancesnapshot ({', '.join(SNAPSHOT_COLUMNS)}) FROM STDIN"
        ) as copy:
            for snapshot in snapshots:
                copy.write_row(snapshot)
        return
    BalanceSnapshot.objects.bulk_create(
        [BalanceSnapshot(**dict(zip(SNAPSHOT_COLUMNS, snapshot, strict=True))) for snapshot in snapshots],
        batch_size=500,
    )


class _Sink:
    """Where a batch's transfers go as `_apply` makes them. On PostgreSQL they stream into one COPY, a chunk at a
    time, so that the server inserts and indexes them (on the other core) while Python checks and hashes the next
    ones; elsewhere they are collected for one bulk_create. Nothing else may use the connection while the COPY is
    open: `_apply` queries only before its first row."""

    CHUNK = 1000

    def __init__(self) -> None:
        self.rows: list[dict[str, Any]] = []
        self.streaming = connection.vendor == "postgresql"
        self._sent = 0
        self._cursor: Any = None
        self._context: Any = None
        self._copy: Any = None

    def add(self, row: dict[str, Any]) -> None:
        self.rows.append(row)
        if self.streaming and len(self.rows) - self._sent >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        if self._copy is None:
            self._cursor = connection.cursor()
            self._context = self._cursor.cursor.copy(f"COPY ledger_transfer ({', '.join(TRANSFER_COLUMNS)}) FROM STDIN")
            self._copy = self._context.__enter__()
        if len(self.rows) > self._sent:
            self._copy.write(_copy_lines(self.rows[self._sent:]))
            self._sent = len(self.rows)

    def finish(self, snapshots: list[tuple[int, ...]]) -> None:
        if self.streaming:
            self._flush()
            context, self._context = self._context, None
            context.__exit__(None, None, None)
            self._cursor.close()
        else:
            Transfer.objects.bulk_create(
                [Transfer(**{name: row[name] for name in TRANSFER_COLUMNS}) for row in self.rows], batch_size=500
            )
        _write_snapshots(snapshots)

    def abort(self, error: BaseException) -> None:
        """End an open COPY with the error (the server then discards what it received)."""
        context, self._context = self._context, None
        if context is not None:
            with contextlib.suppress(Exception):  # the error that aborted it is the one to report
                context.__exit__(type(error), error, error.__traceback__)
            self._cursor.close()


def copy_field(value: str) -> str:
    """A text value in COPY's text format: backslash, tab, newline and carriage return escaped."""
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    return value


def _copy_lines(rows: list[dict[str, Any]]) -> str:
    """The transfers as COPY text lines, written by hand: psycopg's per-value write_row cost more than the rest of
    the append. Every row of a batch shares its batch id and creation time."""
    batch = str(rows[0]["batch"])
    created = chain.timestamp(rows[0]["created_at"])
    lines = []
    for row in rows:
        pending = row["pending_id"]
        timeout = row["timeout_at"]
        venture = row["venture_id"]
        lines.append(
            f'{row["id"]}\t{row["seq"]}\t{row["debit_account_id"]}\t{row["credit_account_id"]}\t{row["amount"]}\t'
            f'{row["currency"]}\t{row["kind"]}\t{"\\N" if pending is None else pending}\t'
            f'{"\\N" if timeout is None else chain.timestamp(timeout)}\t{row["code"]}\t'
            f'{"\\N" if venture is None else venture}\t{copy_field(row["reference"])}\t'
            f'{copy_field(row["metadata_json"])}\t{batch}\t{created}\t{row["prev_hash"]}\t{row["hash"]}\n'
        )
    return "".join(lines)


def _lookup_existing(ids: list[uuid.UUID]) -> dict[uuid.UUID, Transfer]:
    found: dict[uuid.UUID, Transfer] = {}
    for start in range(0, len(ids), 2000):
        for transfer in Transfer.objects.filter(id__in=ids[start:start + 2000]):
            found[transfer.id] = transfer
    return found


def _retried(wanted: list[dict[str, Any]]) -> list[Transfer] | None:
    """The originals when this batch is already in the journal; None when none of its ids is; else a conflict."""
    ids = [item["id"] for item in wanted]
    existing = _lookup_existing(ids)
    if not existing:
        return None
    for item in wanted:
        stored = existing.get(item["id"])
        if stored is not None and not _same(stored, item):
            raise TransferExists(id=str(item["id"]))
    if len(existing) == len(wanted):
        return [existing[i] for i in ids]
    first = next(i for i in ids if i in existing)
    raise TransferExists(
        detail=_("Part of this batch is already in the journal; retry it whole or not at all."), id=str(first)
    )


def _apply(
    wanted: list[dict[str, Any]], now: datetime, sink: "_Sink", batch: uuid.UUID
) -> tuple[list[dict[str, Any]], list[tuple[int, ...]]]:
    """Lock the accounts, apply the batch to their balances in memory, chain the hashes; the rows go to `sink`."""
    resolving_ids = [item["pending_id"] for item in wanted if item["pending_id"] is not None]
    created_here: dict[uuid.UUID, dict[str, Any]] = {}
    pendings: dict[uuid.UUID, dict[str, Any]] = {}
    if resolving_ids:
        for found in Transfer.objects.filter(id__in=resolving_ids).values(
            "id", "kind", "debit_account_id", "credit_account_id", "amount", "currency", "code", "venture_id",
            "timeout_at",
        ):
            pendings[found["id"]] = dict(found)
        resolved = set(Transfer.objects.filter(pending_id__in=resolving_ids).values_list("pending_id", flat=True))
    else:
        resolved = set()

    account_ids = {item["debit_account_id"] for item in wanted} | {item["credit_account_id"] for item in wanted}
    for held_by in pendings.values():
        account_ids |= {held_by["debit_account_id"], held_by["credit_account_id"]}
    account_ids.discard(None)
    latest = BalanceSnapshot.objects.filter(account=OuterRef("pk")).order_by("-seq").values("seq")[:1]
    accounts = {
        account.pk: account
        for account in Account.objects.filter(pk__in=account_ids)
        .annotate(last_seq=Subquery(latest))
        .order_by("pk")
        .select_for_update(of=("self",))
    }
    balances: dict[int, list[int]] = {pk: [0, 0, 0, 0] for pk in accounts}
    last_seqs = {account.last_seq for account in accounts.values() if account.last_seq}
    if last_seqs:
        for snapshot in BalanceSnapshot.objects.filter(seq__in=list(last_seqs), account_id__in=list(accounts)):
            if snapshot.account_id in accounts and accounts[snapshot.account_id].last_seq == snapshot.seq:
                balances[snapshot.account_id] = [
                    snapshot.debits_posted, snapshot.credits_posted, snapshot.debits_pending, snapshot.credits_pending,
                ]

    venture_ids = {item["venture_id"] for item in wanted if item["venture_id"] is not None}
    if venture_ids and Organisation.objects.filter(pk__in=venture_ids).count() != len(venture_ids):
        raise InvalidTransfer(detail=_("The venture of a transfer does not exist."))
    seq, prev_hash = _head()
    batch_text = str(batch)
    created_at = chain.timestamp(now) or ""
    touched: dict[int, int] = {}
    rows = sink.rows
    for item in wanted:
        kind = item["kind"]
        tid = item["id"]
        if kind in (POST, VOID):
            pending: dict[str, Any] | None = created_here.get(item["pending_id"]) or pendings.get(item["pending_id"])
            if pending is None or pending["kind"] != PENDING:
                raise PendingTransferNotFound(id=str(tid), pending_id=str(item["pending_id"]))
            if item["pending_id"] in resolved:
                raise PendingTransferResolved(id=str(tid), pending_id=str(item["pending_id"]))
            if pending["timeout_at"] is not None and pending["timeout_at"] <= now:
                raise PendingTransferExpired(id=str(tid), pending_id=str(item["pending_id"]))
            for name in ("debit_account_id", "credit_account_id", "currency", "venture_id"):
                if item[name] is not None and item[name] != pending[name]:
                    raise InvalidTransfer(
                        detail=_("A post or void keeps the pending transfer's %(field)s.") % {"field": name},
                        id=str(tid),
                    )
            if item["code"] and item["code"] != pending["code"]:
                raise InvalidTransfer(detail=_("A post or void keeps the pending transfer's code."), id=str(tid))
            debit_id, credit_id = pending["debit_account_id"], pending["credit_account_id"]
            held = pending["amount"]
            amount = held if kind == VOID or item["amount"] is None else item["amount"]
            if amount > held:
                raise ExceedsPendingAmount(id=str(tid), pending_amount=held)
            currency, code, venture_id = pending["currency"], pending["code"], pending["venture_id"]
            resolved.add(item["pending_id"])
        else:
            debit_id, credit_id, amount = item["debit_account_id"], item["credit_account_id"], item["amount"]
            held = 0
            code, venture_id = item["code"], item["venture_id"]
            if debit_id == credit_id:
                raise InvalidTransfer(detail=_("The debit and credit accounts must differ."), id=str(tid))
            if debit_id not in accounts or credit_id not in accounts:
                raise LedgerAccountNotFound(id=str(tid), account_id=debit_id if debit_id not in accounts else credit_id)
            currency = accounts[debit_id].currency
            if accounts[credit_id].currency != currency or (item["currency"] and item["currency"] != currency):
                raise TransferCurrencyMismatch(id=str(tid))

        debit, credit = balances[debit_id], balances[credit_id]
        if kind == SINGLE:
            debit[0] += amount
            credit[1] += amount
        elif kind == PENDING:
            debit[2] += amount
            credit[3] += amount
        else:
            debit[2] -= held
            credit[3] -= held
            if kind == POST:
                debit[0] += amount
                credit[1] += amount
        if accounts[debit_id].debits_must_not_exceed_credits and debit[0] + debit[2] > debit[1]:
            raise ExceedsCredits(id=str(tid), account_id=debit_id)
        if accounts[credit_id].credits_must_not_exceed_debits and credit[1] + credit[3] > credit[0]:
            raise ExceedsDebits(id=str(tid), account_id=credit_id)

        seq += 1
        timeout_at = None
        if kind == PENDING and item["timeout"]:
            timeout_at = now + timedelta(seconds=item["timeout"])
        reference = item["reference"]
        metadata = item["metadata"]
        metadata_json = item["metadata_json"]
        pending_id = item["pending_id"]
        digest = chain.link(
            prev_hash,
            chain.canonical(
                seq=seq, id=tid, debit_account_id=debit_id, credit_account_id=credit_id, amount=amount,
                currency=currency, kind=kind, pending_id=pending_id, timeout_at=chain.timestamp(timeout_at),
                code=code, venture_id=venture_id, reference=reference, metadata=metadata_json, batch=batch_text,
                created_at=created_at,
            ),
        )
        row = {
            "id": tid, "seq": seq, "debit_account_id": debit_id, "credit_account_id": credit_id, "amount": amount,
            "currency": currency, "kind": kind, "pending_id": pending_id, "timeout_at": timeout_at, "code": code,
            "venture_id": venture_id, "reference": reference, "metadata": metadata, "metadata_json": metadata_json,
            "batch": batch,
            "created_at": now, "prev_hash": prev_hash, "hash": digest,
        }
        sink.add(row)
        if kind == PENDING:
            created_here[tid] = {**row, "timeout_at": timeout_at}
        prev_hash = digest
        touched[debit_id] = seq
        touched[credit_id] = seq

    snapshots = [(pk, last, *balances[pk]) for pk, last in sorted(touched.items())]
    return rows, snapshots


@transaction.atomic
def transfers_create(
    *, transfers: Sequence[TransferSpec], actor: User | None = None, at: datetime | None = None
) -> list[Transfer]:
    """Append one linked batch to the journal: every transfer in it, or (on any refusal) none.

    A retry of a batch whose ids are all in the journal with identical content returns the originals; an id in the
    journal with other content raises TransferExists. `at` is for tests and the expiry job only.
    """
    if not transfers:
        return []
    with collector_paused():  # tens of thousands of young objects
        created = _create(transfers, actor, at, uuid.uuid4())
        return [_transfer(row) if isinstance(row, dict) else row for row in created]


@transaction.atomic
def transfers_append(*, transfers: Sequence[TransferSpec], batch: uuid.UUID, actor: User | None = None) -> uuid.UUID:
    """`transfers_create` for a bulk writer that has written rows naming the batch already (a fresh uuid4 of its
    own): no model instance is made per transfer. Returns the batch's id — the original batch's when this is a retry
    of one. At least one transfer."""
    if not transfers:
        raise ValueError("transfers_append needs at least one transfer.")
    with collector_paused():
        first = _create(transfers, actor, None, batch)[0]
        return first["batch"] if isinstance(first, dict) else first.batch


def chain_lock() -> None:
    """Take the lock that serialises appends to the journal now, for the rest of the transaction (appends take it
    anyway): for a writer that must write rows of its own before its transfers without deadlocking another."""
    _serialise()


def _create(
    transfers: Sequence[TransferSpec], actor: User | None, at: datetime | None, batch: uuid.UUID
) -> list[dict[str, Any]] | list[Transfer]:
    """The rows appended (as dicts), or the originals when the batch is a retry of one in the journal."""
    wanted = [_checked(spec) for spec in transfers]
    ids = [item["id"] for item in wanted]
    if len(set(ids)) != len(ids):
        raise InvalidTransfer(detail=_("Each transfer of a batch needs its own id."))
    _serialise()
    return _append(wanted, at or timezone.now(), actor, batch)


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The cyclic garbage collector off while a batch makes tens of thousands of young objects (it would rescan them
    again and again; they hold no cycles worth collecting meanwhile). Only whoever switched it off switches it back
    on, so nested pauses and other threads' pauses leave it as they found it."""
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()


def _append(
    wanted: list[dict[str, Any]], now: datetime, actor: User | None, batch: uuid.UUID
) -> list[dict[str, Any]] | list[Transfer]:
    sink = _Sink()
    try:
        # Optimistic: fresh ids are the rule, so no lookup first — the primary key refuses an id used before.
        with transaction.atomic(), connection.wrap_database_errors:
            try:
                rows, snapshots = _apply(wanted, now, sink, batch)
                sink.finish(snapshots)
            except BaseException as error:
                sink.abort(error)
                raise
    except (DomainError, IntegrityError):
        # A retry of a batch that went in is answered with the originals even if it would be refused today.
        originals = _retried(wanted)
        if originals is not None:
            return originals
        raise
    seq, prev_hash = rows[-1]["seq"], rows[-1]["hash"]
    batch = rows[0]["batch"]
    last_checkpoint = Checkpoint.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    if seq - last_checkpoint >= CHECKPOINT_EVERY:
        Checkpoint.objects.create(seq=seq, hash=prev_hash)
    record_event(
        actor=actor, subject=_transfer(rows[0]), kind="ledger.transfers_created",
        data={"batch": str(batch), "count": len(rows), "first_seq": rows[0]["seq"], "last_seq": seq},
    )
    return rows


def transfer_post(
    *, id: uuid.UUID, pending_id: uuid.UUID, amount: int | None = None, actor: User | None = None
) -> Transfer:
    """Post a pending transfer in full or in part (`amount` ≤ the pending amount); the remainder is released."""
    return transfers_create(
        transfers=[TransferSpec(id=id, kind=POST, pending_id=pending_id, amount=amount)], actor=actor
    )[0]


def transfer_void(*, id: uuid.UUID, pending_id: uuid.UUID, actor: User | None = None) -> Transfer:
    """Release a pending transfer's whole amount."""
    return transfers_create(transfers=[TransferSpec(id=id, kind=VOID, pending_id=pending_id)],
                            actor=actor)[0]


def expire_id(pending_id: uuid.UUID) -> uuid.UUID:
    """The id of the transfer that expires a pending one: fixed, so that two runs of the job expire it once."""
    return uuid.uuid5(pending_id, "expire")


def transfers_expire(*, at: datetime | None = None, limit: int = 1000) -> int:
    """Expire the pending transfers whose timeout has passed and that nobody posted or voided. Returns how many."""
    now = at or timezone.now()
    with transaction.atomic():
        _serialise()
        due = list(
            Transfer.objects.filter(kind=PENDING, timeout_at__lte=now)
            .exclude(id__in=Transfer.objects.filter(pending__isnull=False).values("pending_id"))
            .order_by("seq")
            .values_list("id", flat=True)[:limit]
        )
        if not due:
            return 0
        _expire(due, now)
    return len(due)


def _expire(due: list[uuid.UUID], now: datetime) -> None:
    """Append expire transfers (as transfers_create does, but of the kind clients may not create)."""
    pendings = {
        p["id"]: p
        for p in Transfer.objects.filter(id__in=due).values(
            "id", "debit_account_id", "credit_account_id", "amount", "currency", "code", "venture_id"
        )
    }
    account_ids = {p["debit_account_id"] for p in pendings.values()} | {
        p["credit_account_id"] for p in pendings.values()
    }
    list(Account.objects.filter(pk__in=account_ids).order_by("pk").select_for_update())
    balances = {pk: _balance_list(pk) for pk in account_ids}
    seq, prev_hash = _head()
    batch = uuid.uuid4()
    created_at = chain.timestamp(now) or ""
    rows: list[dict[str, Any]] = []
    touched: dict[int, int] = {}
    for pending_id in due:
        pending = pendings[pending_id]
        debit_id, credit_id, held = pending["debit_account_id"], pending["credit_account_id"], pending["amount"]
        balances[debit_id][2] -= held
        balances[credit_id][3] -= held
        seq += 1
        tid = expire_id(pending_id)
        digest = chain.link(prev_hash, chain.canonical(
            seq=seq, id=tid, debit_account_id=debit_id, credit_account_id=credit_id, amount=held,
            currency=pending["currency"], kind=EXPIRE, pending_id=pending_id, timeout_at=None,
            code=pending["code"], venture_id=pending["venture_id"], reference="", metadata="{}", batch=batch,
            created_at=created_at,
        ))
        rows.append({
            "id": tid, "seq": seq, "debit_account_id": debit_id, "credit_account_id": credit_id, "amount": held,
            "currency": pending["currency"], "kind": EXPIRE, "pending_id": pending_id,
            "timeout_at": None, "code": pending["code"], "venture_id": pending["venture_id"], "reference": "",
            "metadata": {}, "metadata_json": "{}", "batch": batch, "created_at": now, "prev_hash": prev_hash,
            "hash": digest,
        })
        prev_hash = digest
        touched[debit_id] = seq
        touched[credit_id] = seq
    _write(rows, [(pk, last, *balances[pk]) for pk, last in sorted(touched.items())])
    record_event(actor=None, subject=_transfer(rows[0]), kind="ledger.transfers_expired",
                 data={"batch": str(batch), "count": len(rows), "first_seq": rows[0]["seq"], "last_seq": seq})


def _balance_list(account_id: int) -> list[int]:
    snapshot = BalanceSnapshot.objects.filter(account_id=account_id).order_by("-seq").first()
    if snapshot is None:
        return [0, 0, 0, 0]
    return [snapshot.debits_posted, snapshot.credits_posted, snapshot.debits_pending, snapshot.credits_pending]


def checkpoint_publish() -> Checkpoint | None:
    """Publish the chain's head as a checkpoint if it moved since the last one (the hourly job)."""
    with transaction.atomic():
        _serialise()
        seq, head = _head()
        last = Checkpoint.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
        if seq == 0 or seq == last:
            return None
        return Checkpoint.objects.create(seq=seq, hash=head)
