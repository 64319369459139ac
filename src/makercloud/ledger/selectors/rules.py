"""ledger selectors (reads): sharing rules, the version in force, settlements and their recomputation, payouts —
each checked against who asks."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Membership, Organisation, User
from makercloud.core.money import Money
from makercloud.ledger.models.journal import Account, Transfer
from makercloud.ledger.models.rules import PartyMember, PartySet, Payout, RuleVersion, Settlement, SharingRule
from makercloud.ledger.rules import Allocation, Context, Member, allocate, rule_parse
from makercloud.ledger.rules.errors import (
    NoRuleInForce,
    NotRuleViewer,
    PayoutNotFound,
    RuleNotFound,
    RuleVersionNotFound,
    SettlementNotFound,
)


def _person(viewer: Any) -> User | None:
    return viewer if viewer is not None and getattr(viewer, "is_authenticated", False) else None


def _party_ids(rule: SharingRule) -> tuple[set[int], set[int]]:
    """The organisations and people named in the rule's sets."""
    orgs: set[int] = set()
    people: set[int] = set()
    for party_set in rule.sets.prefetch_related("members"):
        for member in party_set.members.all():
            if member.organisation_id:
                orgs.add(member.organisation_id)
            if member.person_id:
                people.add(member.person_id)
    return orgs, people


def can_view_rule(*, viewer: Any, rule: SharingRule) -> bool:
    """The venture's members, the rule's parties (set members, and people of member organisations), operators; a
    public rule: anyone."""
    if rule.public:
        return True
    person = _person(viewer)
    if person is None:
        return False
    if accounts_selectors.is_operator(person=person):
        return True
    if Membership.objects.filter(person=person, organisation_id=rule.venture_id).exists():
        return True
    orgs, people = _party_ids(rule)
    return person.pk in people or Membership.objects.filter(person=person, organisation_id__in=orgs).exists()


def ensure_can_view_rule(*, viewer: Any, rule: SharingRule) -> None:
    if not can_view_rule(viewer=viewer, rule=rule):
        raise NotRuleViewer()


def rules_of(*, viewer: Any, venture: Organisation) -> list[SharingRule]:
    rules = SharingRule.objects.filter(venture=venture).select_related("venture").order_by("retired_at", "name")
    return [rule for rule in rules if can_view_rule(viewer=viewer, rule=rule)]


def rule_get(*, viewer: Any, rule_id: int, venture: Organisation | None = None) -> SharingRule:
    rule = SharingRule.objects.select_related("venture").filter(pk=rule_id).first()
    if rule is None or (venture is not None and rule.venture_id != venture.pk):
        raise RuleNotFound()
    ensure_can_view_rule(viewer=viewer, rule=rule)
    return rule


def versions_of(*, rule: SharingRule) -> QuerySet[RuleVersion]:
    return rule.versions.select_related("created_by").order_by("-number")


def version_get(*, rule: SharingRule, number: int) -> RuleVersion:
    version = rule.versions.select_related("created_by").filter(number=number).first()
    if version is None:
        raise RuleVersionNotFound()
    return version


def version_in_force(*, rule: SharingRule, at: datetime | None = None) -> RuleVersion | None:
    return rule.versions.filter(effective_from__lte=at or timezone.now()).order_by("-number").first()


def rule_in_force(*, venture: Organisation, kind: str, at: datetime | None = None) -> RuleVersion:
    """The version that shares `kind` revenue of the venture now: of its live rules, the latest version in force
    (effective_from passed) whose text has a section for the kind (or `split any`)."""
    return rules_in_force(wanted=[(venture, kind)], at=at)[(venture.pk, kind)]


def rules_in_force(
    *, wanted: Iterable[tuple[Organisation, str]], at: datetime | None = None
) -> dict[tuple[int, str], RuleVersion]:
    """`rule_in_force` of each (venture, kind) in two queries: {(venture id, kind): version}, each version with its
    rule. NoRuleInForce for the first one that has none."""
    at = at or timezone.now()
    wanted = list(wanted)
    rules = list(SharingRule.objects.filter(venture_id__in={venture.pk for venture, _kind in wanted},
                                            retired_at=None).order_by("id"))
    latest: dict[int, RuleVersion] = {}
    for version in RuleVersion.objects.filter(rule__in=rules, effective_from__lte=at).order_by("rule_id", "-number"):
        latest.setdefault(version.rule_id, version)
    found: dict[tuple[int, str], RuleVersion] = {}
    for venture, kind in wanted:
        for rule in rules:
            in_force = latest.get(rule.pk)
            if rule.venture_id == venture.pk and in_force is not None and kind in in_force.kinds:
                in_force.rule = rule
                found[(venture.pk, kind)] = in_force
                break
        else:
            raise NoRuleInForce(detail=f"{venture.name} has no sharing rule in force for {kind} revenue.")
    return found


def context_of(*, rule: SharingRule) -> dict[str, list[dict[str, Any]]]:
    """The rule's sets as they are now: {set: [{key, label, weight}, …]} — what a settlement keeps."""
    return contexts_of(rules=[rule])[rule.pk]


def contexts_of(*, rules: Iterable[SharingRule]) -> dict[int, dict[str, list[dict[str, Any]]]]:
    """`context_of` of each rule in two queries: {rule id: sets}."""
    contexts: dict[int, dict[str, list[dict[str, Any]]]] = {rule.pk: {} for rule in rules}
    members = Prefetch("members", queryset=PartyMember.objects.select_related("organisation", "person").order_by("id"))
    for party_set in PartySet.objects.filter(rule_id__in=contexts).prefetch_related(members).order_by("name"):
        contexts[party_set.rule_id][party_set.name] = [
            {"key": m.key, "label": str(m.organisation or m.person), "weight": m.weight}
            for m in party_set.members.all()
        ]
    return contexts


