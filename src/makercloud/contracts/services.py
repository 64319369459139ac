"""contracts services: draw up (from an award or directly), sign with re-authentication, amend, record milestones,
evaluate bet-on clauses. Every write checks who acts and records a domain event; signatures needed and complete are
notified to every party's signers."""

import hashlib
import json
import uuid
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Organisation, OrganisationKind, Role, User
from makercloud.contracts import selectors
from makercloud.contracts.errors import (
    InvalidTerms,
    MilestoneRecordNotFound,
    NotAParty,
    NotDueYet,
    NothingToSign,
    ReauthenticationFailed,
    StaleVersion,
    TooManySigningAttempts,
    WrongContractState,
)
from makercloud.contracts.models import (
    GENESIS,
    BetOn,
    Contract,
    ContractState,
    ContractVersion,
    Metric,
    Milestone,
    MilestoneConfirmation,
    MilestoneRecord,
    Party,
    Signature,
    Target,
    VersionState,
)
from makercloud.core.errors import DomainError
from makercloud.core.events import record_event
from makercloud.core.models import Event
from makercloud.core.money import Money
from makercloud.ledger.models import Account, AccountPurpose, PlanSource, RuleVersion
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create
from makercloud.ledger.services.statements import statement_plans_replace
from makercloud.ledger.statement_periods import MONTH, Period, period_containing
from makercloud.notifications.services import notify
from makercloud.ventures.models import Venture

MAX_ITEMS = 50
SIGNING_ATTEMPTS = 5  # wrong passwords per person within SIGNING_WINDOW before signing is refused for a while
SIGNING_WINDOW = timedelta(minutes=15)
# Transfer ids of bet-on outcomes: uuid5(BET_ON_NAMESPACE, "contract:<id>:bet-on:<clause key>") — once per clause.
BET_ON_NAMESPACE = uuid.UUID("3d5f7a2e-91c4-4b8e-a6d0-5c2e8f1b7a43")
TRANSFER_CODES = ("funding", "reward", "service", "adjustment")
PLANNED = {Metric.UNITS_SOLD: "units", Metric.REVENUE: "revenue"}  # target metric → the statement plan's figure
MAX_PLANNED_MONTHS = 120


# Terms: canonical form and hash ---------------------------------------------------------------------------------


def canonical(terms: dict[str, Any]) -> bytes:
    """The canonical JSON of terms: sorted keys, no whitespace, UTF-8."""
    return json.dumps(terms, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(terms: dict[str, Any], prev_hash: str) -> str:
    """sha256 over the canonical terms followed by the previous version's hash (hex)."""
    return hashlib.sha256(canonical(terms) + prev_hash.encode("ascii")).hexdigest()


def _moment(value: Any, field: str) -> str:
    if isinstance(value, str):
        parsed = parse_datetime(value)
        if parsed is None:
            day = parse_date(value)
            if day is None:
                raise InvalidTerms(detail=_("%(field)s is not a date or time.") % {"field": field})
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
        value = parsed
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, date):
        return f"{value.isoformat()}T00:00:00Z"
    raise InvalidTerms(detail=_("%(field)s is not a date or time.") % {"field": field})


def _day(value: Any, field: str) -> str:
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and parse_date(value) is not None:
        return value
    raise InvalidTerms(detail=_("%(field)s is not a date.") % {"field": field})


