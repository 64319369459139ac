"""contracts reads, each checked against who asks: a party's members read the terms, the versions and the
timeline; operators read them too (they audit and hear disputes); anyone else sees only what policy makes public —
that a signed contract exists, its title and its parties — and nothing of a contract no version of which is signed.

Targets are measured from platform data: units sold and revenue from the ledger's Settlement rows of the venture,
active devices from the devices of the venture's models seen in the period, ratings from supplier ratings."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Avg, Exists, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Membership, Role, User
from makercloud.contracts.errors import ContractNotFound
from makercloud.contracts.models import (
    GENESIS,
    Contract,
    ContractState,
    ContractVersion,
    Metric,
    Milestone,
    MilestoneRecord,
    Party,
    Target,
)
from makercloud.core.models import Event

SIGNING_ROLES = (Role.OWNER, Role.ADMIN)


def contract_url(contract: Contract) -> str:
    return reverse("contracts:detail", args=[contract.pk])


def _person(viewer: Any) -> User | None:
    return viewer if isinstance(viewer, User) and viewer.is_authenticated else None


def party_filter(person: User) -> Q:
    """Contracts the person is a party to, or a member of a party organisation of."""
    orgs = Membership.objects.filter(person=person).values("organisation_id")
    return Q(parties__person=person) | Q(parties__organisation_id__in=orgs)


def is_party(*, contract: Contract, viewer: Any) -> bool:
    person = _person(viewer)
    return person is not None and Contract.objects.filter(party_filter(person), pk=contract.pk).exists()


def can_read_terms(*, contract: Contract, viewer: Any) -> bool:
    return is_party(contract=contract, viewer=viewer) or accounts_selectors.is_operator(person=_person(viewer))


def signable_parties(*, contract: Contract, person: User) -> list[Party]:
    """The parties this person signs for: themself, and organisations they own or administer (not operators as
    such: a signature binds a party)."""
    if not person.is_authenticated:
        return []
    managed = Membership.objects.filter(person=person, role__in=SIGNING_ROLES).values("organisation_id")
    return list(Party.objects.filter(Q(person=person) | Q(organisation_id__in=managed), contract=contract)
                .select_related("organisation", "person"))


def signers_of(*, contract: Contract, parties: list[Party] | None = None) -> list[User]:
    """Everyone who may sign for a party (told when a signature is needed and when all are in), or for one of
    `parties`."""
    parties = list(contract.parties.all()) if parties is None else parties
    people = {p.person_id for p in parties if p.person_id}
    orgs = [p.organisation_id for p in parties if p.organisation_id]
    people |= set(Membership.objects.filter(organisation_id__in=orgs, role__in=SIGNING_ROLES)
                  .values_list("person_id", flat=True))
    return list(User.objects.filter(pk__in=people, is_active=True).order_by("pk"))


def contracts_of(*, viewer: User, state: str | None = None) -> QuerySet[Contract]:
    """The contracts the viewer is a party to (operators: every contract), newest first."""
    contracts = Contract.objects.select_related("venture__venture", "current", "pending")
    if not accounts_selectors.is_operator(person=viewer):
        contracts = contracts.filter(pk__in=Contract.objects.filter(party_filter(viewer)).values("pk"))
    if state:
        contracts = contracts.filter(state=state)
    return contracts.order_by("-pk")


def contracts_public(*, organisation_id: int | None = None) -> QuerySet[Contract]:
    """Contracts the public may know of: those signed by every party at least once."""
    contracts = Contract.objects.filter(signed_at__isnull=False).select_related("venture").order_by("-pk")
    return contracts.filter(venture_id=organisation_id) if organisation_id else contracts


def contract_get(*, viewer: Any, contract_id: int) -> Contract:
    """A contract the viewer may see at all: a party's or an operator's any; the public's once signed."""
    contract = Contract.objects.select_related("venture", "current", "pending", "call").filter(pk=contract_id).first()
    if contract is None or not (contract.ever_signed or can_read_terms(contract=contract, viewer=viewer)):
        raise ContractNotFound()
    return contract


def parties_of(*, contract: Contract) -> list[Party]:
    return list(contract.parties.select_related("organisation", "person"))


def versions_of(*, contract: Contract) -> list[ContractVersion]:
    return list(contract.versions.prefetch_related("signatures__signer", "signatures__party").order_by("number"))


@dataclass(frozen=True)
class ChainCheck:
    valid: bool
    versions: int
    broken_at: int | None  # the first version whose hash or link does not hold


def chain_verify(*, contract: Contract) -> ChainCheck:
    """Recompute every version's hash from its terms and the previous hash; numbers must run 1, 2, 3 …"""
    from makercloud.contracts.services import chain_hash

    prev = GENESIS
    versions = list(contract.versions.order_by("number"))
    for expected, version in enumerate(versions, start=1):
        if version.number != expected or version.prev_hash != prev or chain_hash(version.terms, prev) != version.hash:
            return ChainCheck(False, len(versions), version.number)
        prev = version.hash
    return ChainCheck(True, len(versions), None)


