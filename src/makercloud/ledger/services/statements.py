"""ledger services (writes): statements — a venture's plan for a month or quarter, set and withdrawn.

The statement itself is computed, never written; its plan is the only thing here that changes. Plans are set by the
venture's owners and administrators (and operators); contracts in force write theirs from their targets with
`statement_plans_replace(source="contract")`.
"""

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import User
from makercloud.core.events import record_event
from makercloud.core.money import InvalidMoney, Money
from makercloud.ledger.errors import InvalidPlan, StatementPlanNotFound
from makercloud.ledger.models.statements import PlanSource, StatementPlan
from makercloud.ledger.statement_periods import Period
from makercloud.ventures.models import Venture

MAX_AMOUNT = 10**15  # minor units: ten trillion yuan is more than any venture plans
MAX_COUNT = 2**31 - 1
FIGURES = ("revenue", "units", "active_users", "value_added")


def _check(*, currency: str, revenue: int | None, units: int | None, active_users: int | None,
           value_added: int | None, note: str) -> None:
    try:
        Money(0, currency)
    except InvalidMoney as error:
        raise InvalidPlan(detail=_("%(currency)s is not an ISO 4217 currency code.") % {"currency": currency[:8]}) \
            from error
    if revenue is None and units is None and active_users is None and value_added is None:
        raise InvalidPlan(detail=_("Plan at least one figure: revenue, units, active users or value added."))
    if revenue is not None and not 0 <= revenue <= MAX_AMOUNT:
        raise InvalidPlan(detail=_("Planned revenue must be between 0 and %(max)s minor units.") % {"max": MAX_AMOUNT})
    if value_added is not None and not -MAX_AMOUNT <= value_added <= MAX_AMOUNT:
        raise InvalidPlan(detail=_("Planned value added must be within ±%(max)s minor units.") % {"max": MAX_AMOUNT})
    for count in (units, active_users):
        if count is not None and not 0 <= count <= MAX_COUNT:
            raise InvalidPlan(detail=_("Planned units and active users must be whole numbers from 0."))
    if len(note) > 2000:
        raise InvalidPlan(detail=_("The note is limited to 2,000 characters."))


@transaction.atomic
def statement_plan_set(
    *,
    actor: User,
    venture: Venture,
    period: Period,
    currency: str,
    revenue: int | None = None,
    units: int | None = None,
    active_users: int | None = None,
    value_added: int | None = None,
    note: str = "",
    source: str = PlanSource.VENTURE,
) -> tuple[StatementPlan, bool]:
    """Set the venture's plan for a period (creating or replacing it). Returns the plan and whether it is new."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=venture.organisation)
    note = note.strip()
    _check(currency=currency, revenue=revenue, units=units, active_users=active_users, value_added=value_added,
           note=note)
    figures = {"currency": currency, "revenue": revenue, "units": units, "active_users": active_users,
               "value_added": value_added, "note": note, "source": source}
    plan = (
        StatementPlan.objects.select_for_update()
        .filter(venture=venture, granularity=period.granularity, period_start=period.start_date)
        .first()
    )
    created = plan is None
    if plan is None:
        plan = StatementPlan.objects.create(venture=venture, granularity=period.granularity,
                                            period_start=period.start_date, created_by=actor, **figures)
    else:
        if all(getattr(plan, name) == value for name, value in figures.items()):
            return plan, False
        for name, value in figures.items():
            setattr(plan, name, value)
        plan.created_by = actor
        plan.save()
    record_event(actor=actor, subject=venture, kind="statement.plan_set", organisation=venture.organisation,
                 data={"period": period.label, **{k: v for k, v in figures.items() if k != "note"}})
    return plan, created


@transaction.atomic
def statement_plan_delete(*, actor: User, venture: Venture, period: Period) -> None:
    """Withdraw the venture's plan for a period."""
    accounts_selectors.ensure_can_manage(person=actor, organisation=venture.organisation)
    deleted, _rows = StatementPlan.objects.filter(
        venture=venture, granularity=period.granularity, period_start=period.start_date
    ).delete()
    if not deleted:
        raise StatementPlanNotFound(detail=_("There is no plan for %(period)s.") % {"period": period.label})
    record_event(actor=actor, subject=venture, kind="statement.plan_deleted", organisation=venture.organisation,
                 data={"period": period.label})


@transaction.atomic
def statement_plans_replace(*, venture: Venture, source: str, plans: Mapping[Period, Mapping[str, Any]],
                            reason: str) -> int:
    """Make the venture's plans of `source` exactly `plans` (period → currency, figures and note): that source's
    plans of other periods are withdrawn, and each given period's plan is set, whatever set it before. For writers
    that are not people (contracts in force): the caller is the authority, so nothing is checked about who acts.
    Returns how many plans were created, changed or withdrawn."""
    for figures in plans.values():
        _check(currency=figures["currency"], revenue=figures.get("revenue"), units=figures.get("units"),
               active_users=figures.get("active_users"), value_added=figures.get("value_added"),
               note=figures.get("note", ""))
    wanted = {(period.granularity, period.start_date): period for period in plans}
    existing = {(plan.granularity, plan.period_start): plan
                for plan in StatementPlan.objects.select_for_update().filter(venture=venture)}
    changed = 0
    for mark, plan in existing.items():
        if plan.source == source and mark not in wanted:
            plan.delete()
            changed += 1
    for mark, period in wanted.items():
        values = {"currency": plans[period]["currency"], "note": plans[period].get("note", ""), "source": source,
                  **{name: plans[period].get(name) for name in FIGURES}}
        found = existing.get(mark)
        if found is None:
            StatementPlan.objects.create(venture=venture, granularity=period.granularity,
                                         period_start=period.start_date, created_by=None, **values)
        elif any(getattr(found, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(found, name, value)
            found.created_by = None
            found.save()
        else:
            continue
        changed += 1
    if changed:
        record_event(actor=None, subject=venture, kind="statement.plans_replaced", organisation=venture.organisation,
                     data={"source": source, "reason": reason,
                           "periods": sorted(period.label for period in plans)})
    return changed
