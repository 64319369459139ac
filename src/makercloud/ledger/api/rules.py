"""ledger on the HTTP API: value-sharing rules, settlements and payouts.

    POST   /rules/preview
    GET, POST /ventures/{id}/rules                 GET, PATCH, DELETE /ventures/{id}/rules/{rule_id}
    GET, POST /ventures/{id}/rules/{rule_id}/versions      GET …/versions/{number}
    PUT    /ventures/{id}/rules/{rule_id}/sets/{name}
    GET, POST /ledger/settlements                  GET /ledger/settlements/{id}
    GET, POST /ledger/payouts                      GET /ledger/payouts/{id}

A rule problem is a 422 `invalid-rule` with `line` and `column` (1-based). See docs/rules.md.

Who sees a settlement's shares: the venture's members and operators all of them; anyone else who may see it (a public
rule's, or a party of the rule) the amount, the rule, the party-group totals (`groups`) and only the shares paid to
them or to an organisation they belong to. `venture_id` is always a venture's id as in /ventures/{id};
`organisation_id` its organisation's.
"""

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from django.http import HttpRequest
from ninja import Field, Header, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, optional, requires, viewer
from makercloud.accounts.models import Organisation, User
from makercloud.core.errors import InvalidInput
from makercloud.core.money import Money
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, Instant, MoneyOut, Name
from makercloud.ledger.models.journal import Account
from makercloud.ledger.models.rules import Payout, Settlement, SharingRule
from makercloud.ledger.rules import Allocation, Member, allocate, rule_parse, seed_of
from makercloud.ledger.rules.allocation import Context
from makercloud.ledger.rules.errors import PayoutNotFound
from makercloud.ledger.selectors import rules as selectors
from makercloud.ledger.selectors.statements import SettlementView, settlement_groups, settlement_view
from makercloud.ledger.services import payouts as payout_services
from makercloud.ledger.services import rules as services
from makercloud.ledger.services import settlement as settlement_services
from makercloud.ventures import selectors as ventures_selectors

router = Router(tags=["ledger"])

RuleText = Annotated[str, Field(min_length=1, max_length=20_000, pattern=NO_NUL,
                                description="The rule in the split language (docs/rules.md).")]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217.")]
Minor = Annotated[int, Field(ge=0, le=10**15, description="Integer minor units (fen for CNY).")]
Positive = Annotated[int, Field(ge=1, le=10**15, description="Integer minor units (fen for CNY), more than zero.")]
EventId = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
SetName = Literal["co_creators", "suppliers", "investors"]
RevenueKind = Literal["sale", "subscription", "service"]


# Preview ----------------------------------------------------------------------------------------------------------


class PreviewMember(Input):
    label: Name
    weight: int = Field(..., ge=0, le=2**53)


class PreviewIn(Input):
    text: RuleText
    amount: Minor
    currency: Currency = "CNY"
    kind: RevenueKind = "sale"
    sets: dict[SetName, list[PreviewMember]] = Field(
        default_factory=dict, description="Members and weights of the named sets; a set left out is shown whole.")
    event_id: EventId | None = Field(None, description="Use this event's tie-break seed (sha256 of the id).")
    seed: int = Field(0, ge=0, le=2**64 - 1, description="The tie-break seed, when no event_id is given.")


class ShareOut(Schema):
    party: str
    member: str | None
    label: str
    line: int
    amount: int


class StepOut(Schema):
    line: int
    column: int
    source: str
    depth: int
    base: int = Field(..., description="The amount the line applied to (minor units).")
    how: str
    amount: int
    spare_unit: bool = Field(..., description="The line got one of the units left over by rounding (tie-break).")
    note: str
    members: list[dict[str, Any]]


class PreviewOut(Schema):
    amount: MoneyOut
    content_hash: str
    seed: str
    shares: list[ShareOut]
    steps: list[StepOut]


