"""ledger on the HTTP API: the win-win value-added statement (共赢增值表), its plans and the what-if preview.

    GET    /ventures/{id}/statements?period=2026-11&granularity=month&count=12[&format=csv]
    POST   /ventures/{id}/statements/what-if
    GET    /ventures/{id}/statement-plans
    GET, PUT, DELETE /ventures/{id}/statement-plans/{period}

The statement is public in aggregate; the venture's members and operators see it whole (see docs/statements.md).
"""

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, optional, requires, viewer
from makercloud.core.money import Money
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, MoneyOut
from makercloud.ledger.models.statements import StatementPlan
from makercloud.ledger.selectors import statements as selectors
from makercloud.ledger.selectors.statements import GROUPS, Statement, WhatIfLine
from makercloud.ledger.services import statements as services
from makercloud.ledger.statement_periods import Period, period_parse
from makercloud.ventures import selectors as ventures_selectors
from makercloud.ventures.models import Venture

router = Router(tags=["ledger"])

PeriodText = Annotated[str, Field(min_length=7, max_length=7, pattern=r"^\d{4}-(\d{2}|[Qq][1-4])$",
                                  description="A month (`2026-11`) or a quarter (`2026-Q4`), UTC.")]
Currency = Annotated[str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$", description="ISO 4217.")]
Amount = Annotated[int, Field(ge=-(10**15), le=10**15)]


# Output ---------------------------------------------------------------------------------------------------------


class UserResourcesOut(Schema):
    users_reached: int = Field(..., description="People with one of the venture's devices in their home by the end "
                                                "of the period (cumulative).")
    new_users: int = Field(..., description="Of those, reached for the first time in the period.")
    active_users: int = Field(..., description="Owners of the active devices.")
    active_devices: int = Field(..., description="Devices of the venture's models that sent telemetry or an event, "
                                                 "or were seen, in the period.")
    devices_in_homes: int = Field(..., description="Devices of the venture's models claimed into homes by the end of "
                                                   "the period.")
    repeat_buyers: int | None = Field(..., description="Buyers with more than one sale; null while sales carry no "
                                                       "buyer.")
    co_creators: int = Field(..., description="People and organisations in the co-creator set of the venture's rules.")
    co_creators_rewarded: int = Field(..., description="Co-creators who received a share in the period.")


class RevenueOut(Schema):
    product: MoneyOut
    ecosystem: MoneyOut = Field(..., description="Apps, subscriptions and services.")
    total: MoneyOut = Field(..., description="Net of refunds.")
    # Members and operators only:
    product_sales: MoneyOut | None = None
    product_refunds: MoneyOut | None = None
    ecosystem_sales: MoneyOut | None = None
    ecosystem_refunds: MoneyOut | None = None
    units_sold: int | None = None
    units_refunded: int | None = None
    units: int | None = Field(None, description="Product sales, less those refunded in full.")


class CostsOut(Schema):
    supplier_payables: MoneyOut
    resources_used: MoneyOut = Field(..., description="The platform's share (its resources and fees).")
    total: MoneyOut


class StatementPartyOut(Schema):
    group: str
    name: str
    organisation_id: int | None
    person_id: int | None
    amount: MoneyOut


class ValueSharedOut(Schema):
    makers: MoneyOut = Field(..., description="The venture itself (its operating account).")
    co_creators: MoneyOut = Field(..., description="Co-creating users (co-creator earnings and user wallets).")
    suppliers: MoneyOut
    platform: MoneyOut
    investors: MoneyOut
    unshared: MoneyOut = Field(..., description="Revenue credited to no group (zero when every sale was shared).")
    parties: list[StatementPartyOut] | None = Field(
        None, description="Per person and organisation: members and operators."
    )


class MarginalOut(Schema):
    value_added_per_active_user: MoneyOut | None
    value_added_margin: str | None = Field(..., description="Value added ÷ revenue, 4 decimals.")
    marginal_return: str | None = Field(..., description="Change in value added ÷ change in revenue since the "
                                                         "previous period, 4 decimals; null if revenue did not change.")
    value_added_change: MoneyOut | None
    revenue_change: MoneyOut | None
    compared_with: str


class PlanRowOut(Schema):
    figure: str
    planned: int
    actual: int
    difference: int
    attained_percent: str | None
    money: bool = Field(..., description="Money figures are in minor units of the statement's currency.")


class PlanOnStatementOut(Schema):
    revenue: MoneyOut | None
    units: int | None
    active_users: int | None
    value_added: MoneyOut | None
    source: str
    note: str
    from_months: bool = Field(..., description="A quarter without its own plan: the sum of its months' plans.")
    comparison: list[PlanRowOut]


class StatementOut(Schema):
    period: str
    granularity: str
    starts_at: datetime
    ends_at: datetime
    currency: str
    user_resources: UserResourcesOut
    revenue: RevenueOut
    costs: CostsOut
    value_added: MoneyOut
    value_shared: ValueSharedOut
    marginal: MarginalOut
    plan: PlanOnStatementOut | None = Field(None, description="Members and operators only.")


class StatementsOut(Schema):
    venture_id: int
    venture: str
    granularity: str
    currency: str
    view: Literal["full", "public"] = Field(..., description="`full` for members and operators, else `public`.")
    statements: list[StatementOut] = Field(..., description="Oldest first, ending with the period asked for.")


class WhatIfOut(StatementOut):
    preview: bool = True
    rule: Literal["text", "in-force"]


def _money(minor: int | None, currency: str) -> dict[str, Any] | None:
    return None if minor is None else Money(minor, currency).as_json()


def _ratio(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def statement_json(statement: Statement, *, full: bool) -> dict[str, Any]:
    """A statement as the API shows it; `full=False` leaves out the figures only insiders see."""
    c = statement.currency

    def m(minor: int | None) -> dict[str, Any] | None:
        return _money(minor, c)

    revenue: dict[str, Any] = {"product": m(statement.product_revenue), "ecosystem": m(statement.ecosystem_revenue),
                               "total": m(statement.revenue)}
    shared: dict[str, Any] = {group: m(statement.shared[group]) for group in GROUPS}
    shared["unshared"] = m(statement.unshared)
    body: dict[str, Any] = {
        "period": statement.period.label,
        "granularity": statement.period.granularity,
        "starts_at": statement.period.start,
        "ends_at": statement.period.end,
        "currency": c,
        "user_resources": {name: getattr(statement, name) for name in UserResourcesOut.model_fields},
        "revenue": revenue,
        "costs": {"supplier_payables": m(statement.supplier_payables), "resources_used": m(statement.resources_used),
                  "total": m(statement.costs)},
        "value_added": m(statement.value_added),
        "value_shared": shared,
        "marginal": {
            "value_added_per_active_user": m(statement.value_added_per_active_user),
            "value_added_margin": _ratio(statement.value_added_margin),
            "marginal_return": _ratio(statement.marginal_return),
            "value_added_change": m(statement.value_added_change),
            "revenue_change": m(statement.revenue_change),
            "compared_with": statement.period.previous().label,
        },
    }
    if full:
        revenue |= {"product_sales": m(statement.product_sales), "product_refunds": m(statement.product_refunds),
                    "ecosystem_sales": m(statement.ecosystem_sales),
                    "ecosystem_refunds": m(statement.ecosystem_refunds), "units_sold": statement.units_sold,
                    "units_refunded": statement.units_refunded, "units": statement.units}
        shared["parties"] = [
            {"group": p.group, "name": p.name, "organisation_id": p.organisation_id, "person_id": p.person_id,
             "amount": m(p.amount)} for p in statement.parties
        ]
        plan = statement.plan
        body["plan"] = None if plan is None else {
            "revenue": _money(plan.revenue, plan.currency), "units": plan.units, "active_users": plan.active_users,
            "value_added": _money(plan.value_added, plan.currency), "source": plan.source, "note": plan.note,
            "from_months": plan.from_months,
            "comparison": [{**row, "attained_percent": _ratio(row["attained_percent"])}
                           for row in statement.plan_comparison()],
        }
    return body


# CSV ------------------------------------------------------------------------------------------------------------

PUBLIC_COLUMNS = [
    "period", "currency", "users_reached", "new_users", "active_users", "active_devices", "devices_in_homes",
    "repeat_buyers", "co_creators", "co_creators_rewarded", "product_revenue", "ecosystem_revenue", "revenue",
    "supplier_payables", "resources_used", "costs", "value_added", *(f"shared_{g}" for g in GROUPS),
    "unshared", "value_added_per_active_user", "value_added_margin", "marginal_return",
]
FULL_COLUMNS = [
    "product_sales", "product_refunds", "ecosystem_sales", "ecosystem_refunds", "units_sold", "units_refunded",
    "units", "plan_revenue", "plan_units", "plan_active_users", "plan_value_added",
]
MONEY_COLUMNS = {
    "product_revenue", "ecosystem_revenue", "revenue", "supplier_payables", "resources_used", "costs", "value_added",
    *(f"shared_{g}" for g in GROUPS), "unshared", "value_added_per_active_user", "product_sales", "product_refunds",
    "ecosystem_sales", "ecosystem_refunds", "plan_revenue", "plan_value_added",
}


def _csv_value(statement: Statement, column: str) -> Any:
    if column == "period":
        return statement.period.label
    if column.startswith("shared_"):
        value: Any = statement.shared[column.removeprefix("shared_")]
    elif column.startswith("plan_"):
        plan = statement.plan
        value = None if plan is None else getattr(plan, column.removeprefix("plan_"))
        if plan is not None and column in MONEY_COLUMNS and plan.currency != statement.currency:
            value = None
    else:
        value = getattr(statement, column)
    if value is None:
        return ""
    if column in MONEY_COLUMNS:
        return str(Money(value, statement.currency).decimal)
    return str(value) if isinstance(value, Decimal) else value


def statements_csv(statements: list[Statement], *, full: bool) -> str:
    """One row per period; money in the currency's major units as exact decimals (199.00), ratios to 4 decimals."""
    columns = PUBLIC_COLUMNS + (FULL_COLUMNS if full else [])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for statement in statements:
        writer.writerow([_csv_value(statement, column) for column in columns])
    return out.getvalue()


# Statements -----------------------------------------------------------------------------------------------------


class StatementQuery(Schema):
    period: str | None = Field(None, max_length=40, description="`2026-11` or `2026-Q4`; default: the current one.")
    granularity: Literal["month", "quarter"] | None = Field(
        None, description="Default: the period's own. With `quarter`, a month stands for its quarter.")
    count: int = Field(1, ge=1, le=selectors.MAX_PERIODS, description="How many periods, ending with `period`.")
    currency: Currency | None = Field(None, description="Default: that of the venture's latest settlement.")
    format: Literal["json", "csv"] = Field("json", description="`csv`: one row per period (text/csv).")


@router.get("/ventures/{venture_id}/statements", response=StatementsOut, auth=optional("ventures:read"),
            summary="A venture's win-win value-added statements")
def statements_get(request: HttpRequest, venture_id: Id, query: Query[StatementQuery]) -> Any:
    """The win-win value-added statement (共赢增值表) of a venture for a month or quarter — and the `count - 1`
    periods before it, for period-over-period charts. Public in aggregate; the venture's members and operators also
    see refunds, units, each party's share and plan against actual (`view: full`). `format=csv` gives the same as a
    spreadsheet, one row per period."""
    venture = ventures_selectors.venture_get(venture_id=venture_id)
    period = period_parse(query.period, granularity=query.granularity)
    full = selectors.statement_full_view(viewer=viewer(request), venture=venture)
    statements = selectors.statements_of(venture=venture, period=period, count=query.count, currency=query.currency)
    if query.format == "csv":
        response = HttpResponse(statements_csv(statements, full=full), content_type="text/csv; charset=utf-8")
        name = f"statement-{venture.slug}-{statements[0].period.label}-{period.label}.csv"
        response["Content-Disposition"] = f'attachment; filename="{name}"'
        return response
    return {"venture_id": venture.pk, "venture": venture.name, "granularity": period.granularity,
            "currency": statements[-1].currency, "view": "full" if full else "public",
            "statements": [statement_json(s, full=full) for s in statements]}


class WhatIfLineIn(Input):
    kind: Literal["sale", "subscription", "service"] = "sale"
    units: int = Field(..., ge=0, le=selectors.MAX_WHAT_IF_EVENTS, description="How many events (units, months of "
                                                                               "subscription…)")
    unit_price: int = Field(..., ge=1, le=10**12, description="Minor units per event.")
    revenue_class: Literal["product", "ecosystem"] | None = Field(
        None, description="Default: `product` for sales, `ecosystem` for subscriptions and services.")
    refunds: int = Field(0, ge=0, description="Of the units, how many are refunded in full.")


class WhatIfIn(Input):
    period: PeriodText | None = Field(None, description="The period to compare with its plan; default: the current.")
    granularity: Literal["month", "quarter"] | None = None
    currency: Currency = "CNY"
    lines: list[WhatIfLineIn] = Field(..., min_length=1, max_length=50)
    rule: str | None = Field(None, max_length=20_000, pattern=NO_NUL,
                             description="A rule in the split language; default: the venture's rules in force.")
    active_users: int | None = Field(None, ge=0, le=2**31 - 1)


@router.post("/ventures/{venture_id}/statements/what-if", response={200: WhatIfOut, **responses(403, 404)},
             auth=requires("ventures:read"), summary="Preview a statement (calculate the win first)")
def statement_what_if(request: HttpRequest, venture_id: Id, body: WhatIfIn) -> Any:
    """事前算赢: the statement that planned volumes and prices would make under a rule (its text, or the venture's
    rules in force), before anyone commits. Nothing is written. The venture's members and operators."""
    venture = ventures_selectors.venture_get(venture_id=venture_id)
    period = period_parse(body.period, granularity=body.granularity)
    statement = selectors.statement_what_if(
        viewer=caller(request), venture=venture, period=period, currency=body.currency,
        lines=[WhatIfLine(kind=line.kind, units=line.units, unit_price=line.unit_price,
                          revenue_class=line.revenue_class, refunds=line.refunds) for line in body.lines],
        rule_text=body.rule, active_users=body.active_users,
    )
    return {**statement_json(statement, full=True), "preview": True,
            "rule": "text" if body.rule is not None else "in-force"}


# Plans ----------------------------------------------------------------------------------------------------------


class PlanOut(Schema):
    id: int
    period: str
    granularity: str
    currency: str
    revenue: int | None = Field(..., description="Minor units.")
    units: int | None
    active_users: int | None
    value_added: int | None = Field(..., description="Minor units.")
    note: str
    source: str
    updated_at: datetime

    @staticmethod
    def resolve_period(plan: StatementPlan) -> str:
        return selectors.plan_period(plan).label


class PlanIn(Input):
    currency: Currency = "CNY"
    revenue: Amount | None = Field(None, ge=0, description="Minor units.")
    units: int | None = Field(None, ge=0, le=2**31 - 1)
    active_users: int | None = Field(None, ge=0, le=2**31 - 1)
    value_added: Amount | None = Field(None, description="Minor units.")
    note: str = Field("", max_length=2000, pattern=NO_NUL)


def _venture_and_period(venture_id: int, period: str) -> tuple[Venture, Period]:
    return ventures_selectors.venture_get(venture_id=venture_id), period_parse(period)


@router.get("/ventures/{venture_id}/statement-plans", response=list[PlanOut], auth=requires("ventures:read"),
            summary="A venture's statement plans")
@paginate(CursorPage)
def plans_list(request: HttpRequest, venture_id: Id) -> Any:
    """The plans the statement compares with, newest first. The venture's members and operators."""
    venture = ventures_selectors.venture_get(venture_id=venture_id)
    selectors.ensure_statement_insider(viewer=caller(request), venture=venture)
    return StatementPlan.objects.filter(venture=venture)


@router.get("/ventures/{venture_id}/statement-plans/{period}", response=PlanOut, auth=requires("ventures:read"),
            summary="A venture's plan for a period")
def plan_get(request: HttpRequest, venture_id: Id, period: PeriodText) -> Any:
    """The planned figures the venture set for a month (`2026-11`) or a quarter (`2026-Q4`); a quarter without a plan
    of its own adds up its months' plans. The venture's members and operators only."""
    venture, parsed = _venture_and_period(venture_id, period)
    return selectors.statement_plan_get(viewer=caller(request), venture=venture, period=parsed)


@router.put("/ventures/{venture_id}/statement-plans/{period}", response={200: PlanOut, 201: PlanOut},
            auth=requires("ventures:write"), summary="Set a venture's plan for a period")
def plan_put(request: HttpRequest, venture_id: Id, period: PeriodText, body: PlanIn) -> Any:
    """Set (or replace) the plan for a month (`2026-11`) or quarter (`2026-Q4`): 201 when new. The venture's owners
    and administrators, and operators. A figure left out is not planned."""
    venture, parsed = _venture_and_period(venture_id, period)
    plan, created = services.statement_plan_set(
        actor=caller(request), venture=venture, period=parsed, currency=body.currency, revenue=body.revenue,
        units=body.units, active_users=body.active_users, value_added=body.value_added, note=body.note,
    )
    return Status(201 if created else 200, plan)


@router.delete("/ventures/{venture_id}/statement-plans/{period}", response={204: None},
               auth=requires("ventures:write"), summary="Withdraw a venture's plan for a period")
def plan_delete(request: HttpRequest, venture_id: Id, period: PeriodText) -> Any:
    """Withdraw the plan the venture set for that period; its statement then shows no plan against actual. The
    venture's owners and admins only."""
    venture, parsed = _venture_and_period(venture_id, period)
    services.statement_plan_delete(actor=caller(request), venture=venture, period=parsed)
    return Status(204, None)
