"""ledger services (writes): settlement — share a revenue event under the rule version in force, as one linked
batch of transfers from clearing to every party; refunds reverse in proportion.

Idempotent by the event's id: the transfer ids are uuid5 of the event id and the share's position, so a retry (or a
second settlement of one event racing on another connection) makes the very same transfers — the journal returns the
originals — and the unique `Settlement.event_id` keeps one row. A different amount, venture or kind under a known
event id is a conflict.
"""

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.db.models.base import ModelState
from django.db.models.expressions import RawSQL
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Organisation, User
from makercloud.core.errors import InvalidInput
from makercloud.core.events import record_event
from makercloud.core.money import Money
from makercloud.ledger.models.journal import Account, AccountPurpose
from makercloud.ledger.models.rules import RevenueClass, RuleVersion, Settlement, SettlementKind
from makercloud.ledger.rules import Context, Rule, allocate, rule_parse, seed_of
from makercloud.ledger.rules.errors import NotSettler, RefundTooLarge, SettlementConflict, SettlementNotFound
from makercloud.ledger.selectors import rules as selectors
from makercloud.ledger.services.journal import (
    TransferSpec,
    account_open,
    chain_lock,
    collector_paused,
    copy_field,
    opened_as_by_default,
    transfers_append,
    transfers_create,
)

# Transfer ids of a settlement: uuid5(SETTLEMENT_NS, "<event id>/<share index>").
SETTLEMENT_NS = uuid.UUID("6f1c1d9e-0b7a-5c4e-9a51-6d616b657263")
PARTY_PURPOSE = {
    "platform": AccountPurpose.PLATFORM_REVENUE,
    "venture": AccountPurpose.VENTURE_OPERATING,
    "suppliers": AccountPurpose.SUPPLIER_PAYABLE,
    "co_creators": AccountPurpose.CO_CREATOR_EARNINGS,
    "investors": AccountPurpose.INVESTOR_RETURNS,
}


KINDS = frozenset(SettlementKind.values)
REVENUE_CLASSES = frozenset(RevenueClass.values)
_NAMESPACE_HASHED = hashlib.sha1(SETTLEMENT_NS.bytes, usedforsecurity=False)


def transfer_id(event_id: str, index: int) -> uuid.UUID:
    """uuid.uuid5(SETTLEMENT_NS, "<event id>/<index>"), computed from the namespace hashed once."""
    digest = _NAMESPACE_HASHED.copy()
    digest.update(f"{event_id}/{index}".encode())
    return uuid.UUID(bytes=digest.digest()[:16], version=5)


class Accounts:
    """The ledger accounts a settlement pays into, opened on first use and remembered for a bulk run."""

    def __init__(self) -> None:
        self._cache: dict[tuple[str, str, int, str], Account] = {}
        self._found: dict[tuple[str, str, int, str], Account] = {}
        self._platform: Organisation | None = None

    def preload(self, *, organisations: set[int], people: set[int], currencies: set[str]) -> None:
        """Read these owners' existing accounts in one query (a bulk call would otherwise look up each one)."""
        owned = Q(organisation_id__in=organisations) | Q(person_id__in=people)
        for account in Account.objects.filter(owned, currency__in=currencies):
            if account.organisation_id is not None:
                self._found[("organisation", account.purpose, account.organisation_id, account.currency)] = account
            elif account.person_id is not None:
                self._found[("person", account.purpose, account.person_id, account.currency)] = account

    def _get(self, owner: str, owner_id: int, purpose: str, currency: str) -> Account:
        key = (owner, purpose, owner_id, currency)
        if key not in self._cache:
            found = self._found.get(key)
            if found is not None and opened_as_by_default(found):
                self._cache[key] = found
                return found
            if owner == "organisation":
                organisation = Organisation.objects.get(pk=owner_id)
                self._cache[key] = account_open(organisation=organisation, purpose=purpose, currency=currency)
            else:
                person = User.objects.get(pk=owner_id)
                self._cache[key] = account_open(person=person, purpose=purpose, currency=currency)
        return self._cache[key]

    def platform(self) -> Organisation:
        if self._platform is None:
            self._platform = accounts_services.platform_organisation()
        return self._platform

    def clearing(self, currency: str) -> Account:
        return self._get("organisation", self.platform().pk, AccountPurpose.CLEARING, currency)

    def party(self, *, party: str, member: str | None, venture: Organisation, currency: str) -> Account:
        purpose = PARTY_PURPOSE[party]
        if party == "platform":
            return self._get("organisation", self.platform().pk, purpose, currency)
        if party == "venture":
            return self._get("organisation", venture.pk, purpose, currency)
        if member is None:
            raise InvalidInput(detail=_("The set @%(set)s has no members.") % {"set": party})
        owner, _sep, owner_id = member.partition(":")
        return self._get(owner, int(owner_id), purpose, currency)