def context_from(sets: dict[str, list[dict[str, Any]]], *, seed: int, require_members: bool = False) -> Context:
    return Context(
        sets={name: [Member(m["key"], m["label"], int(m["weight"])) for m in members]
              for name, members in sets.items()},
        seed=seed, require_members=require_members,
    )


# Settlements ----------------------------------------------------------------------------------------------------


def settlements_visible(*, viewer: Any) -> QuerySet[Settlement]:
    """Settlements of ventures the viewer belongs to, of rules that name the viewer (or their organisation), of
    public rules; operators see all."""
    settlements = Settlement.objects.select_related("venture", "rule_version__rule")
    person = _person(viewer)
    if person is not None and accounts_selectors.is_operator(person=person):
        return settlements
    public = Q(rule_version__rule__public=True)
    if person is None:
        return settlements.filter(public)
    orgs = Membership.objects.filter(person=person).values("organisation_id")
    return settlements.filter(
        public | Q(venture_id__in=orgs) | Q(rule_version__rule__sets__members__person=person)
        | Q(rule_version__rule__sets__members__organisation_id__in=orgs)
    ).distinct()


def settlement_get(*, viewer: Any, settlement_id: int) -> Settlement:
    settlement = Settlement.objects.select_related("venture", "rule_version__rule", "refund_of").filter(
        pk=settlement_id).first()
    if settlement is None or not can_view_rule(viewer=viewer, rule=settlement.rule_version.rule):
        raise SettlementNotFound()
    return settlement


def transfers_of(*, settlement: Settlement) -> QuerySet[Transfer]:
    ids = [share["transfer_id"] for share in settlement.shares if share.get("transfer_id")]
    return Transfer.objects.filter(pk__in=ids).select_related("debit_account", "credit_account").order_by("seq")


@dataclass(frozen=True, slots=True)
class Recompute:
    allocation: Allocation | None  # None for a refund (it is recomputed from the original's shares)
    expected: list[dict[str, Any]]  # [{party, member, line, minor}] as recomputed
    journal: list[dict[str, Any]]  # [{party, member, line, minor, transfer_id, seq}] as the journal holds it
    matches: bool
    differences: list[str]


def settlement_recompute(*, settlement: Settlement) -> Recompute:
    """Share the amount again from the version's text, the kept set weights and the event's seed, and compare with
    the transfers in the journal."""
    from makercloud.ledger.services.settlement import refund_shares

    version = settlement.rule_version
    allocation = None
    if settlement.refund_of_id is None:
        parsed = rule_parse(version.text)
        allocation = allocate(parsed, Money(settlement.amount, settlement.currency), kind=settlement.kind,
                              context=context_from(settlement.context, seed=int(settlement.seed),
                                                   require_members=True))
        expected = [{"party": s.party, "member": s.member, "line": s.line, "minor": s.minor}
                    for s in allocation.shares if s.minor > 0]
    else:
        expected = [{"party": s["party"], "member": s["member"], "line": s["line"], "minor": s["minor"]}
                    for s in refund_shares(settlement=settlement) if s["minor"] > 0]
    transfers = {str(t.pk): t for t in transfers_of(settlement=settlement)}
    journal = []
    differences = []
    for share in settlement.shares:
        transfer = transfers.get(str(share.get("transfer_id")))
        if transfer is None:
            differences.append(f"line {share['line']}: transfer {share.get('transfer_id')} is not in the journal")
            continue
        journal.append({"party": share["party"], "member": share["member"], "line": share["line"],
                        "minor": transfer.amount, "transfer_id": str(transfer.pk), "seq": transfer.seq,
                        "account_id": share["account_id"],
                        "account_ok": (transfer.credit_account_id if settlement.refund_of_id is None
                                       else transfer.debit_account_id) == share["account_id"]})
        if not journal[-1]["account_ok"]:
            differences.append(f"line {share['line']}: transfer {transfer.pk} went to another account")
    key = lambda s: (s["line"], s["party"], s["member"] or "", s["minor"])  # noqa: E731
    if sorted(map(key, expected)) != sorted(map(key, journal)):
        differences.append("the recomputed shares differ from the transfers in the journal")
    return Recompute(allocation=allocation, expected=expected, journal=journal, matches=not differences,
                     differences=differences)


# Payouts --------------------------------------------------------------------------------------------------------


def accounts_owned_by(*, person: User) -> QuerySet[Account]:
    """Accounts a person may withdraw from: their own, and their organisations' where they are owner or admin."""
    managed = Membership.objects.filter(person=person, role__in=["owner", "admin"]).values("organisation_id")
    return Account.objects.filter(Q(person=person) | Q(organisation_id__in=managed)).exclude(
        purpose__in=["clearing", "payout_pending", "preorder_escrow"]).select_related("organisation", "person")


def can_withdraw(*, person: Any, account: Account) -> bool:
    person = _person(person)
    if person is None:
        return False
    return accounts_owned_by(person=person).filter(pk=account.pk).exists()


def payouts_of(*, viewer: User) -> QuerySet[Payout]:
    return Payout.objects.filter(account__in=accounts_owned_by(person=viewer)).select_related(
        "account__organisation", "account__person")


def payout_get(*, viewer: User, payout_id: Any) -> Payout:
    payout = payouts_of(viewer=viewer).filter(pk=payout_id).first()
    if payout is None:
        raise PayoutNotFound()
    return payout