def timeline_of(*, contract: Contract, viewer: Any) -> QuerySet[Event]:
    """The contract's steps: all of them for those who read the terms (not the refused signing attempts), the public
    ones (signed) for anyone else."""
    events = Event.objects.filter(subject_type="contract", subject_id=str(contract.pk)).select_related("actor")
    if can_read_terms(contract=contract, viewer=viewer):
        return events.exclude(kind="contract.signature_refused")
    return events.filter(public=True)


# Measuring targets from platform data ----------------------------------------------------------------------------


def target_measure(*, target: Target, until: datetime | None = None) -> int:
    """The target's value over [period_start, min(period_end, until)): units sold (sales settled, less those fully
    refunded), active devices (devices of the venture's models seen in the period), revenue (minor units settled,
    less refunds, in the target's currency), rating (mean stars × 100 of the rated supplier in the period; 0 when
    unrated)."""
    from makercloud.calls.models.kinds import SupplierRating
    from makercloud.devices.models import Device, TelemetryPoint
    from makercloud.ledger.models import Settlement

    venture_id = target.version.contract.venture_id
    start = target.period_start
    end = min(target.period_end, until) if until else target.period_end
    if end <= start:
        return 0
    if target.metric in (Metric.UNITS_SOLD, Metric.REVENUE):
        settled = Settlement.objects.filter(venture_id=venture_id, occurred_at__gte=start, occurred_at__lt=end)
        if target.metric == Metric.UNITS_SOLD:
            sales = settled.filter(kind="sale").annotate(
                refunded=Coalesce(Sum("refunds__amount", filter=Q(refunds__occurred_at__lt=end)), 0))
            return sales.exclude(refunded__gte=F("amount")).count()
        settled = settled.filter(currency=target.currency)
        totals = settled.aggregate(
            revenue=Coalesce(Sum("amount", filter=~Q(kind="refund")), 0),
            refunds=Coalesce(Sum("amount", filter=Q(kind="refund")), 0))
        return int(totals["revenue"]) - int(totals["refunds"])
    if target.metric == Metric.ACTIVE_DEVICES:
        seen = TelemetryPoint.objects.filter(device_id=OuterRef("pk"), ts__gte=start, ts__lt=end)
        return (Device.objects.filter(model__organisation_id=venture_id)
                .filter(Q(last_seen_at__gte=start, last_seen_at__lt=end) | Exists(seen)).count())
    if target.metric == Metric.RATING and target.party is not None and target.party.organisation_id:
        mean = SupplierRating.objects.filter(supplier_id=target.party.organisation_id, created_at__gte=start,
                                             created_at__lt=end).aggregate(mean=Avg("stars"))["mean"]
        return round(mean * 100) if mean is not None else 0
    return 0


def targets_measured(*, version: ContractVersion) -> list[tuple[Target, int]]:
    return [(target, target_measure(target=target)) for target in version.targets.select_related("party").all()]


@dataclass
class MilestoneActual:
    """A milestone of the terms with its actual: the latest record every other party confirmed (what counts), the
    latest record still awaiting confirmation (newer than that), and every record of it, oldest first."""

    milestone: Milestone
    actual: MilestoneRecord | None
    awaiting: MilestoneRecord | None
    records: list[MilestoneRecord]
    confirmable: list[Party]  # the parties the viewer may still confirm the awaiting record for

    @property
    def late(self) -> bool:
        return self.actual is not None and self.actual.done_on > self.milestone.due_on


def milestones_of(*, contract: Contract, version: ContractVersion, viewer: Any = None) -> list[MilestoneActual]:
    """The version's milestones, plan against actual, from the contract's records (kept across versions)."""
    records: dict[str, list[MilestoneRecord]] = {}
    for record in (MilestoneRecord.objects.filter(contract=contract).select_related("party__organisation",
                                                                                   "party__person", "recorded_by")
                   .prefetch_related("confirmations__party__organisation", "confirmations__party__person",
                                     "confirmations__person").order_by("pk")):
        records.setdefault(record.key, []).append(record)
    person = _person(viewer)
    mine = signable_parties(contract=contract, person=person) if person is not None else []
    actuals = []
    for milestone in version.milestones.all():
        history = records.get(milestone.key, [])
        actual = next((r for r in reversed(history) if r.confirmed_at is not None), None)
        awaiting = history[-1] if history and history[-1].confirmed_at is None else None
        confirmable: list[Party] = []
        if awaiting is not None:
            done = {c.party_id for c in awaiting.confirmations.all()} | {awaiting.party_id}
            confirmable = [p for p in mine if p.pk not in done]
        actuals.append(MilestoneActual(milestone, actual, awaiting, history, confirmable))
    return actuals


def venture_id_of(contract: Contract) -> int | None:
    """The ventures.Venture id of the contract's venture organisation (None for the platform's own contracts)."""
    from makercloud.ventures.models import Venture

    return Venture.objects.filter(organisation_id=contract.venture_id).values_list("pk", flat=True).first()


def state_label(contract: Contract) -> str:
    return str(ContractState(contract.state).label)