@dataclass(frozen=True, slots=True)
class RevenueEvent:
    """One revenue event for `settlements_bulk`."""

    event_id: str
    venture: Organisation
    kind: str
    revenue_class: str
    amount: Money
    occurred_at: datetime
    refund_of: str | None = None


def ensure_can_settle(*, actor: User | None, venture: Organisation) -> None:
    """Operators and the venture's owners and administrators; `None` is the platform itself (commerce, the demo)."""
    if actor is None:
        return
    if accounts_selectors.is_operator(person=actor):
        return
    if accounts_selectors.role_in(person=actor, organisation=venture) not in ("owner", "admin"):
        raise NotSettler()


def _check(event: RevenueEvent) -> None:
    if not event.event_id or len(event.event_id) > 200 or "\x00" in event.event_id:
        raise InvalidInput(detail=_("An event id is 1 to 200 characters."))
    if event.kind not in KINDS:
        raise InvalidInput(detail=_("%(kind)s is not a kind of revenue event.") % {"kind": event.kind})
    if event.revenue_class not in REVENUE_CLASSES:
        raise InvalidInput(detail=_("%(cls)s is not a revenue class.") % {"cls": event.revenue_class})
    if event.amount.minor <= 0:
        raise InvalidInput(detail=_("The amount must be more than zero."))
    if (event.kind == SettlementKind.REFUND) != (event.refund_of is not None):
        raise InvalidInput(detail=_("A refund names the event it refunds (refund_of); other events do not."))
    if event.occurred_at > timezone.now() + timedelta(minutes=5):
        raise InvalidInput(detail=_("The event cannot have occurred in the future."))


def _same(settlement: Settlement, event: RevenueEvent) -> Settlement:
    refund_of = settlement.refund_of.event_id if settlement.refund_of_id else None  # type: ignore[union-attr]
    if settlement.venture_id != event.venture.pk:  # another venture's: say only that the id is taken
        raise SettlementConflict(
            detail=_("The event id %(id)s is already taken; use another.") % {"id": event.event_id}
        )
    if (settlement.kind, settlement.amount, settlement.currency, refund_of) != (
        event.kind, event.amount.minor, event.amount.currency, event.refund_of
    ):
        raise SettlementConflict(
            detail=_("The event %(id)s was already settled with another kind or amount.")
            % {"id": event.event_id}, settlement_id=settlement.pk,
        )
    return settlement


def _metadata(version: RuleVersion, share: dict[str, Any]) -> dict[str, Any]:
    """A share's transfer metadata but its event id."""
    return {"rule_version_id": version.pk, "rule_id": version.rule_id, "rule_version": version.number,
            "rule_hash": version.content_hash, "line": share["line"], "party": share["party"],
            "member": share["member"]}


class _Plan:
    """What one event will write: its settlement row (unsaved) and its transfer specs."""

    def __init__(self, settlement: Settlement, specs: list[TransferSpec]) -> None:
        self.settlement = settlement
        self.specs = specs


@dataclass(frozen=True, slots=True)
class _Paid:
    """One share of an allocation that is paid (more than zero): its account, its entry in the settlement's shares
    and the part of its transfer's metadata that does not name the event."""

    account: Account
    minor: int
    share: dict[str, Any]
    metadata: dict[str, Any]


