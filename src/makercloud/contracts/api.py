"""contracts on the HTTP API.

    GET, POST /contracts                         your contracts · draw one up directly (a venture you manage)
    GET /contracts/{id}                          the terms for its parties (and operators); the public view otherwise
    POST /contracts/{id}/sign                    sign the version awaiting signatures (password again)
    POST /contracts/{id}/amendments              propose new terms: every party signs again
    GET /contracts/{id}/versions                 the hash-chained versions with their signatures and the chain check
    GET /contracts/{id}/timeline                 its steps (public ones for the public)
    POST /contracts/{id}/milestones/{key}        record a milestone as met (counts once the other parties confirm)
    POST /contracts/{id}/milestone-records/{record_id}/confirm   confirm another party's milestone record
    POST /contracts/{id}/bet-ons/{key}/evaluate  measure a clause's target and decide it (its transfer moves)

`venture_id` is always a ventures.Venture id (as in /ventures/{id}); the venture's organisation is
`organisation_id`.
"""

from datetime import date, datetime
from typing import Annotated, Any, Literal

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, optional, requires, viewer
from makercloud.contracts import selectors, services
from makercloud.contracts.errors import InvalidTerms
from makercloud.contracts.models import Contract, ContractState, Metric, Party
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, Instant, LongText
from makercloud.ledger.models import RuleVersion
from makercloud.ventures import selectors as ventures_selectors

router = Router(tags=["contracts"])

Key = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")]
Short = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Clause = Annotated[str, Field(min_length=1, max_length=2000, pattern=NO_NUL)]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class ContractPartyOut(Schema):
    id: int
    key: str
    role: str
    name: str
    organisation_id: int | None
    person_id: int | None


class ContractSignatureOut(Schema):
    party: str = Field(..., description="The party's key.")
    signer: str = Field(..., description="The name of the person who signed.")
    version_hash: str
    signed_at: datetime

    @staticmethod
    def resolve_party(signature: Any) -> str:
        return str(signature.party.key)

    @staticmethod
    def resolve_signer(signature: Any) -> str:
        return str(signature.signer.name)


class ContractVersionOut(Schema):
    number: int
    state: str
    hash: str
    prev_hash: str
    reason: str
    terms: dict[str, Any] = Field(..., description="Hash = sha256(canonical JSON of terms + prev_hash).")
    created_at: datetime
    signed_at: datetime | None
    signatures: list[ContractSignatureOut]

    @staticmethod
    def resolve_signatures(version: Any) -> list[Any]:
        return list(version.signatures.all())


class ContractTargetOut(Schema):
    key: str
    metric: Metric
    threshold: int
    currency: str
    period_start: datetime
    period_end: datetime
    measured: int = Field(..., description="Measured now from platform data.")


class MilestoneRecordOut(Schema):
    id: int
    key: str = Field(..., description="The milestone's key.")
    done_on: date
    evidence: str
    party: str | None = Field(..., description="The key of the party that recorded it.")
    recorded_by: str | None
    recorded_at: datetime
    confirmed_by: list[str] = Field(..., description="The keys of the parties that confirmed it.")
    confirmed_at: datetime | None = Field(..., description="When every other party had confirmed it: it counts.")

    @staticmethod
    def resolve_party(record: Any) -> str | None:
        return record.party.key if record.party_id else None

    @staticmethod
    def resolve_recorded_by(record: Any) -> str | None:
        return str(record.recorded_by.name) if record.recorded_by_id else None

    @staticmethod
    def resolve_confirmed_by(record: Any) -> list[str]:
        return [c.party.key for c in record.confirmations.all()]


class ContractMilestoneOut(Schema):
    key: str
    title: str
    due_on: date
    amount: int | None
    currency: str
    done_on: date | None = Field(..., description="The actual: when it was met, as confirmed by every other party.")
    evidence: str
    awaiting: MilestoneRecordOut | None = Field(..., description="A newer record awaiting confirmation.")
    records: list[MilestoneRecordOut] = Field(..., description="Every record, oldest first (none is changed).")


