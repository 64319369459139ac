"""ledger services (writes): value-sharing rules — create, save a new version, retire; edit a rule's named sets."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Organisation, OrganisationKind, User
from makercloud.core.errors import InvalidInput
from makercloud.core.events import record_event
from makercloud.ledger.models.rules import PartyMember, PartySet, RuleVersion, SharingRule
from makercloud.ledger.rules import SETS, rule_parse
from makercloud.ledger.rules.errors import NotRuleEditor, RuleOverlap

MAX_MEMBERS = 500


def ensure_rule_editor(*, person: User, venture: Organisation) -> None:
    if not accounts_selectors.can_manage(person=person, organisation=venture):
        raise NotRuleEditor()


def _ensure_no_overlap(*, rule: SharingRule, kinds: set[str]) -> None:
    """Two live rules of one venture may not share the same kind of revenue: the one in force must be clear."""
    others = SharingRule.objects.filter(venture_id=rule.venture_id, retired_at=None).exclude(pk=rule.pk)
    for other in others:
        latest = other.versions.order_by("-number").first()
        if latest is not None and kinds & set(latest.kinds):
            shared = ", ".join(sorted(kinds & set(latest.kinds)))
            raise RuleOverlap(detail=_("The rule “%(other)s” already shares %(kinds)s revenue of this venture; "
                                       "retire it or change its kinds first.") % {"other": other.name, "kinds": shared},
                              rule_id=other.pk)


@transaction.atomic
def rule_create(*, actor: User, venture: Organisation, name: str, text: str, public: bool = False,
                effective_from: datetime | None = None) -> RuleVersion:
    """A new rule of a venture with its first version."""
    if venture.kind != OrganisationKind.VENTURE:
        raise InvalidInput(detail=_("Only a venture has sharing rules."))
    ensure_rule_editor(person=actor, venture=venture)
    name = name.strip()
    if not name:
        raise InvalidInput(detail=_("Give the rule a name."))
    if SharingRule.objects.filter(venture=venture, name=name).exists():
        raise InvalidInput(detail=_("The venture already has a rule named “%(name)s”.") % {"name": name})
    parsed = rule_parse(text)
    rule = SharingRule.objects.create(venture=venture, name=name, public=public, created_by=actor)
    _ensure_no_overlap(rule=rule, kinds=parsed.kinds)
    version = RuleVersion.objects.create(
        rule=rule, number=1, text=text, content_hash=parsed.content_hash, kinds=sorted(parsed.kinds),
        effective_from=effective_from or timezone.now(), created_by=actor,
    )
    for set_name in SETS:
        PartySet.objects.get_or_create(rule=rule, name=set_name)
    record_event(actor=actor, subject=rule, kind="rule.created", organisation=venture, public=public,
                 data={"version": 1, "hash": version.content_hash, "name": name})
    return version


@transaction.atomic
def rule_version_save(*, actor: User, rule: SharingRule, text: str, effective_from: datetime | None = None,
                      public: bool | None = None) -> RuleVersion:
    """Save the text as the rule's next version (the same text as the latest changes nothing and returns it)."""
    rule = SharingRule.objects.select_for_update().get(pk=rule.pk)
    ensure_rule_editor(person=actor, venture=rule.venture)
    if rule.retired_at is not None:
        raise InvalidInput(detail=_("This rule is retired; create a new rule instead."))
    parsed = rule_parse(text)
    _ensure_no_overlap(rule=rule, kinds=parsed.kinds)
    if public is not None and public != rule.public:
        SharingRule.objects.filter(pk=rule.pk).update(public=public)
        rule.public = public
    latest = rule.versions.order_by("-number").first()
    if latest is not None and latest.content_hash == parsed.content_hash and effective_from is None:
        return latest
    now = timezone.now()
    if effective_from is not None and effective_from < now - timedelta(minutes=5):
        raise InvalidInput(detail=_("A new version cannot be in force from the past."))
    version = RuleVersion.objects.create(
        rule=rule, number=(latest.number + 1) if latest else 1, text=text, content_hash=parsed.content_hash,
        kinds=sorted(parsed.kinds), effective_from=effective_from or now, created_by=actor,
    )
    record_event(actor=actor, subject=rule, kind="rule.version_saved", organisation=rule.venture,
                 public=rule.public, data={"version": version.number, "hash": version.content_hash})
    return version


@transaction.atomic
def rule_retire(*, actor: User, rule: SharingRule) -> SharingRule:
    ensure_rule_editor(person=actor, venture=rule.venture)
    if rule.retired_at is None:
        rule.retired_at = timezone.now()
        SharingRule.objects.filter(pk=rule.pk).update(retired_at=rule.retired_at)
        record_event(actor=actor, subject=rule, kind="rule.retired", organisation=rule.venture, public=rule.public)
    return rule


@dataclass(frozen=True, slots=True)
class MemberSpec:
    organisation: Organisation | None = None
    person: User | None = None
    weight: int = 0


@transaction.atomic
def party_set_update(*, actor: User | None, rule: SharingRule, name: str, members: Sequence[MemberSpec]) -> PartySet:
    """Replace a named set's members and weights (co-creators by points, suppliers by BOM cost, investors by stake).

    `actor=None` is the platform itself (issue 6 feeds contribution points)."""
    if actor is not None:
        ensure_rule_editor(person=actor, venture=rule.venture)
    if name not in SETS:
        raise InvalidInput(detail=_("There is no set @%(name)s; the sets are %(sets)s.")
                           % {"name": name, "sets": ", ".join("@" + s for s in SETS)})
    if len(members) > MAX_MEMBERS:
        raise InvalidInput(detail=_("A set has at most %(n)d members.") % {"n": MAX_MEMBERS})
    seen: set[str] = set()
    for member in members:
        if (member.organisation is None) == (member.person is None):
            raise InvalidInput(detail=_("Each member is an organisation or a person."))
        if member.weight < 0 or member.weight > 2**53:
            raise InvalidInput(detail=_("A weight is a whole number, zero or more."))
        if name == "co_creators" and member.person is None:
            raise InvalidInput(detail=_("Co-creators are people."))
        org_kind = member.organisation.kind if member.organisation is not None else None
        if name == "suppliers" and org_kind != OrganisationKind.SUPPLIER:
            raise InvalidInput(detail=_("Suppliers are supplier organisations."))
        if name == "investors" and org_kind != OrganisationKind.INVESTOR:
            raise InvalidInput(detail=_("Investors are investor organisations."))
        key = f"o{member.organisation.pk}" if member.organisation else f"p{member.person.pk}"  # type: ignore[union-attr]
        if key in seen:
            raise InvalidInput(detail=_("A member is listed twice."))
        seen.add(key)
    party_set, _created = PartySet.objects.get_or_create(rule=rule, name=name)
    party_set.members.all().delete()
    PartyMember.objects.bulk_create([
        PartyMember(party_set=party_set, organisation=m.organisation, person=m.person, weight=m.weight)
        for m in members
    ])
    record_event(actor=actor, subject=rule, kind="rule.set_updated", organisation=rule.venture, public=rule.public,
                 data={"set": name, "members": len(members)})
    return party_set