def _allocation_out(allocation: Allocation, *, content_hash: str, seed: int) -> dict[str, Any]:
    return {
        "amount": allocation.amount.as_json(), "content_hash": content_hash, "seed": str(seed),
        "shares": [{"party": s.party, "member": s.member, "label": s.label, "line": s.line, "amount": s.minor}
                   for s in allocation.shares],
        "steps": [{"line": s.line, "column": s.column, "source": s.source, "depth": s.depth, "base": s.base,
                   "how": s.how, "amount": s.minor, "spare_unit": s.spare_unit, "note": s.note, "members": s.members}
                  for s in allocation.steps],
    }


@router.post("/rules/preview", response=PreviewOut, auth=optional("ledger:read"), summary="Preview a rule")
def rule_preview(request: HttpRequest, body: PreviewIn) -> Any:
    """Who gets what of `amount` under a rule's text (nothing is saved). Anyone may call it."""
    rule = rule_parse(body.text)
    seed = seed_of(body.event_id) if body.event_id else body.seed
    sets: dict[str, list[Member]] = {name: [Member(f"{name}:{i + 1}", m.label, m.weight) for i, m in enumerate(members)]
            for name, members in body.sets.items()}
    allocation = allocate(rule, Money(body.amount, body.currency), kind=body.kind,
                          context=Context(sets=sets, seed=seed))
    return _allocation_out(allocation, content_hash=rule.content_hash, seed=seed)


# Rules ------------------------------------------------------------------------------------------------------------


class RuleVersionOut(Schema):
    number: int
    text: str
    content_hash: str = Field(..., description="sha256 of the text (UTF-8), hex.")
    kinds: list[str]
    effective_from: datetime
    created_at: datetime
    created_by_id: int | None


class SetMemberOut(Schema):
    key: str
    label: str
    weight: int


class RuleOut(Schema):
    id: int
    venture_id: int = Field(..., description="The venture (as in /ventures/{id}).")
    name: str
    public: bool
    retired_at: datetime | None
    latest: RuleVersionOut | None
    in_force: RuleVersionOut | None
    sets: dict[str, list[SetMemberOut]]


def _rule_out(rule: SharingRule, venture_id: int) -> dict[str, Any]:
    latest = rule.versions.order_by("-number").first()
    return {"id": rule.pk, "venture_id": venture_id, "name": rule.name, "public": rule.public,
            "retired_at": rule.retired_at, "latest": latest, "in_force": selectors.version_in_force(rule=rule),
            "sets": selectors.context_of(rule=rule)}


class RuleIn(Input):
    name: Name
    text: RuleText
    public: bool = False
    effective_from: Instant | None = None


class RulePatch(Input):
    public: bool


class VersionIn(Input):
    text: RuleText
    effective_from: Instant | None = Field(None, description="Default: now. Not in the past.")


class SetMemberIn(Input):
    organisation_id: Id | None = None
    person_id: Id | None = None
    weight: int = Field(..., ge=0, le=2**53, description="Points, BOM cost in minor units, or stake.")


class SetIn(Input):
    members: list[SetMemberIn] = Field(..., max_length=500)


def _venture(venture_id: int) -> Any:
    return ventures_selectors.venture_get(venture_id=venture_id)


@router.get("/ventures/{venture_id}/rules", response=list[RuleOut], auth=optional("ledger:read"),
            summary="A venture's sharing rules")
def rule_list(request: HttpRequest, venture_id: Id) -> Any:
    """The rules the caller may see: public ones to anyone; all to members, parties and operators."""
    venture = _venture(venture_id)
    return [_rule_out(rule, venture.pk)
            for rule in selectors.rules_of(viewer=viewer(request), venture=venture.organisation)]


@router.post("/ventures/{venture_id}/rules", response={201: RuleOut}, auth=requires("ledger:write"),
             summary="Create a sharing rule")
def rule_create(request: HttpRequest, venture_id: Id, body: RuleIn) -> Any:
    """A new rule with its first version (the venture's owners and administrators, or operators)."""
    venture = _venture(venture_id)
    version = services.rule_create(actor=caller(request), venture=venture.organisation, name=body.name,
                                   text=body.text, public=body.public, effective_from=body.effective_from)
    return Status(201, _rule_out(version.rule, venture.pk))