class _Version:
    """A rule version in force for one venture, prepared once per call: its parsed text, its sets as they are now,
    and a cache of allocations — an allocation depends only on the amount, the kind and the seed modulo each count of
    lines or members that a tie-break rotates over, so equal prices share one computation (and its accounts)."""

    def __init__(self, version: RuleVersion, venture: Organisation, *, parsed: Rule,
                 sets: dict[str, list[dict[str, Any]]]) -> None:
        self.version = version
        self.venture = venture
        self.parsed = parsed
        self.sets = sets
        self.members = selectors.context_from(self.sets, seed=0, require_members=True).sets
        self.moduli = sorted(_moduli(self.parsed, self.members))
        self.cache: dict[tuple[Any, ...], tuple[Account, list[_Paid]]] = {}

    def owners(self) -> tuple[set[int], set[int]]:
        """The organisations and people this version may pay (for `Accounts.preload`)."""
        organisations: set[int] = {self.venture.pk}
        people: set[int] = set()
        for members in self.sets.values():
            for member in members:
                owner, _sep, owner_id = member["key"].partition(":")
                (organisations if owner == "organisation" else people).add(int(owner_id))
        return organisations, people

    def paid(self, amount: Money, kind: str, seed: int, accounts: Accounts) -> tuple[Account, list[_Paid]]:
        """The clearing account, and the shares paid with their accounts."""
        key = (amount.minor, amount.currency, kind, *(seed % n for n in self.moduli))
        found = self.cache.get(key)
        if found is None:
            clearing = accounts.clearing(amount.currency)
            context = Context(sets=self.members, seed=seed, require_members=True)
            paid: list[_Paid] = []
            for share in allocate(self.parsed, amount, kind=kind, context=context).shares:
                if share.minor <= 0:
                    continue
                account = accounts.party(party=share.party, member=share.member, venture=self.venture,
                                         currency=amount.currency)
                entry = {"index": len(paid), "line": share.line, "party": share.party, "member": share.member,
                         "label": share.label, "account_id": account.pk, "minor": share.minor}
                paid.append(_Paid(account=account, minor=share.minor, share=entry,
                                  metadata=_metadata(self.version, entry)))
            found = self.cache[key] = (clearing, paid)
        return found


def _versions(wanted: Sequence[tuple[Organisation, str]]) -> dict[tuple[int, str], _Version]:
    """The version in force for each (venture, kind), prepared: looked up together, each text parsed once."""
    versions = selectors.rules_in_force(wanted=wanted)
    contexts = selectors.contexts_of(rules=[version.rule for version in versions.values()])
    parsed: dict[str, Rule] = {}
    prepared = {}
    for key, version in versions.items():
        if version.text not in parsed:
            parsed[version.text] = rule_parse(version.text)
        venture = next(venture for venture, _kind in wanted if venture.pk == key[0])
        prepared[key] = _Version(version, venture, parsed=parsed[version.text], sets=contexts[version.rule_id])
    return prepared


def _moduli(parsed: Any, members: Any) -> set[int]:
    """Every n a tie-break takes the seed modulo: the sharing lines of each block, the members of each set used."""
    found: set[int] = set()

    def walk(block: Any) -> None:
        sharing = sum(1 for item in block.lines if item.portion in ("percent", "remaining"))
        if sharing:
            found.add(sharing)
        for item in block.lines:
            if item.block is not None:
                walk(item.block)
            elif item.is_set and members.get(item.party):
                found.add(len(members[item.party]))

    for section in parsed.sections:
        walk(section.block)
    return found


def _plan_sale(event: RevenueEvent, prepared: _Version, accounts: Accounts, actor: User | None) -> _Plan:
    event_id, kind, venture = event.event_id, event.kind, event.venture
    seed = seed_of(event_id)
    clearing, paid = prepared.paid(event.amount, kind, seed, accounts)
    shares: list[dict[str, Any]] = []
    specs: list[TransferSpec] = []
    for index, line in enumerate(paid):
        tid = transfer_id(event_id, index)
        shares.append({**line.share, "transfer_id": str(tid)})
        specs.append(TransferSpec(
            id=tid, debit_account=clearing, credit_account=line.account, amount=line.minor, code=kind,
            venture=venture, reference=event_id, metadata={**line.metadata, "event_id": event_id},
        ))
    settlement = _unsaved(
        event_id=event_id, venture_id=venture.pk, kind=kind, revenue_class=event.revenue_class,
        amount=event.amount.minor, currency=event.amount.currency, rule_version_id=prepared.version.pk,
        refund_of_id=None, occurred_at=event.occurred_at, seed=str(seed), shares=shares, context=prepared.sets,
        batch=None, created_at=None, created_by_id=actor.pk if actor else None,
    )
    # Cached, not looked up again.
    settlement._state.fields_cache.update(venture=venture, rule_version=prepared.version)
    return _Plan(settlement, specs)


SETTLEMENT_COLUMNS = ("event_id", "venture_id", "kind", "revenue_class", "amount", "currency", "rule_version_id",
                      "refund_of_id", "occurred_at", "seed", "shares", "context", "batch", "created_at",
                      "created_by_id")