class ContractTransferOut(Schema):
    from_: str = Field(..., alias="from", description="The paying party's key.")
    to: str = Field(..., description="The paid party's key.")
    amount: int = Field(..., description="Minor units.")
    currency: str
    code: str


class ContractBetOnOut(Schema):
    key: str
    target: str
    by: datetime
    if_met: str
    otherwise: str
    if_met_transfer: ContractTransferOut | None
    otherwise_transfer: ContractTransferOut | None
    outcome: str
    measured: int | None
    evaluated_at: datetime | None
    transfer_id: str | None = Field(..., description="The ledger transfer the outcome made.")
    transfer_error: str = Field(..., description="Why the ledger refused it for now (retried hourly).")


class ContractSummary(Schema):
    id: int
    title: str
    venture_id: int | None = Field(..., description="The ventures.Venture id (null: the platform's own).")
    organisation_id: int = Field(..., description="The venture's organisation.")
    venture_name: str = Field(..., alias="venture.name")
    state: ContractState
    call_id: int | None
    signed_at: datetime | None = Field(..., description="When every party first signed.")

    @staticmethod
    def resolve_venture_id(contract: Any) -> int | None:
        venture = getattr(contract.venture, "venture", None)
        return venture.pk if venture is not None else None

    @staticmethod
    def resolve_organisation_id(contract: Any) -> int:
        return int(contract.venture_id)


class ContractOut(Schema):
    id: int
    title: str
    venture_id: int | None = Field(..., description="The ventures.Venture id (null: the platform's own).")
    organisation_id: int = Field(..., description="The venture's organisation.")
    venture_name: str
    state: ContractState
    call_id: int | None
    signed_at: datetime | None = Field(..., description="When every party first signed.")
    parties: list[ContractPartyOut]
    full: bool = Field(..., description="False: the public view (parties and that it is signed, no terms).")
    in_force: ContractVersionOut | None = Field(None, description="The terms in force (parties only).")
    awaiting: ContractVersionOut | None = Field(None, description="The version awaiting signatures (parties only).")
    targets: list[ContractTargetOut] | None = None
    milestones: list[ContractMilestoneOut] | None = None
    bet_ons: list[ContractBetOnOut] | None = None
    chain_valid: bool | None = None


class ContractPartyIn(Input):
    key: Key
    role: Short
    organisation_id: Id | None = None
    person_id: Id | None = None
    contributions: LongText = ""


class ContractTargetIn(Input):
    key: Key
    metric: Metric
    threshold: int = Field(..., ge=1, le=10**15)
    from_: Instant = Field(..., alias="from")
    until: Instant
    currency: Currency | None = Field(None, description="For revenue.")
    party: Key | None = Field(None, description="For rating: the rated party's key.")


class ContractMilestoneIn(Input):
    key: Key
    title: Short
    due: date
    amount: int | None = Field(None, ge=0, le=10**15)
    currency: Currency | None = None


class ContractTransferIn(Input):
    from_: Key = Field(..., alias="from", description="The paying party's key.")
    to: Key = Field(..., description="The paid party's key.")
    amount: int = Field(..., ge=1, le=10**15, description="Minor units.")
    currency: Currency
    code: Literal["funding", "reward", "service", "adjustment"] = "adjustment"


class ContractBetOnIn(Input):
    key: Key
    target: Key
    by: Instant
    if_met: Clause
    otherwise: Clause
    if_met_transfer: ContractTransferIn | None = Field(None, description="Moved through the ledger if met.")
    otherwise_transfer: ContractTransferIn | None = Field(None, description="Moved through the ledger otherwise.")