@router.get("/ventures/{venture_id}/rules/{rule_id}", response={200: RuleOut, **responses(403, 404)},
            auth=optional("ledger:read"), summary="A sharing rule")
def rule_detail(request: HttpRequest, venture_id: Id, rule_id: Id) -> Any:
    """A rule with its latest version, the version in force and its sets (403 when the caller may not see it)."""
    venture = _venture(venture_id)
    return _rule_out(selectors.rule_get(viewer=viewer(request), rule_id=rule_id, venture=venture.organisation),
                     venture.pk)


@router.patch("/ventures/{venture_id}/rules/{rule_id}", response=RuleOut, auth=requires("ledger:write"),
              summary="Make a rule public or not")
def rule_update(request: HttpRequest, venture_id: Id, rule_id: Id, body: RulePatch) -> Any:
    """Make a rule public (anyone may read and recompute it) or not; the venture's owners and administrators."""
    venture = _venture(venture_id)
    rule = selectors.rule_get(viewer=caller(request), rule_id=rule_id, venture=venture.organisation)
    latest = rule.versions.order_by("-number").first()
    services.rule_version_save(actor=caller(request), rule=rule, text=latest.text if latest else "",
                               public=body.public)
    rule.refresh_from_db()
    return _rule_out(rule, venture.pk)


@router.delete("/ventures/{venture_id}/rules/{rule_id}", response={204: None}, auth=requires("ledger:write"),
               summary="Retire a rule")
def rule_retire(request: HttpRequest, venture_id: Id, rule_id: Id) -> Any:
    """A retired rule is no longer in force; its versions and settlements stay, as published."""
    venture = _venture(venture_id)
    rule = selectors.rule_get(viewer=caller(request), rule_id=rule_id, venture=venture.organisation)
    services.rule_retire(actor=caller(request), rule=rule)
    return Status(204, None)


@router.get("/ventures/{venture_id}/rules/{rule_id}/versions", response=list[RuleVersionOut],
            auth=optional("ledger:read"), summary="A rule's versions, newest first")
def version_list(request: HttpRequest, venture_id: Id, rule_id: Id) -> Any:
    """Every saved version with its text and sha256, newest first."""
    venture = _venture(venture_id)
    rule = selectors.rule_get(viewer=viewer(request), rule_id=rule_id, venture=venture.organisation)
    return list(selectors.versions_of(rule=rule))


@router.post("/ventures/{venture_id}/rules/{rule_id}/versions", response={200: RuleVersionOut, 201: RuleVersionOut},
             auth=requires("ledger:write"), summary="Save a new version of a rule")
def version_create(request: HttpRequest, venture_id: Id, rule_id: Id, body: VersionIn) -> Any:
    """Every save is a new, immutable version with its sha256; the latest text again changes nothing (200)."""
    venture = _venture(venture_id)
    rule = selectors.rule_get(viewer=caller(request), rule_id=rule_id, venture=venture.organisation)
    before = rule.versions.count()
    version = services.rule_version_save(actor=caller(request), rule=rule, text=body.text,
                                         effective_from=body.effective_from)
    return Status(201 if rule.versions.count() > before else 200, version)


@router.get("/ventures/{venture_id}/rules/{rule_id}/versions/{number}", response=RuleVersionOut,
            auth=optional("ledger:read"), summary="One version of a rule, with its hash")
def version_detail(request: HttpRequest, venture_id: Id, rule_id: Id, number: Id) -> Any:
    """One version: its text, its sha256 `content_hash`, the kinds it shares and when it is in force from."""
    venture = _venture(venture_id)
    rule = selectors.rule_get(viewer=viewer(request), rule_id=rule_id, venture=venture.organisation)
    return selectors.version_get(rule=rule, number=number)


@router.put("/ventures/{venture_id}/rules/{rule_id}/sets/{name}", response=RuleOut, auth=requires("ledger:write"),
            summary="Set the members and weights of a rule's named set")