def _unsaved(**values: Any) -> Settlement:
    """A new settlement row without the cost of Model.__init__ (it is made for every sale of a bulk call): every
    field but the id given by its attribute name, as Model.__init__ would set them."""
    fields = {field.attname for field in Settlement._meta.concrete_fields}
    if values.keys() | {"id"} != fields:
        raise TypeError(f"A settlement row has the fields {sorted(fields)}.")
    settlement = Settlement.__new__(Settlement)
    settlement.__dict__.update(values, id=None)
    settlement._state = ModelState()
    return settlement


class _SettlementRows:
    """Where a bulk call's settlement rows go as they are planned (`with _SettlementRows(count) as rows:
    rows.add(…)`). On PostgreSQL they stream into one COPY, a chunk at a time, their ids drawn from the table's
    sequence first, so that the server inserts them (on the other core) while Python plans the next ones: nothing
    else may use the connection meanwhile. Elsewhere they are collected for one bulk INSERT."""

    CHUNK = 500

    def __init__(self, count: int) -> None:
        self.count = count
        self.rows: list[Settlement] = []
        self.streaming = connection.vendor == "postgresql"
        self.now = timezone.now()
        self._ids: list[int] = []
        self._sent = 0
        self._contexts: dict[int, str] = {}  # the rows of one version share its context
        self._cursor: Any = None
        self._copy_context: Any = None
        self._copy: Any = None

    def __enter__(self) -> "_SettlementRows":
        if self.streaming:
            self._cursor = connection.cursor()
            self._cursor.execute("SELECT nextval(pg_get_serial_sequence('ledger_settlement', 'id')) "
                                 "FROM generate_series(1, %s)", [self.count])
            self._ids = sorted(row[0] for row in self._cursor.fetchall())
            self._copy_context = self._cursor.cursor.copy(
                f"COPY ledger_settlement (id, {', '.join(SETTLEMENT_COLUMNS)}) FROM STDIN"
            )
            self._copy = self._copy_context.__enter__()
        return self

    def add(self, settlement: Settlement) -> None:
        self.rows.append(settlement)
        if self.streaming and len(self.rows) - self._sent >= self.CHUNK:
            self._flush()

    def _flush(self) -> None:
        rows = self.rows[self._sent:]
        ids = self._ids[self._sent:self._sent + len(rows)]
        for row, pk in zip(rows, ids, strict=True):
            row.pk = pk
        self._copy.write(self._lines(rows))
        self._sent += len(rows)

    def __exit__(self, kind: Any, error: BaseException | None, traceback: Any) -> None:
        if not self.streaming:
            if error is None:
                Settlement.objects.bulk_create(self.rows, batch_size=500)
            return
        try:
            if error is None:
                self._flush()
                if self._sent != self.count:
                    raise ValueError(f"{self.count} settlement rows announced, {self._sent} written.")
            self._copy_context.__exit__(kind, error, traceback)  # with an error, the server discards the rows
        finally:
            self._cursor.close()
        for row in self.rows:
            row.created_at = self.now
            row._state.adding = False

    def _lines(self, rows: list[Settlement]) -> str:
        """The rows as COPY text lines (psycopg's per-value write_row costs more than the rest of the row)."""
        created_at = self.now.isoformat()
        lines = []
        for row in rows:
            context = self._contexts.get(id(row.context))
            if context is None:
                context = self._contexts[id(row.context)] = copy_field(json.dumps(row.context))
            refund_of, created_by = row.refund_of_id, row.created_by_id
            lines.append(
                f"{row.pk}\t{copy_field(row.event_id)}\t{row.venture_id}\t{row.kind}\t{row.revenue_class}\t"
                f"{row.amount}\t{row.currency}\t{row.rule_version_id}\t{'\\N' if refund_of is None else refund_of}\t"
                f"{row.occurred_at.isoformat()}\t{row.seed}\t{copy_field(json.dumps(row.shares))}\t{context}\t"
                f"{row.batch}\t{created_at}\t{'\\N' if created_by is None else created_by}\n"
            )
        return "".join(lines)


def _write_sales(sales: list[RevenueEvent], versions: dict[tuple[int, str], _Version], accounts: Accounts,
                 actor: User | None) -> tuple[list[_Plan], list[TransferSpec]]:
    """Plan the sales and write them: their settlement rows stream into the database while the next ones are
    planned, then their transfers go to the journal as one linked batch (the batch id chosen here first)."""
    for event in sales:  # every allocation first, opening accounts as needed: no query while the rows stream
        versions[(event.venture.pk, event.kind)].paid(event.amount, event.kind, seed_of(event.event_id), accounts)
    batch = uuid.uuid4()
    chain_lock()  # before rows that name the batch (see chain_lock)
    plans = []
    with _SettlementRows(len(sales)) as rows:
        for event in sales:
            plan = _plan_sale(event, versions[(event.venture.pk, event.kind)], accounts, actor)
            plan.settlement.batch = batch
            rows.add(plan.settlement)
            plans.append(plan)
    specs = [spec for plan in plans for spec in plan.specs]
    appended = transfers_append(transfers=specs, batch=batch, actor=actor)
    if appended != batch:  # the transfers were in the journal already (without settlement rows): theirs is the batch
        Settlement.objects.filter(pk__in=[plan.settlement.pk for plan in plans]).update(batch=appended)
        for plan in plans:
            plan.settlement.batch = appended
    return plans, specs