class ContractIn(Input):
    venture_id: Id = Field(..., description="A venture (ventures.Venture id) you own or administer; its "
                                           "organisation is one of the parties.")
    title: Short
    text: Annotated[str, Field(max_length=50_000, pattern=NO_NUL)] = ""
    parties: list[ContractPartyIn] = Field(..., min_length=2, max_length=20)
    targets: list[ContractTargetIn] = Field(default_factory=list, max_length=50)
    milestones: list[ContractMilestoneIn] = Field(default_factory=list, max_length=50)
    bet_ons: list[ContractBetOnIn] = Field(default_factory=list, max_length=50)
    rule_version_id: Id | None = Field(None, description="The venture's value-sharing rule version (ledger).")


class ContractSignIn(Input):
    password: Annotated[str, Field(min_length=1, max_length=200)] = Field(..., description="Your password, again.")
    version_hash: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")] = Field(
        ..., description="The hash of the version you read and sign.")
    party_id: Id | None = Field(None, description="Which party you sign for, when you sign for more than one.")


class ContractAmendmentIn(Input):
    reason: Annotated[str, Field(min_length=1, max_length=4000, pattern=NO_NUL)]
    text: Annotated[str, Field(max_length=50_000, pattern=NO_NUL)] | None = None
    contributions: dict[Key, LongText] | None = None
    targets: list[ContractTargetIn] | None = Field(None, max_length=50)
    milestones: list[ContractMilestoneIn] | None = Field(None, max_length=50)
    bet_ons: list[ContractBetOnIn] | None = Field(None, max_length=50)
    rule_version_id: Id | None = None
    unbind_rule: bool = False


class ContractMilestoneDoneIn(Input):
    done_on: date
    evidence: Annotated[str, Field(min_length=1, max_length=4000, pattern=NO_NUL)]
    party_id: Id | None = Field(None, description="Which party you record for, when you sign for more than one.")


class ContractMilestoneConfirmIn(Input):
    party_id: Id | None = Field(None, description="Which party you confirm for, when you sign for more than one.")


class ContractEventOut(Schema):
    kind: str
    created_at: datetime
    data: dict[str, Any]


class ContractFilters(Schema):
    state: ContractState | None = None


def _version(version: Any) -> Any:
    return None if version is None else selectors.versions_of(contract=version.contract)[version.number - 1]


def _bet_on(clause: Any) -> dict[str, Any]:
    return {"key": clause.key, "target": clause.target.key, "by": clause.by, "if_met": clause.if_met,
            "otherwise": clause.otherwise, "if_met_transfer": clause.if_met_transfer,
            "otherwise_transfer": clause.otherwise_transfer, "outcome": clause.outcome, "measured": clause.measured,
            "evaluated_at": clause.evaluated_at, "transfer_id": str(clause.transfer_id) if clause.transfer_id else None,
            "transfer_error": clause.transfer_error}


def _milestone(actual: selectors.MilestoneActual) -> dict[str, Any]:
    m = actual.milestone
    return {"key": m.key, "title": m.title, "due_on": m.due_on, "amount": m.amount, "currency": m.currency,
            "done_on": actual.actual.done_on if actual.actual else None,
            "evidence": actual.actual.evidence if actual.actual else "", "awaiting": actual.awaiting,
            "records": actual.records}


def _party(contract: Contract, party_id: int | None) -> Party | None:
    if party_id is None:
        return None
    party = contract.parties.filter(pk=party_id).first()
    if party is None:
        raise InvalidTerms(detail="There is no such party in this contract.")
    return party


def _out(contract: Contract, who: Any) -> dict[str, Any]:
    full = selectors.can_read_terms(contract=contract, viewer=who)
    out: dict[str, Any] = {
        "id": contract.pk, "title": contract.title, "venture_id": selectors.venture_id_of(contract),
        "organisation_id": contract.venture_id, "venture_name": contract.venture.name, "state": contract.state,
        "call_id": contract.call_id, "signed_at": contract.signed_at,
        "parties": [{"id": p.pk, "key": p.key, "role": p.role, "name": p.name, "organisation_id": p.organisation_id,
                     "person_id": p.person_id} for p in selectors.parties_of(contract=contract)],
        "full": full,
    }
    if full:
        out["in_force"] = _version(contract.current)
        out["awaiting"] = _version(contract.pending)
        shown = contract.current or contract.pending
        if shown is not None:
            out["targets"] = [{**{f: getattr(t, f) for f in ("key", "metric", "threshold", "currency",
                                                              "period_start", "period_end")}, "measured": value}
                              for t, value in selectors.targets_measured(version=shown)]
            out["milestones"] = [_milestone(m) for m in selectors.milestones_of(contract=contract, version=shown)]
            out["bet_ons"] = [_bet_on(b) for b in shown.bet_ons.select_related("target")]
        out["chain_valid"] = selectors.chain_verify(contract=contract).valid
    return out