def set_update(request: HttpRequest, venture_id: Id, rule_id: Id, name: SetName, body: SetIn) -> Any:
    """Replace the members and weights of a named set: co-creators (people, by points), suppliers and investors
    (organisations, by BOM cost and stake). Past settlements keep the weights they used."""
    venture = _venture(venture_id)
    rule = selectors.rule_get(viewer=caller(request), rule_id=rule_id, venture=venture.organisation)
    members = []
    for item in body.members:
        if (item.organisation_id is None) == (item.person_id is None):
            raise InvalidInput(detail="Each member has an organisation_id or a person_id.")
        organisation = Organisation.objects.filter(pk=item.organisation_id).first() if item.organisation_id else None
        person = User.objects.filter(pk=item.person_id).first() if item.person_id else None
        if organisation is None and person is None:
            raise InvalidInput(detail=f"No such {'organisation' if item.organisation_id else 'person'}.")
        members.append(services.MemberSpec(organisation=organisation, person=person, weight=item.weight))
    services.party_set_update(actor=caller(request), rule=rule, name=name, members=members)
    return _rule_out(rule, venture.pk)


# Settlements ------------------------------------------------------------------------------------------------------


class SettlementIn(Input):
    event_id: EventId | None = Field(None, description="The revenue event's id; default: the Idempotency-Key.")
    venture_id: Id
    kind: Literal["sale", "subscription", "service", "refund"]
    revenue_class: Literal["product", "ecosystem"] = "product"
    amount: Positive
    currency: Currency
    occurred_at: Instant | None = None
    refund_of: EventId | None = Field(None, description="For a refund: the event id of the sale it refunds.")


class SettlementShareOut(Schema):
    index: int
    line: int
    party: str
    member: str | None
    label: str
    account_id: int
    amount: int
    transfer_id: str | None


class GroupTotalOut(Schema):
    party: str = Field(..., description="platform, venture, suppliers, co_creators or investors.")
    amount: int


class SettlementOut(Schema):
    id: int
    event_id: str
    venture_id: int | None = Field(..., description="The venture (as in /ventures/{id}).")
    organisation_id: int = Field(..., description="The venture's organisation (whose books the transfers are in).")
    kind: str
    revenue_class: str
    amount: MoneyOut
    rule_id: int
    rule_version: int
    rule_hash: str
    refund_of: str | None
    occurred_at: datetime
    created_at: datetime
    seed: str = Field(..., description="The tie-break seed: the first 8 bytes of sha256(event_id), unsigned.")
    batch: UUID
    view: Literal["full", "groups"] = Field(..., description=(
        "full: every share (the venture's members, operators); groups: the party-group totals, and only the "
        "shares paid to the caller or their organisations."))
    groups: list[GroupTotalOut] = Field(..., description="The shares summed per party group, for anyone.")
    shares: list[SettlementShareOut]


class SettlementTransferOut(Schema):
    id: UUID
    seq: int
    debit_account_id: int
    credit_account_id: int
    amount: int
    currency: str
    code: str
    hash: str


class RecomputeOut(Schema):
    matches: bool
    differences: list[str]
    steps: list[StepOut] | None = Field(None, description="How each line shared the amount (sales).")
    expected: list[dict[str, Any]]


class SettlementDetail(SettlementOut):
    rule_text: str
    transfers: list[SettlementTransferOut]
    recompute: RecomputeOut


def _settlement_out(s: Settlement, view: SettlementView) -> dict[str, Any]:
    return {
        "id": s.pk, "event_id": s.event_id, "venture_id": getattr(getattr(s.venture, "venture", None), "pk", None),
        "organisation_id": s.venture_id, "kind": s.kind,
        "revenue_class": s.revenue_class, "amount": {"amount": s.amount, "currency": s.currency},
        "rule_id": s.rule_version.rule_id, "rule_version": s.rule_version.number,
        "rule_hash": s.rule_version.content_hash, "refund_of": s.refund_of.event_id if s.refund_of_id else None,  # type: ignore[union-attr]
        "occurred_at": s.occurred_at, "created_at": s.created_at, "seed": s.seed, "batch": s.batch,
        "view": "full" if view.whole else "groups",
        "groups": [{"party": party, "amount": amount} for party, amount in settlement_groups(s).items()],
        "shares": [{**share, "amount": share["minor"], "transfer_id": share.get("transfer_id")}
                   for share in view.shares(s)],
    }