def _key(value: Any, field: str) -> str:
    if not isinstance(value, str) or not value or len(value) > 32 or not all(
            c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise InvalidTerms(detail=_("%(field)s needs a short key of letters, digits, - or _.") % {"field": field})
    return value


def _text(value: Any, field: str, *, limit: int = 10_000, required: bool = True) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value or (required and not value.strip()):
        raise InvalidTerms(detail=_("%(field)s needs a text of at most %(limit)s characters.")
                           % {"field": field, "limit": limit})
    return value.strip()


def _whole(value: Any, field: str, *, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not minimum <= value <= 10**15:
        raise InvalidTerms(detail=_("%(field)s needs a whole number of at least %(minimum)s.")
                           % {"field": field, "minimum": minimum})
    return value


def _currency(value: Any, field: str) -> str:
    if not isinstance(value, str) or len(value) != 3 or not value.isalpha() or not value.isupper():
        raise InvalidTerms(detail=_("%(field)s needs an ISO currency code such as CNY.") % {"field": field})
    return value


def _unique(items: list[dict[str, Any]], what: str) -> None:
    keys = [item["key"] for item in items]
    if len(set(keys)) != len(keys):
        raise InvalidTerms(detail=_("Two %(what)s have the same key.") % {"what": what})
    if len(items) > MAX_ITEMS:
        raise InvalidTerms(detail=_("At most %(n)s %(what)s.") % {"n": MAX_ITEMS, "what": what})


def _targets(specs: Sequence[dict[str, Any]], party_keys: set[str]) -> list[dict[str, Any]]:
    targets = []
    for spec in specs:
        key = _key(spec.get("key"), _("A target's key"))
        metric = spec.get("metric")
        if metric not in Metric.values:
            raise InvalidTerms(detail=_("Target %(key)s: the metric is one of %(metrics)s.")
                               % {"key": key, "metric": metric, "metrics": ", ".join(Metric.values)})
        start = _moment(spec.get("from"), _("Target %(key)s: from") % {"key": key})
        until = _moment(spec.get("until"), _("Target %(key)s: until") % {"key": key})
        if until <= start:
            raise InvalidTerms(detail=_("Target %(key)s: its period ends after it starts.") % {"key": key})
        target = {"key": key, "metric": metric, "threshold": _whole(spec.get("threshold"), _("A threshold"),
                                                                    minimum=1),
                  "from": start, "until": until, "currency": "", "party": None}
        if metric == Metric.REVENUE:
            target["currency"] = _currency(spec.get("currency"), _("Target %(key)s: currency") % {"key": key})
        if metric == Metric.RATING:
            if spec.get("party") not in party_keys:
                raise InvalidTerms(detail=_("Target %(key)s: name the rated party by its key.") % {"key": key})
            target["party"] = spec["party"]
        targets.append(target)
    _unique(targets, _("targets"))
    return targets


def _milestones(specs: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    milestones = []
    for spec in specs:
        key = _key(spec.get("key"), _("A milestone's key"))
        milestone: dict[str, Any] = {
            "key": key, "title": _text(spec.get("title"), _("A milestone's title"), limit=200),
            "due": _day(spec.get("due"), _("Milestone %(key)s: due") % {"key": key}), "amount": None, "currency": "",
        }
        if spec.get("amount") is not None:
            milestone["amount"] = _whole(spec["amount"], _("A milestone's amount"))
            milestone["currency"] = _currency(spec.get("currency"), _("A milestone's currency"))
        milestones.append(milestone)
    _unique(milestones, _("milestones"))
    return milestones


def _clause_transfer(value: Any, key: str, party_keys: set[str]) -> dict[str, Any]:
    """What an outcome moves through the ledger: an amount from one party to another."""
    if not isinstance(value, dict) or set(value) - {"from", "to", "amount", "currency", "code"}:
        raise InvalidTerms(detail=_("Clause %(key)s: a transfer has from, to, amount, currency and optionally code.")
                           % {"key": key})
    payer, payee = value.get("from"), value.get("to")
    if payer not in party_keys or payee not in party_keys or payer == payee:
        raise InvalidTerms(detail=_("Clause %(key)s: a transfer goes from one party to another, named by their keys.")
                           % {"key": key})
    code = value.get("code") or "adjustment"
    if code not in TRANSFER_CODES:
        raise InvalidTerms(detail=_("Clause %(key)s: a transfer's code is one of %(codes)s.")
                           % {"key": key, "codes": ", ".join(TRANSFER_CODES)})
    return {"from": payer, "to": payee, "amount": _whole(value.get("amount"), _("A transfer's amount"), minimum=1),
            "currency": _currency(value.get("currency"), _("A transfer's currency")), "code": code}


def _bet_ons(specs: Sequence[dict[str, Any]], target_keys: set[str], party_keys: set[str]) -> list[dict[str, Any]]:
    clauses = []
    for spec in specs:
        key = _key(spec.get("key"), _("A clause's key"))
        if spec.get("target") not in target_keys:
            raise InvalidTerms(detail=_("Clause %(key)s: name one of the contract's targets.") % {"key": key})
        clause = {
            "key": key, "target": spec["target"], "by": _moment(spec.get("by"), _("Clause %(key)s: by") % {"key": key}),
            "if_met": _text(spec.get("if_met"), _("What follows if the target is met"), limit=2000),
            "otherwise": _text(spec.get("otherwise"), _("What follows otherwise"), limit=2000),
        }
        for field in ("if_met_transfer", "otherwise_transfer"):  # only when given: older terms hash as they were
            if spec.get(field) is not None:
                clause[field] = _clause_transfer(spec[field], key, party_keys)
        clauses.append(clause)
    _unique(clauses, _("clauses"))
    return clauses


def _rule(rule_version: RuleVersion | None, venture: Organisation) -> dict[str, Any] | None:
    if rule_version is None:
        return None
    if rule_version.rule.venture_id != venture.pk:
        raise InvalidTerms(detail=_("The value-sharing rule must be one of the venture's."))
    return {"rule_version_id": rule_version.pk, "rule": rule_version.rule.name, "number": rule_version.number,
            "content_hash": rule_version.content_hash}


def _terms(*, title: str, venture: Organisation, text: str, parties: list[dict[str, Any]],
           targets: Sequence[dict[str, Any]], milestones: Sequence[dict[str, Any]],
           bet_ons: Sequence[dict[str, Any]], rule_version: RuleVersion | None,
           source: dict[str, Any] | None) -> dict[str, Any]:
    party_keys = {party["key"] for party in parties}
    checked_targets = _targets(targets, party_keys)
    venture_id = Venture.objects.filter(organisation=venture).values_list("pk", flat=True).first()
    return {
        "title": title,
        "venture": {"organisation_id": venture.pk, "venture_id": venture_id, "name": venture.name},
        "text": text,
        "parties": parties,
        "targets": checked_targets,
        "milestones": _milestones(milestones),
        "bet_ons": _bet_ons(bet_ons, {target["key"] for target in checked_targets}, party_keys),
        "rule": _rule(rule_version, venture),
        "source": source,
    }


def _parties(specs: Sequence[dict[str, Any]], venture: Organisation) -> list[dict[str, Any]]:
    parties = []
    seen: set[tuple[str, int]] = set()
    for spec in specs:
        key = _key(spec.get("key"), _("A party's key"))
        role = _text(spec.get("role"), _("A party's role"), limit=64)
        contributions = _text(spec.get("contributions"), _("A party's contributions"), limit=4000, required=False)
        organisation_id, person_id = spec.get("organisation_id"), spec.get("person_id")
        if (organisation_id is None) == (person_id is None) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in (organisation_id or person_id,)):
            raise InvalidTerms(detail=_("Party %(key)s is an organisation or a person.") % {"key": key})
        if organisation_id is not None:
            organisation = Organisation.objects.filter(pk=organisation_id).first()
            if organisation is None:
                raise InvalidTerms(detail=_("Party %(key)s: there is no such organisation.") % {"key": key})
            identity, name = ("organisation", organisation.pk), organisation.name
        else:
            person = User.objects.filter(pk=person_id, is_active=True).first()  # type: ignore[misc]
            if person is None:
                raise InvalidTerms(detail=_("Party %(key)s: there is no such person.") % {"key": key})
            identity, name = ("person", person.pk), person.name
        if identity in seen:
            raise InvalidTerms(detail=_("The same party is named twice."))
        seen.add(identity)
        parties.append({"key": key, "role": role, "organisation_id": organisation_id, "person_id": person_id,
                        "name": name, "contributions": contributions})
    _unique(parties, _("parties"))
    if not 2 <= len(parties) <= 20:
        raise InvalidTerms(detail=_("A contract has two to twenty parties."))
    if ("organisation", venture.pk) not in seen:
        raise InvalidTerms(detail=_("The venture is one of the parties."))
    return parties


# Versions ------------------------------------------------------------------------------------------------------


def _at(text: str) -> datetime:
    parsed = parse_datetime(text)
    assert parsed is not None
    return parsed


def _on(text: str) -> date:
    parsed = parse_date(text)
    assert parsed is not None
    return parsed


def _add_version(*, contract: Contract, terms: dict[str, Any], actor: User | None, reason: str = "",
                 rule_version: RuleVersion | None = None) -> ContractVersion:
    last = contract.versions.order_by("-number").first()
    prev_hash = last.hash if last else GENESIS
    version = ContractVersion.objects.create(
        contract=contract, number=(last.number + 1) if last else 1, terms=terms, prev_hash=prev_hash,
        hash=chain_hash(terms, prev_hash), reason=reason, created_by=actor, rule_version=rule_version,
    )
    parties = {party.key: party for party in contract.parties.all()}
    targets = {}
    for spec in terms["targets"]:
        targets[spec["key"]] = Target.objects.create(
            version=version, key=spec["key"], metric=spec["metric"], threshold=spec["threshold"],
            currency=spec["currency"], party=parties.get(spec["party"]) if spec["party"] else None,
            period_start=_at(spec["from"]), period_end=_at(spec["until"]))
    for spec in terms["milestones"]:  # their actuals are the contract's milestone records, kept across versions
        Milestone.objects.create(
            version=version, key=spec["key"], title=spec["title"], due_on=_on(spec["due"]),
            amount=spec["amount"], currency=spec["currency"])
    decided = ({b.key: b for b in BetOn.objects.filter(version=contract.current).exclude(outcome="")}
               if contract.current_id else {})
    for spec in terms["bet_ons"]:
        before = decided.get(spec["key"])  # a decided clause stays decided (and paid once) through amendments
        carried = ({"outcome": before.outcome, "measured": before.measured, "evaluated_at": before.evaluated_at,
                    "transfer_id": before.transfer_id, "transfer_error": before.transfer_error} if before else {})
        BetOn.objects.create(version=version, key=spec["key"], target=targets[spec["target"]],
                             by=_at(spec["by"]), if_met=spec["if_met"], otherwise=spec["otherwise"],
                             if_met_transfer=spec.get("if_met_transfer"),
                             otherwise_transfer=spec.get("otherwise_transfer"), **carried)
    if contract.pending_id:
        ContractVersion.objects.filter(pk=contract.pending_id).update(state=VersionState.REPLACED)
    contract.pending = version
    contract.state = ContractState.AMENDING if contract.current_id else ContractState.AWAITING
    contract.save(update_fields=["pending", "state"])
    _ask_signatures(contract, version)
    return version


def _ask_signatures(contract: Contract, version: ContractVersion) -> None:
    url = selectors.contract_url(contract)
    for person in selectors.signers_of(contract=contract):
        notify(person=person, title=_("Your signature is needed: “%(title)s”") % {"title": contract.title},
               body=_("Version %(number)s of the contract awaits every party's signature.")
               % {"number": version.number}, url=url, key=f"contract-{contract.pk}-v{version.number}-sign")


def _create(*, actor: User | None, venture: Organisation, title: str, text: str, parties: Sequence[dict[str, Any]],
            targets: Sequence[dict[str, Any]], milestones: Sequence[dict[str, Any]], bet_ons: Sequence[dict[str, Any]],
            rule_version: RuleVersion | None, call: Any = None, response: Any = None) -> Contract:
    title = _text(title, _("The title"), limit=200)
    checked = _parties(parties, venture)
    source = {"call_id": call.pk, "response_id": response.pk} if call is not None else None
    terms = _terms(title=title, venture=venture, text=_text(text, _("The text"), limit=50_000, required=False),
                   parties=checked, targets=targets, milestones=milestones, bet_ons=bet_ons,
                   rule_version=rule_version, source=source)
    contract = Contract.objects.create(venture=venture, title=title, call=call, response=response, created_by=actor)
    for spec in checked:
        Party.objects.create(contract=contract, key=spec["key"], role=spec["role"],
                             organisation_id=spec["organisation_id"], person_id=spec["person_id"])
    version = _add_version(contract=contract, terms=terms, actor=actor, rule_version=rule_version)
    record_event(actor=actor, subject=contract, kind="contract.created", organisation=venture,
                 data={"version": version.number, "hash": version.hash,
                       "call": call.pk if call is not None else None})
    return contract


@transaction.atomic
def contract_create(*, actor: User, venture: Organisation, title: str, text: str = "",
                    parties: Sequence[dict[str, Any]], targets: Sequence[dict[str, Any]] = (),
                    milestones: Sequence[dict[str, Any]] = (), bet_ons: Sequence[dict[str, Any]] = (),
                    rule_version: RuleVersion | None = None) -> Contract:
    """Draw up a contract directly: the actor manages the venture, which is one of the parties. Every party is
    asked to sign version 1."""
    if accounts_selectors.role_in(person=actor, organisation=venture) not in {Role.OWNER, Role.ADMIN}:
        raise NotAParty(detail=_("Only the venture's owners and administrators draw up its contracts."))
    return _create(actor=actor, venture=venture, title=title, text=text, parties=parties, targets=targets,
                   milestones=milestones, bet_ons=bet_ons, rule_version=rule_version)


# From an award --------------------------------------------------------------------------------------------------

ROLES = {  # kind: (the owner's role, the winner's role)
    "sourcing": ("buyer", "supplier"),
    "role": ("venture", "role holder"),
    "funding": ("venture", "investor"),
    "challenge": ("sponsor", "solver"),
    "idea": ("venture", "co-creator"),
}


def _content(call: Any, response: Any) -> dict[str, Any]:
    if response.content:
        return dict(response.content)
    try:
        from makercloud.calls.kinds import registry

        kind = registry.get(call.kind)
        unseal = getattr(kind, "unseal", None)
        return dict(unseal(call=call, response=response)) if unseal else {}
    except Exception:
        return {}


def _award_terms(call: Any, content: dict[str, Any], winner_key: str) -> dict[str, Any]:
    """Text, targets, milestones and bet-on clauses that follow from the kind, the call's form and the winner's
    response."""
    form = dict(call.response_form or {})
    awarded = call.awarded_at or timezone.now()
    lines = [_("Drawn up from the award of call “%(title)s” (rules hash %(hash)s).")
             % {"title": call.title, "hash": call.rules_hash or "—"}]
    targets: list[dict[str, Any]] = []
    milestones: list[dict[str, Any]] = []
    bet_ons: list[dict[str, Any]] = []
    if call.kind == "sourcing":
        quantity = form.get("quantity")
        ceiling = form.get("unit_price_ceiling") or {}
        currency = ceiling.get("currency", "CNY") if isinstance(ceiling, dict) else "CNY"
        price, days = content.get("unit_price"), content.get("delivery_days")
        lines.append(_("Supply of %(quantity)s units at %(price)s %(currency)s (minor units) each, delivered within "
                       "%(days)s days; quality commitments: %(quality)s.")
                     % {"quantity": quantity, "price": price, "currency": currency, "days": days,
                        "quality": ", ".join(content.get("quality") or []) or "—"})
        if isinstance(days, int) and isinstance(quantity, int) and isinstance(price, int):
            milestones.append({"key": "delivery", "title": _("Delivery of %(quantity)s units") % {"quantity": quantity},
                               "due": (awarded + timedelta(days=days)).date(), "amount": quantity * price,
                               "currency": currency})
    elif call.kind == "role":
        target = form.get("target") or {}
        committed = content.get("target")
        lines.append(_("Role: %(role)s.") % {"role": form.get("role", "")})
        lines.append(_("Committed target: %(target)s (%(metric)s) by %(by)s.")
                     % {"target": committed, "metric": target.get("metric", ""), "by": target.get("by", "")})
        by = parse_date(str(target.get("by") or ""))
        if target.get("metric") in Metric.values and isinstance(committed, int) and committed > 0 and by \
                and datetime(by.year, by.month, by.day, tzinfo=UTC) > awarded:  # a date already gone: text only
            targets.append({"key": "committed", "metric": target["metric"], "threshold": committed,
                            "from": awarded, "until": target["by"], "currency": form.get("currency", "CNY")})
            share, fee = content.get("ask_share_bp"), content.get("ask_fixed")
            reward = []
            if isinstance(share, int) and share:
                reward.append(_("a share of %(bp)s basis points") % {"bp": share})
            if isinstance(fee, dict) and fee.get("minor"):
                reward.append(_("a fee of %(minor)s %(currency)s (minor units)")
                              % {"minor": fee["minor"], "currency": fee.get("currency", "")})
            bet_ons.append({"key": "committed", "target": "committed", "by": target["by"],
                            "if_met": _("The %(role)s earns %(reward)s.")
                            % {"role": winner_key, "reward": _(" and ").join(reward) or _("what was asked")},
                            "otherwise": _("The %(role)s earns no share; the fee is paid pro rata to the target met.")
                            % {"role": winner_key}})
    elif call.kind == "funding":
        amount = content.get("amount")
        money = form.get("amount") or {}
        currency = money.get("currency", "CNY") if isinstance(money, dict) else "CNY"
        plan = [m for m in (form.get("milestones") or []) if isinstance(m, dict)]
        lines.append(_("Funding of %(amount)s %(currency)s (minor units), released in tranches as the milestones "
                       "are met.") % {"amount": amount, "currency": currency})
        if isinstance(amount, int) and amount > 0 and plan:
            shares = [int(m.get("share_bp") or 0) for m in plan]
            tranches = Money(amount, currency).allocate(shares) if sum(shares) else []
            for index, (milestone, tranche) in enumerate(zip(plan, tranches, strict=False), start=1):
                milestones.append({"key": f"m{index}", "title": str(milestone.get("title") or f"#{index}")[:200],
                                   "due": (awarded + timedelta(days=90 * index)).date(), "amount": tranche.minor,
                                   "currency": currency})
    elif call.kind == "challenge":
        lines.append(_("The solver's solution, rewarded through the ledger at the award."))
    elif call.kind == "idea":
        lines.append(_("The co-creator's proposal; contribution points count under the value-sharing rule."))
    note = content.get("note") or content.get("pitch") or content.get("conditions")
    if isinstance(note, str) and note:
        lines.append(_("From the response: %(note)s") % {"note": note[:2000]})
    return {"text": "\n\n".join(lines), "targets": targets, "milestones": milestones, "bet_ons": bet_ons}


def _venture_rule(venture: Organisation) -> RuleVersion | None:
    return (RuleVersion.objects.filter(rule__venture=venture, rule__retired_at__isnull=True)
            .select_related("rule").order_by("-effective_from", "-number").first())


@transaction.atomic
def contract_create_from_award(*, call: Any, response: Any, actor: User | None) -> Contract:
    """The contract of an awarded call between its owner and the winner (called by the calls engine). Once per call:
    a second call returns the same contract."""
    existing = Contract.objects.filter(call=call).first()
    if existing is not None:
        return existing
    owner_role, winner_role = ROLES.get(call.kind, ("venture", "party"))
    winner = ({"organisation_id": response.organisation_id} if response.organisation_id
              else {"person_id": response.respondent_id})
    parties = [
        {"key": "owner", "role": owner_role, "organisation_id": call.owner_id,
         "contributions": _("Pays and accepts as the terms say.")},
        {"key": "winner", "role": winner_role, **winner,
         "contributions": _("Delivers what the awarded response offered.")},
    ]
    terms = _award_terms(call, _content(call, response), winner_role)
    return _create(actor=actor, venture=call.owner, title=call.title, text=terms["text"], parties=parties,
                   targets=terms["targets"], milestones=terms["milestones"], bet_ons=terms["bet_ons"],
                   rule_version=_venture_rule(call.owner), call=call, response=response)


# Signing --------------------------------------------------------------------------------------------------------


def _lock(contract: Contract) -> Contract:
    return Contract.objects.select_for_update().get(pk=contract.pk)


def _refused_recently(actor: User) -> int:
    since = timezone.now() - SIGNING_WINDOW
    return Event.objects.filter(actor=actor, kind="contract.signature_refused", created_at__gte=since).count()


def contract_sign(*, contract: Contract, actor: User, password: str, version_hash: str,
                  party: Party | None = None) -> Signature:
    """Sign the version awaiting signatures for a party the actor may sign for (the person, or an owner or
    administrator of the organisation), after entering their password again. `version_hash` is the hash the signer
    read: a version changed meanwhile is refused. Once every party has signed, the version is in force."""
    if not selectors.signable_parties(contract=contract, person=actor):
        raise NotAParty()
    if _refused_recently(actor) >= SIGNING_ATTEMPTS:
        raise TooManySigningAttempts(detail=_("Too many wrong passwords. Try again in 15 minutes."))
    if not password or not actor.check_password(password):
        with transaction.atomic():
            record_event(actor=actor, subject=contract, kind="contract.signature_refused",
                         organisation=contract.venture, data={"reason": "password"})
        raise ReauthenticationFailed(detail=_("The password is not correct; the contract is not signed."))
    return _sign(contract=contract, actor=actor, version_hash=version_hash, party=party)


@transaction.atomic
def _sign(*, contract: Contract, actor: User, version_hash: str, party: Party | None) -> Signature:
    contract = _lock(contract)
    version = contract.pending
    if version is None:
        raise NothingToSign()
    if version.hash != version_hash:
        raise StaleVersion(detail=_("The terms changed since you read them: read version %(number)s and sign again.")
                           % {"number": version.number})
    signed = set(Signature.objects.filter(version=version).values_list("party_id", flat=True))
    open_parties = [p for p in selectors.signable_parties(contract=contract, person=actor) if p.pk not in signed]
    if party is not None:
        open_parties = [p for p in open_parties if p.pk == party.pk]
    if not open_parties:
        raise NothingToSign(detail=_("You have signed this version already for every party you sign for."))
    if len(open_parties) > 1:
        raise InvalidTerms(detail=_("You sign for more than one party: choose which."))
    signing = open_parties[0]
    signature = Signature.objects.create(version=version, party=signing, signer=actor, version_hash=version.hash)
    record_event(actor=actor, subject=contract, kind="contract.signature", organisation=contract.venture,
                 data={"version": version.number, "hash": version.hash, "party": signing.key})
    if len(signed) + 1 == contract.parties.count():
        _in_force(contract, version)
    return signature


def _in_force(contract: Contract, version: ContractVersion) -> None:
    now = timezone.now()
    if contract.current_id:
        ContractVersion.objects.filter(pk=contract.current_id).update(state=VersionState.SUPERSEDED)
    version.state = VersionState.SIGNED
    version.signed_at = now
    version.save(update_fields=["state", "signed_at"])
    contract.current = version
    contract.pending = None
    contract.state = ContractState.SIGNED
    contract.signed_at = contract.signed_at or now
    contract.save(update_fields=["current", "pending", "state", "signed_at"])
    record_event(actor=None, subject=contract, kind="contract.signed", organisation=contract.venture, public=True,
                 data={"version": version.number, "hash": version.hash,
                       "parties": [p.name for p in contract.parties.select_related("organisation", "person")]})
    url = selectors.contract_url(contract)
    for person in selectors.signers_of(contract=contract):
        notify(person=person, title=_("Signed by every party: “%(title)s”") % {"title": contract.title},
               body=_("Version %(number)s is in force.") % {"number": version.number}, url=url,
               key=f"contract-{contract.pk}-v{version.number}-signed")
    plans_write(venture=contract.venture, reason=f"contract:{contract.pk}:v{version.number}")


# Plans from targets ---------------------------------------------------------------------------------------------


def _months(start: datetime, end: datetime) -> list[tuple[Period, int]]:
    """The calendar months (UTC) that [start, end) covers, each with the seconds of it that it covers."""
    months: list[tuple[Period, int]] = []
    period = period_containing(start.astimezone(UTC), granularity=MONTH)
    while period.start < end and len(months) < MAX_PLANNED_MONTHS:
        covered = int((min(end, period.end) - max(start, period.start)).total_seconds())
        if covered > 0:
            months.append((period, covered))
        period = period.next()
    return months


def contract_plans(*, venture: Organisation) -> dict[Period, dict[str, Any]]:
    """The venture's monthly plan from the targets of every contract of it in force: each units-sold or revenue
    target spread over the months its period covers, in proportion to the time it covers of each (integer parts that
    add up to the threshold), summed over targets and contracts. Revenue targets in another currency than the first
    one are left out (a plan has one currency)."""
    from makercloud.ledger.services.statements import MAX_AMOUNT, MAX_COUNT

    targets = list(Target.objects.filter(version__contract__venture=venture, version__state=VersionState.SIGNED,
                                         metric__in=list(PLANNED)).select_related("version").order_by("pk"))
    currency = next((t.currency for t in targets if t.metric == Metric.REVENUE), "CNY")
    plans: dict[Period, dict[str, Any]] = {}
    for target in targets:
        if target.metric == Metric.REVENUE and target.currency != currency:
            continue
        months = _months(target.period_start, target.period_end)
        if not months:
            continue
        parts = Money(target.threshold, currency).allocate([seconds for _period, seconds in months])
        figure = PLANNED[Metric(target.metric)]
        limit = MAX_AMOUNT if figure == "revenue" else MAX_COUNT
        for (period, _seconds), part in zip(months, parts, strict=True):
            plan = plans.setdefault(period, {"currency": currency, "contracts": set()})
            plan[figure] = min(limit, (plan.get(figure) or 0) + part.minor)
            plan["contracts"].add(f"#{target.version.contract_id} v{target.version.number}")
    for plan in plans.values():
        plan["note"] = _("From the targets of contract %(contracts)s.") % {
            "contracts": ", ".join(sorted(plan.pop("contracts")))}
    return plans


def plans_write(*, venture: Organisation, reason: str) -> int:
    """Write the venture's statement plans (source contract) from its contracts in force, replacing those an
    earlier version wrote. Nothing for an organisation that is not a venture (the platform's own calls)."""
    found = Venture.objects.filter(organisation=venture).first()
    if found is None:
        return 0
    return statement_plans_replace(venture=found, source=PlanSource.CONTRACT, plans=contract_plans(venture=venture),
                                   reason=reason)


# Amendments -----------------------------------------------------------------------------------------------------


@transaction.atomic
def contract_amend(*, contract: Contract, actor: User, reason: str, text: str | None = None,
                   contributions: dict[str, str] | None = None, targets: Sequence[dict[str, Any]] | None = None,
                   milestones: Sequence[dict[str, Any]] | None = None, bet_ons: Sequence[dict[str, Any]] | None = None,
                   rule_version: RuleVersion | None = None, unbind_rule: bool = False) -> ContractVersion:
    """Propose new terms: a new version chained to the last, which every party signs again (earlier signatures do
    not carry over). The parties stay; what is not given is kept. Until it is signed the earlier terms stay in
    force."""
    contract = _lock(contract)
    if contract.state == ContractState.CANCELLED:
        raise WrongContractState()
    if not selectors.signable_parties(contract=contract, person=actor):
        raise NotAParty(detail=_("Only a party's signers propose amendments."))
    last = contract.versions.order_by("-number").first()
    assert last is not None
    before = last.terms
    parties = [dict(p) for p in before["parties"]]
    for key, value in (contributions or {}).items():
        match = [p for p in parties if p["key"] == key]
        if not match:
            raise InvalidTerms(detail=_("There is no party %(key)s.") % {"key": key})
        match[0]["contributions"] = _text(value, _("A party's contributions"), limit=4000, required=False)
    bound = last.rule_version
    if unbind_rule:
        bound = None
    elif rule_version is not None:
        bound = rule_version
    terms = _terms(title=before["title"], venture=contract.venture,
                   text=before["text"] if text is None else _text(text, _("The text"), limit=50_000, required=False),
                   parties=parties, targets=before["targets"] if targets is None else targets,
                   milestones=before["milestones"] if milestones is None else milestones,
                   bet_ons=before["bet_ons"] if bet_ons is None else bet_ons, rule_version=bound,
                   source=before.get("source"))
    if terms == before:
        raise InvalidTerms(detail=_("The amendment changes nothing."))
    version = _add_version(contract=contract, terms=terms, actor=actor,
                           reason=_text(reason, _("The reason"), limit=4000), rule_version=bound)
    record_event(actor=actor, subject=contract, kind="contract.amended", organisation=contract.venture,
                 data={"version": version.number, "hash": version.hash, "reason": version.reason})
    return version


@transaction.atomic
def contract_cancel(*, contract: Contract, actor: User, reason: str) -> Contract:
    """Withdraw a contract that no version of has been signed by every party (the venture's managers)."""
    contract = _lock(contract)
    if contract.ever_signed or contract.state == ContractState.CANCELLED:
        raise WrongContractState(detail=_("A signed contract is changed by amendment, not cancelled."))
    if accounts_selectors.role_in(person=actor, organisation=contract.venture) not in {Role.OWNER, Role.ADMIN}:
        raise NotAParty(detail=_("Only the venture's owners and administrators cancel its contracts."))
    if contract.pending_id:
        ContractVersion.objects.filter(pk=contract.pending_id).update(state=VersionState.REPLACED)
    contract.state = ContractState.CANCELLED
    contract.pending = None
    contract.save(update_fields=["state", "pending"])
    record_event(actor=actor, subject=contract, kind="contract.cancelled", organisation=contract.venture,
                 data={"reason": _text(reason, _("The reason"), limit=4000)})
    return contract


# Milestones and bet-on clauses ----------------------------------------------------------------------------------


def _in_force_version(contract: Contract) -> ContractVersion:
    if contract.current is None:
        raise WrongContractState(detail=_("The contract is not in force yet: every party signs first."))
    return contract.current


def _acting_party(contract: Contract, actor: User, party: Party | None, *, besides: set[int]) -> Party:
    """The one party the actor acts for here (among those they sign for, other than `besides`)."""
    options = [p for p in selectors.signable_parties(contract=contract, person=actor) if p.pk not in besides]
    if party is not None:
        options = [p for p in options if p.pk == party.pk]
    if not options:
        raise NotAParty(detail=_("You do not sign for a party that may do this."))
    if len(options) > 1:
        raise InvalidTerms(detail=_("You act for more than one party: choose which."))
    return options[0]


def _milestone(contract: Contract, key: str) -> Milestone:
    milestone = Milestone.objects.filter(version=_in_force_version(contract), key=key).first()
    if milestone is None:
        raise InvalidTerms(detail=_("There is no milestone %(key)s in the terms in force.") % {"key": key})
    return milestone


@transaction.atomic
def milestone_record(*, contract: Contract, actor: User, key: str, done_on: date, evidence: str,
                     party: Party | None = None) -> MilestoneRecord:
    """A party's signer records when a milestone of the terms in force was met, with evidence. The record counts
    (the actual against the plan) once every other party has confirmed it; it is never changed — a correction is a
    new record, which replaces the earlier one once it is confirmed in turn."""
    contract = _lock(contract)
    if not selectors.signable_parties(contract=contract, person=actor):
        raise NotAParty()
    milestone = _milestone(contract, key)
    if done_on > timezone.now().date():
        raise InvalidTerms(detail=_("A milestone is recorded once it is met, not ahead."))
    evidence = _text(evidence, _("The evidence"), limit=4000)
    recording = _acting_party(contract, actor, party, besides=set())
    earlier = MilestoneRecord.objects.filter(contract=contract, key=key).order_by("-pk").first()
    record = MilestoneRecord.objects.create(contract=contract, key=key, done_on=done_on, evidence=evidence,
                                            party=recording, recorded_by=actor)
    record_event(actor=actor, subject=contract, kind="contract.milestone_recorded", organisation=contract.venture,
                 data={"milestone": key, "record": record.pk, "done_on": done_on.isoformat(),
                       "due": milestone.due_on.isoformat(), "party": recording.key,
                       "corrects": earlier.pk if earlier else None})
    others = [p for p in contract.parties.all() if p.pk != recording.pk]
    for person in selectors.signers_of(contract=contract, parties=others):
        notify(person=person, title=_("Confirm milestone “%(milestone)s” of “%(title)s”")
               % {"milestone": milestone.title, "title": contract.title},
               body=_("%(party)s records it as met on %(day)s: %(evidence)s")
               % {"party": recording.name, "day": done_on.isoformat(), "evidence": evidence[:300]},
               url=selectors.contract_url(contract), key=f"contract-{contract.pk}-milestone-record-{record.pk}")
    return record


@transaction.atomic
def milestone_confirm(*, contract: Contract, actor: User, record_id: int,
                      party: Party | None = None) -> MilestoneRecord:
    """Another party's signer confirms a milestone record; once every party but the recording one has, it counts.
    Only a milestone's latest record is confirmed (a later record is a correction that replaces it)."""
    contract = _lock(contract)
    if not selectors.signable_parties(contract=contract, person=actor):
        raise NotAParty()
    record = MilestoneRecord.objects.select_for_update().filter(contract=contract, pk=record_id).first()
    if record is None:
        raise MilestoneRecordNotFound()
    milestone = _milestone(contract, record.key)
    latest = MilestoneRecord.objects.filter(contract=contract, key=record.key).order_by("-pk").first()
    if latest is not None and latest.pk != record.pk:
        raise WrongContractState(detail=_("A later record of this milestone replaces this one: confirm that one."))
    if record.confirmed_at is not None:
        raise WrongContractState(detail=_("Every other party has confirmed this record already."))
    confirmed = set(record.confirmations.values_list("party_id", flat=True))
    besides = confirmed | ({record.party_id} if record.party_id else set())
    try:
        confirming = _acting_party(contract, actor, party, besides=besides)
    except NotAParty as error:
        raise NotAParty(detail=_("A record is confirmed by the other parties, each once; you have no party left to "
                                 "confirm it for.")) from error
    MilestoneConfirmation.objects.create(record=record, party=confirming, person=actor)
    confirmed.add(confirming.pk)
    required = set(contract.parties.values_list("pk", flat=True)) - ({record.party_id} if record.party_id else set())
    counts = required <= confirmed
    if counts:
        record.confirmed_at = timezone.now()
        record.save(update_fields=["confirmed_at"])
    record_event(actor=actor, subject=contract, kind="contract.milestone_confirmed", organisation=contract.venture,
                 data={"milestone": record.key, "record": record.pk, "done_on": record.done_on.isoformat(),
                       "due": milestone.due_on.isoformat(), "party": confirming.key, "counts": counts})
    if counts:
        for person in selectors.signers_of(contract=contract):
            notify(person=person, title=_("Milestone “%(milestone)s” of “%(title)s” is confirmed")
                   % {"milestone": milestone.title, "title": contract.title},
                   body=_("Met on %(day)s, confirmed by every party.") % {"day": record.done_on.isoformat()},
                   url=selectors.contract_url(contract), key=f"contract-{contract.pk}-milestone-met-{record.pk}")
    return record


def _party_account(contract: Contract, party: Party, *, paying: bool, currency: str) -> Account:
    """The account a clause's transfer moves money from or to: the contract's venture's operating account (it pays
    from its funds); another party pays from its clearing account (money it brings in from outside, as investors'
    tranches do) and is paid into its supplier payable, investor returns or (a person) wallet account."""
    if party.organisation_id == contract.venture_id:
        purpose = AccountPurpose.VENTURE_OPERATING
    elif paying:
        purpose = AccountPurpose.CLEARING
    elif party.person_id:
        purpose = AccountPurpose.USER_WALLET
    else:
        kind = party.organisation.kind if party.organisation is not None else ""
        purpose = {OrganisationKind.SUPPLIER.value: AccountPurpose.SUPPLIER_PAYABLE,
                   OrganisationKind.INVESTOR.value: AccountPurpose.INVESTOR_RETURNS}.get(kind, AccountPurpose.CLEARING)
    return account_open(organisation=party.organisation, person=party.person, purpose=purpose, currency=currency)


def bet_on_transfer_id(*, contract: Contract, key: str) -> uuid.UUID:
    return uuid.uuid5(BET_ON_NAMESPACE, f"contract:{contract.pk}:bet-on:{key}")


def _bet_on_pay(contract: Contract, clause: BetOn, actor: User | None) -> None:
    """Move what the decided outcome says through the ledger, once (a deterministic transfer id). A refusal (the
    payer's funds do not cover it) is kept on the clause and retried by the hourly job."""
    spec = clause.transfer
    if not spec or clause.transfer_id:
        return
    parties = {p.key: p for p in contract.parties.select_related("organisation", "person")}
    transfer_id = bet_on_transfer_id(contract=contract, key=clause.key)
    try:
        with transaction.atomic():
            transfers_create(transfers=[TransferSpec(
                id=transfer_id, amount=spec["amount"], code=spec["code"],
                debit_account=_party_account(contract, parties[spec["from"]], paying=True, currency=spec["currency"]),
                credit_account=_party_account(contract, parties[spec["to"]], paying=False,
                                              currency=spec["currency"]),
                venture=contract.venture if contract.venture.kind == OrganisationKind.VENTURE else None,
                reference=f"contract:{contract.pk}:bet-on:{clause.key}",
                metadata={"contract": contract.pk, "clause": clause.key, "outcome": clause.outcome},
            )], actor=actor)
    except DomainError as error:
        clause.transfer_error = str(error.detail)[:2000]
        clause.save(update_fields=["transfer_error"])
        record_event(actor=actor, subject=contract, kind="contract.bet_on_transfer_refused",
                     organisation=contract.venture, data={"clause": clause.key, "reason": clause.transfer_error})
        return
    clause.transfer_id, clause.transfer_error = transfer_id, ""
    clause.save(update_fields=["transfer_id", "transfer_error"])
    BetOn.objects.filter(version__contract=contract, key=clause.key, outcome=clause.outcome).update(
        transfer_id=transfer_id, transfer_error="")
    record_event(actor=actor, subject=contract, kind="contract.bet_on_transfer", organisation=contract.venture,
                 data={"clause": clause.key, "transfer": str(transfer_id), "amount": spec["amount"],
                       "currency": spec["currency"], "from": spec["from"], "to": spec["to"]})


@transaction.atomic
def bet_on_evaluate(*, contract: Contract, key: str, actor: User | None = None,
                    now: datetime | None = None) -> BetOn:
    """Measure a clause's target from platform data up to its date: met → the `if_met` outcome (as soon as it is
    met); missed once the date has passed. Once decided it stays decided, and the outcome's transfer (if the clause
    names one) moves through the ledger."""
    contract = _lock(contract)
    if actor is not None and not selectors.signable_parties(contract=contract, person=actor) \
            and not accounts_selectors.is_operator(person=actor):
        raise NotAParty()
    clause = (BetOn.objects.select_for_update().select_related("target")
              .filter(version=_in_force_version(contract), key=key).first())
    if clause is None:
        raise InvalidTerms(detail=_("There is no clause %(key)s in the terms in force.") % {"key": key})
    if clause.outcome:
        _bet_on_pay(contract, clause, actor)  # a refused transfer is tried again
        return clause
    now = now or timezone.now()
    measured = selectors.target_measure(target=clause.target, until=min(clause.by, clause.target.period_end, now))
    if measured >= clause.target.threshold:
        clause.outcome = "met"
    elif now >= clause.by:
        clause.outcome = "missed"
    else:
        raise NotDueYet(detail=_("Measured %(value)s of %(threshold)s so far; the clause is decided by %(by)s.")
                        % {"value": measured, "threshold": clause.target.threshold, "by": clause.by.date()})
    clause.measured = measured
    clause.evaluated_at = now
    clause.save(update_fields=["outcome", "measured", "evaluated_at"])
    record_event(actor=actor, subject=contract, kind="contract.bet_on", organisation=contract.venture,
                 data={"clause": key, "outcome": clause.outcome, "measured": measured,
                       "threshold": clause.target.threshold})
    _bet_on_pay(contract, clause, actor)
    consequence = clause.if_met if clause.outcome == "met" else clause.otherwise
    spec = clause.transfer
    if spec and clause.transfer_id:
        consequence += "\n" + _("Transferred through the ledger: %(amount)s %(currency)s (minor units) from "
                                 "%(payer)s to %(payee)s.") % {"amount": spec["amount"], "currency": spec["currency"],
                                                              "payer": spec["from"], "payee": spec["to"]}
    elif spec:
        consequence += "\n" + _("The ledger refused the transfer for now (%(reason)s); it is tried again every "
                                 "hour.") % {"reason": clause.transfer_error}
    for person in selectors.signers_of(contract=contract):
        notify(person=person, title=_("Clause %(key)s of “%(title)s”: %(outcome)s")
               % {"key": key, "title": contract.title, "outcome": clause.get_outcome_display()},
               body=consequence, url=selectors.contract_url(contract),
               key=f"contract-{contract.pk}-bet-{clause.pk}")
    return clause


def bet_ons_evaluate_due(*, now: datetime | None = None) -> int:
    """The scheduler's sweep: evaluate every undecided clause of terms in force whose date has passed, and try again
    the transfers of decided ones that the ledger refused."""
    now = now or timezone.now()
    due: Iterable[BetOn] = BetOn.objects.filter(
        Q(outcome="", by__lte=now) | (~Q(outcome="") & Q(transfer_id__isnull=True) & ~Q(transfer_error="")),
        version__state=VersionState.SIGNED).select_related("version__contract")
    done = 0
    for clause in list(due):
        bet_on_evaluate(contract=clause.version.contract, key=clause.key, now=now)
        done += 1
    return done