def _specs(items: list[Any] | None) -> list[dict[str, Any]] | None:
    return None if items is None else [item.model_dump(by_alias=True, exclude_none=True) for item in items]


def _rule_version(rule_version_id: int | None) -> RuleVersion | None:
    if rule_version_id is None:
        return None
    found = RuleVersion.objects.select_related("rule").filter(pk=rule_version_id).first()
    if found is None:
        raise InvalidTerms(detail="There is no such rule version.")
    return found


@router.get("/contracts", response=list[ContractSummary], auth=requires("contracts:read"), summary="Your contracts")
@paginate(CursorPage)
def contracts_list(request: HttpRequest, filters: Query[ContractFilters]) -> Any:
    """The contracts you are a party to (or a member of a party organisation of), newest first; operators: all."""
    return selectors.contracts_of(viewer=caller(request), state=filters.state)


@router.post("/contracts", response={201: ContractOut, **responses(403, 404, 422)}, auth=requires("contracts:write"),
             summary="Draw up a contract")
def contract_create(request: HttpRequest, body: ContractIn) -> Any:
    """A contract of a venture you own or administer, with its parties (the venture among them), targets,
    milestones, bet-on clauses and value-sharing rule. Every party's signers are asked to sign version 1."""
    venture = ventures_selectors.venture_get(venture_id=body.venture_id)
    contract = services.contract_create(
        actor=caller(request), venture=venture.organisation, title=body.title, text=body.text,
        parties=_specs(body.parties) or [], targets=_specs(body.targets) or [],
        milestones=_specs(body.milestones) or [], bet_ons=_specs(body.bet_ons) or [],
        rule_version=_rule_version(body.rule_version_id))
    return Status(201, _out(contract, caller(request)))


@router.get("/contracts/{contract_id}", response={200: ContractOut, **responses(404)},
            auth=optional("contracts:read"), summary="A contract")
def contract_get(request: HttpRequest, contract_id: Id) -> Any:
    """Its parties see the terms in force, the version awaiting signatures, targets measured now, milestones (plan
    and actual) and clauses; anyone else sees a signed contract's parties and that it is signed (`full` false)."""
    who = viewer(request)
    return _out(selectors.contract_get(viewer=who, contract_id=contract_id), who)


@router.post("/contracts/{contract_id}/sign", response={200: ContractOut, **responses(403, 404, 409, 422, 429)},
             auth=requires("contracts:write"), summary="Sign a contract")
def contract_sign(request: HttpRequest, contract_id: Id, body: ContractSignIn) -> Any:
    """Sign the version awaiting signatures with your password (re-authentication), for a party you are or own or
    administer. `version_hash` is the hash you read: if the terms changed meanwhile, 409. Five wrong passwords in
    15 minutes: 429."""
    who = caller(request)
    contract = selectors.contract_get(viewer=who, contract_id=contract_id)
    services.contract_sign(contract=contract, actor=who, password=body.password, version_hash=body.version_hash,
                           party=_party(contract, body.party_id))
    return _out(selectors.contract_get(viewer=who, contract_id=contract_id), who)


@router.post("/contracts/{contract_id}/amendments", response={201: ContractVersionOut, **responses(403, 404, 409, 422)},
             auth=requires("contracts:write"), summary="Propose an amendment")