def _settlement_detail(s: Settlement, view: SettlementView) -> dict[str, Any]:
    recompute = selectors.settlement_recompute(settlement=s)
    steps = None
    if recompute.allocation is not None:
        steps = _allocation_out(recompute.allocation, content_hash="", seed=0)["steps"]
    expected = recompute.expected
    transfers = list(selectors.transfers_of(settlement=s))
    differences = recompute.differences
    if not view.whole:  # the shares by group: no member's name or amount but the caller's own
        steps = [{**step, "members": []} for step in steps] if steps is not None else None
        grouped: dict[tuple[int, str], int] = {}
        for share in expected:
            grouped[(share["line"], share["party"])] = grouped.get((share["line"], share["party"]), 0) + share["minor"]
        expected = [{"line": line, "party": party, "member": None, "minor": minor}
                    for (line, party), minor in grouped.items()]
        mine = {str(share.get("transfer_id")) for share in view.shares(s)}
        transfers = [transfer for transfer in transfers if str(transfer.pk) in mine]
        differences = ["the recomputed shares differ from the transfers in the journal"] if differences else []
    return {**_settlement_out(s, view), "rule_text": s.rule_version.text, "transfers": transfers,
            "recompute": {"matches": recompute.matches, "differences": differences, "steps": steps,
                          "expected": expected}}


@router.post("/ledger/settlements",
             response={200: SettlementDetail, 201: SettlementDetail, **responses(403, 404, 409)},
             auth=requires("ledger:write"), summary="Settle a revenue event")
def settlement_create(request: HttpRequest, body: SettlementIn,
                      idempotency_key: str | None = Header(None, alias="Idempotency-Key", max_length=200)) -> Any:
    """Share a sale, subscription or service fee under the venture's rule in force (or refund one in proportion).

    Operators and the venture's owners and administrators. Idempotent by `event_id` (or the Idempotency-Key): the
    same event again returns the original settlement (200); different content under it is a 409.
    """
    event_id = body.event_id or idempotency_key
    if not event_id:
        raise InvalidInput(detail="Give the event_id (or send an Idempotency-Key).")
    if body.event_id and idempotency_key and body.event_id != idempotency_key:
        raise InvalidInput(detail="The Idempotency-Key and the event_id differ.")
    venture = _venture(body.venture_id)
    known = Settlement.objects.filter(event_id=event_id).exists()
    settlement = settlement_services.settle(
        event_id=event_id, venture=venture.organisation, kind=body.kind, revenue_class=body.revenue_class,
        amount=Money(body.amount, body.currency), occurred_at=body.occurred_at, actor=caller(request),
        refund_of=body.refund_of,
    )
    person = caller(request)
    return Status(200 if known else 201,
                  _settlement_detail(settlement, settlement_view(viewer=person, settlement=settlement)))


class SettlementFilter(Schema):
    venture_id: Id | None = Field(None, description="Only this venture's (as in /ventures/{id}).")
    kind: Literal["sale", "subscription", "service", "refund"] | None = None


@router.get("/ledger/settlements", response=list[SettlementOut], auth=optional("ledger:read"),
            summary="Settlements the caller may see")
@paginate(CursorPage)
def settlement_list(request: HttpRequest, filters: Query[SettlementFilter]) -> Any:
    """Settlements of the caller's ventures, of rules naming the caller, and of public rules, newest first. Only the
    venture's members and operators see every share; others the group totals and their own shares (`view`)."""
    asker = viewer(request)
    settlements = selectors.settlements_visible(viewer=asker).select_related("venture__venture")
    if filters.venture_id:
        settlements = settlements.filter(venture__venture__pk=filters.venture_id)
    if filters.kind:
        settlements = settlements.filter(kind=filters.kind)
    views: dict[int, SettlementView] = {}

    def render(s: Settlement) -> dict[str, Any]:
        if s.venture_id not in views:
            views[s.venture_id] = settlement_view(viewer=asker, settlement=s)
        return _settlement_out(s, views[s.venture_id])

    return _Mapped(settlements.select_related("refund_of"), render)