def refund_shares(*, settlement: Settlement) -> list[dict[str, Any]]:
    """A refund's shares, recomputed: its amount allocated over what each share of the original still held before
    it (the original's shares minus earlier refunds), with the refund event's seed as tie-break."""
    original = settlement.refund_of
    assert original is not None
    earlier = original.refunds.filter(pk__lt=settlement.pk) if settlement.pk else original.refunds.all()
    return _refund_allocation(original, list(earlier), settlement.amount, int(settlement.seed))


def _refund_allocation(original: Settlement, earlier: list[Settlement], amount: int, seed: int
                       ) -> list[dict[str, Any]]:
    left = {share["index"]: share["minor"] for share in original.shares}
    for refund in earlier:
        for share in refund.shares:
            left[share["of"]] -= share["minor"]
    order = [share["index"] for share in original.shares]
    weights = [left[i] for i in order]
    if amount > sum(weights):
        raise RefundTooLarge(detail=_("At most %(left)s can still be refunded of %(event)s.")
                             % {"left": sum(weights), "event": original.event_id}, left=sum(weights))
    parts = Money(amount, original.currency).allocate(weights, start=seed % len(order))
    by_index = {share["index"]: share for share in original.shares}
    return [{"of": i, "line": by_index[i]["line"], "party": by_index[i]["party"], "member": by_index[i]["member"],
             "label": by_index[i]["label"], "account_id": by_index[i]["account_id"], "minor": part.minor}
            for i, part in zip(order, parts, strict=True)]


def _plan_refund(event: RevenueEvent, accounts: Accounts, actor: User | None) -> _Plan:
    original = Settlement.objects.select_for_update().filter(event_id=event.refund_of).first()
    if original is None or original.refund_of_id is not None or original.venture_id != event.venture.pk:
        raise SettlementNotFound(detail=_("There is no settled sale %(id)s of this venture to refund.")
                                 % {"id": event.refund_of})
    if original.currency != event.amount.currency:
        raise InvalidInput(detail=_("A refund is in the currency of the sale (%(currency)s).")
                           % {"currency": original.currency})
    seed = seed_of(event.event_id)
    version = original.rule_version
    clearing = accounts.clearing(original.currency)
    shares: list[dict[str, Any]] = []
    specs: list[TransferSpec] = []
    for share in _refund_allocation(original, list(original.refunds.all()), event.amount.minor, seed):
        if share["minor"] <= 0:
            continue
        share["index"] = len(shares)
        share["transfer_id"] = str(transfer_id(event.event_id, len(shares)))
        shares.append(share)
        specs.append(TransferSpec(
            id=uuid.UUID(share["transfer_id"]), debit_account=share["account_id"], credit_account=clearing,
            amount=share["minor"], code="refund", venture=event.venture, reference=event.event_id,
            metadata={**_metadata(version, share), "event_id": event.event_id, "refund_of": original.event_id},
        ))
    settlement = Settlement(
        event_id=event.event_id, venture=event.venture, kind=SettlementKind.REFUND,
        revenue_class=original.revenue_class, amount=event.amount.minor, currency=original.currency,
        rule_version=version, refund_of=original, occurred_at=event.occurred_at, seed=str(seed), shares=shares,
        context={}, created_by=actor, batch=uuid.uuid5(SETTLEMENT_NS, event.event_id),
    )
    return _Plan(settlement, specs)


def _existing(event_ids: Sequence[str]) -> dict[str, Settlement]:
    ids: Any = event_ids
    if connection.vendor == "postgresql" and len(event_ids) > 1:
        # One array parameter: psycopg spends more on a query with thousands of placeholders than PostgreSQL on it.
        ids = RawSQL("SELECT unnest(%s::text[])", [list(event_ids)])
    return {s.event_id: s for s in Settlement.objects.select_related("refund_of").filter(event_id__in=ids)}