def contract_amend(request: HttpRequest, contract_id: Id, body: ContractAmendmentIn) -> Any:
    """New terms (what you omit is kept; the parties stay) as a new version chained to the last. Every party signs
    it again; until then the terms in force stay."""
    who = caller(request)
    contract = selectors.contract_get(viewer=who, contract_id=contract_id)
    version = services.contract_amend(
        contract=contract, actor=who, reason=body.reason, text=body.text, contributions=body.contributions,
        targets=_specs(body.targets), milestones=_specs(body.milestones), bet_ons=_specs(body.bet_ons),
        rule_version=_rule_version(body.rule_version_id), unbind_rule=body.unbind_rule)
    return Status(201, _version(version))


@router.get("/contracts/{contract_id}/versions", response={200: list[ContractVersionOut], **responses(404)},
            auth=requires("contracts:read"), summary="A contract's versions")
def contract_versions(request: HttpRequest, contract_id: Id) -> Any:
    """Every version with its terms, hashes and signatures, oldest first (parties and operators)."""
    who = caller(request)
    contract = selectors.contract_get(viewer=who, contract_id=contract_id)
    if not selectors.can_read_terms(contract=contract, viewer=who):
        raise selectors.ContractNotFound()
    return selectors.versions_of(contract=contract)


@router.get("/contracts/{contract_id}/timeline", response={200: list[ContractEventOut], **responses(404)},
            auth=optional("contracts:read"), summary="A contract's timeline")
@paginate(CursorPage)
def contract_timeline(request: HttpRequest, contract_id: Id) -> Any:
    """Its steps, newest first: all of them for its parties, that it was signed for anyone else."""
    who = viewer(request)
    return selectors.timeline_of(contract=selectors.contract_get(viewer=who, contract_id=contract_id), viewer=who)


@router.post("/contracts/{contract_id}/milestones/{key}",
             response={201: MilestoneRecordOut, **responses(403, 404, 409, 422)},
             auth=requires("contracts:write"), summary="Record a milestone as met")
def milestone_record(request: HttpRequest, contract_id: Id, key: Key, body: ContractMilestoneDoneIn) -> Any:
    """A party's signer records when a milestone of the terms in force was met, with evidence. It counts once
    every other party has confirmed it; a correction is a new record (none is changed)."""
    who = caller(request)
    contract = selectors.contract_get(viewer=who, contract_id=contract_id)
    return Status(201, services.milestone_record(contract=contract, actor=who, key=key, done_on=body.done_on,
                                                 evidence=body.evidence, party=_party(contract, body.party_id)))


@router.post("/contracts/{contract_id}/milestone-records/{record_id}/confirm",
             response={200: MilestoneRecordOut, **responses(403, 404, 409, 422)},
             auth=requires("contracts:write"), summary="Confirm a milestone record")
def milestone_confirm(request: HttpRequest, contract_id: Id, record_id: Id, body: ContractMilestoneConfirmIn) -> Any:
    """Another party's signer confirms a milestone's latest record; once every party but the recording one has,
    `confirmed_at` is set and it is the milestone's actual."""
    who = caller(request)
    contract = selectors.contract_get(viewer=who, contract_id=contract_id)
    return services.milestone_confirm(contract=contract, actor=who, record_id=record_id,
                                      party=_party(contract, body.party_id))


@router.post("/contracts/{contract_id}/bet-ons/{key}/evaluate",
             response={200: ContractBetOnOut, **responses(403, 404, 409, 422)}, auth=requires("contracts:write"),
             summary="Decide a bet-on clause")
def bet_on_evaluate(request: HttpRequest, contract_id: Id, key: Key) -> Any:
    """Measure the clause's target from platform data: met → decided as met at once; missed only once its date has
    passed (409 before). The outcome's transfer, if the clause names one, moves through the ledger once
    (`transfer_id`); a refusal is kept in `transfer_error` and retried. The scheduler decides the due ones by
    itself."""
    who = caller(request)
    contract = selectors.contract_get(viewer=who, contract_id=contract_id)
    return _bet_on(services.bet_on_evaluate(contract=contract, key=key, actor=who))