class _Mapped:
    """A queryset whose page items are rendered by `render` (CursorPage slices and orders it)."""

    def __init__(self, queryset: Any, render: Any) -> None:
        self.queryset, self.render = queryset, render

    def order_by(self, *fields: str) -> "_Mapped":
        return _Mapped(self.queryset.order_by(*fields), self.render)

    def filter(self, **kwargs: Any) -> "_Mapped":
        return _Mapped(self.queryset.filter(**kwargs), self.render)

    def __getitem__(self, item: slice) -> list[Any]:
        return [_Row(self.render(row), row.pk) for row in self.queryset[item]]


class _Row(dict[str, Any]):
    def __init__(self, data: dict[str, Any], pk: int) -> None:
        super().__init__(data)
        self.pk = pk


@router.get("/ledger/settlements/{settlement_id}", response={200: SettlementDetail, **responses(404)},
            auth=optional("ledger:read"), summary="A settlement, its transfers and its recomputation")
def settlement_detail(request: HttpRequest, settlement_id: Id) -> Any:
    """Whoever may see the rule sees the settlement, the group totals and whether recomputing gives the same shares;
    every share and transfer only the venture's members and operators, others only their own."""
    asker = viewer(request)
    settlement = selectors.settlement_get(viewer=asker, settlement_id=settlement_id)
    return _settlement_detail(settlement, settlement_view(viewer=asker, settlement=settlement))


# Payouts ----------------------------------------------------------------------------------------------------------


class PayoutIn(Input):
    account_id: Id
    amount: Positive
    currency: Currency
    destination: Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL,
                                      description="Where the provider pays; the sandbox fails `sandbox:fail`.")]
    provider: Literal["sandbox"] = "sandbox"


class PayoutOut(Schema):
    id: UUID
    account_id: int
    amount: int
    currency: str
    destination: str
    provider: str
    provider_reference: str
    state: str
    failure: str
    pending_transfer_id: UUID
    created_at: datetime
    updated_at: datetime


@router.post("/ledger/payouts", response={200: PayoutOut, 201: PayoutOut, **responses(404, 409)},
             auth=requires("ledger:write"), summary="Withdraw to a payout provider")
def payout_create(request: HttpRequest, body: PayoutIn,
                  idempotency_key: str = Header("", alias="Idempotency-Key", max_length=200)) -> Any:
    """Hold the amount of one of your accounts (yours, or your organisation's as its owner or administrator) for a
    payout; it is paid when the provider confirms, released if it fails."""
    person = caller(request)
    account = Account.objects.filter(pk=body.account_id).first()
    if account is None or not selectors.can_withdraw(person=person, account=account):
        raise PayoutNotFound(detail="No such account of yours.")
    known = bool(idempotency_key) and Payout.objects.filter(requested_by=person,
                                                            idempotency_key=idempotency_key).exists()
    payout = payout_services.payout_request(actor=person, account=account, amount=Money(body.amount, body.currency),
                                            destination=body.destination, provider=body.provider,
                                            idempotency_key=idempotency_key)
    return Status(200 if known else 201, payout)


@router.get("/ledger/payouts", response=list[PayoutOut], auth=requires("ledger:read"),
            summary="Your payouts, newest first (at most 200)")
def payout_list(request: HttpRequest) -> Any:
    """Payouts from the accounts the caller may withdraw from, with their state."""
    return list(selectors.payouts_of(viewer=caller(request)).order_by("-created_at")[:200])


@router.get("/ledger/payouts/{payout_id}", response={200: PayoutOut, **responses(404)},
            auth=requires("ledger:read"), summary="A payout")
def payout_detail(request: HttpRequest, payout_id: UUID) -> Any:
    """One payout: its state, the provider's reference, why it failed."""
    return selectors.payout_get(viewer=caller(request), payout_id=payout_id)