@transaction.atomic
def settle(*, event_id: str, venture: Organisation, kind: str, revenue_class: str = RevenueClass.PRODUCT,
           amount: Money, occurred_at: datetime | None = None, actor: User | None, refund_of: str | None = None
           ) -> Settlement:
    """Settle one revenue event (or a refund of one) under the rule version in force; idempotent by `event_id`."""
    event = RevenueEvent(event_id=event_id, venture=venture, kind=kind, revenue_class=revenue_class, amount=amount,
                         occurred_at=occurred_at or timezone.now(), refund_of=refund_of)
    _check(event)
    ensure_can_settle(actor=actor, venture=venture)
    found = _existing([event_id]).get(event_id)
    if found is not None:
        return _same(found, event)
    accounts = Accounts()
    if kind == SettlementKind.REFUND:
        # Refunds of one sale are serialised by a lock on the sale's row; a retry of this very refund that waited
        # for it finds the refund settled and returns it (its shares would otherwise be computed anew).
        Settlement.objects.select_for_update().filter(event_id=refund_of).first()
        found = _existing([event_id]).get(event_id)
        if found is not None:
            return _same(found, event)
        plan = _plan_refund(event, accounts, actor)
    else:
        plan = _plan_sale(event, _versions([(venture, kind)])[(venture.pk, kind)], accounts, actor)
    transfers = transfers_create(transfers=plan.specs, actor=actor)
    plan.settlement.batch = transfers[0].batch
    try:
        with transaction.atomic():
            plan.settlement.save()
    except IntegrityError:  # settled meanwhile by another connection: the transfers above were its very own
        found = _existing([event_id]).get(event_id)
        if found is None:
            raise
        return _same(found, event)
    record_event(actor=actor, subject=plan.settlement, kind=f"settlement.{kind}", organisation=venture,
                 data={"event_id": event_id, "amount": amount.minor, "currency": amount.currency,
                       "rule_version": plan.settlement.rule_version.number,
                       "rule_hash": plan.settlement.rule_version.content_hash})
    return plan.settlement


@transaction.atomic
def settlements_bulk(*, events: Sequence[RevenueEvent], actor: User | None) -> list[Settlement]:
    """Settle many events in one transaction and ONE linked batch of transfers (for imports and the benchmark).

    Events already settled are checked (same content) and returned as they were; the rule text of each version in
    force is parsed once, accounts opened once. Refunds in a bulk call are settled one by one (they lock the sale).
    """
    for event in events:
        _check(event)
    for venture_id in {event.venture.pk for event in events}:
        ensure_can_settle(actor=actor, venture=next(e.venture for e in events if e.venture.pk == venture_id))
    if len({event.event_id for event in events}) != len(events):
        raise InvalidInput(detail=_("Each event of a bulk settlement needs its own id."))
    existing = _existing([event.event_id for event in events])
    results = {event.event_id: _same(existing[event.event_id], event) for event in events
               if event.event_id in existing}
    sales = [event for event in events if event.event_id not in existing and event.kind != SettlementKind.REFUND]
    wanted = {(event.venture.pk, event.kind): event.venture for event in sales}
    versions = _versions([(venture, kind) for (_pk, kind), venture in wanted.items()]) if sales else {}
    accounts = Accounts()
    if sales:
        organisations: set[int] = {accounts.platform().pk}
        people: set[int] = set()
        for prepared in versions.values():
            owners = prepared.owners()
            organisations |= owners[0]
            people |= owners[1]
        accounts.preload(organisations=organisations, people=people,
                         currencies={event.amount.currency for event in sales})
    plans: list[_Plan] = []
    specs: list[TransferSpec] = []
    with collector_paused():  # tens of thousands of young objects: see transfers_create
        if sales:
            plans, specs = _write_sales(sales, versions, accounts, actor)
    for plan in plans:
        results[plan.settlement.event_id] = plan.settlement
    for event in events:
        if event.kind == SettlementKind.REFUND and event.event_id not in results:
            results[event.event_id] = settle(
                event_id=event.event_id, venture=event.venture, kind=event.kind, revenue_class=event.revenue_class,
                amount=event.amount, occurred_at=event.occurred_at, actor=actor, refund_of=event.refund_of,
            )
    if plans:
        record_event(actor=actor, subject=plans[0].settlement, kind="settlement.bulk",
                     organisation=plans[0].settlement.venture if len(versions) == 1 else None,
                     data={"settled": len(plans), "transfers": len(specs)})
    return [results[event.event_id] for event in events]
