"""ledger selectors (reads): the win-win value-added statement (共赢增值表) per venture and period.

A statement is computed whenever it is asked for, from the platform's own data — never stored:

- revenue from R's `Settlement` rows (sales, subscriptions and services, net of refunds), by revenue class;
- where it went from the transfers those settlements made — the settlement's own linked batch (`Settlement.batch`,
  drawn by the journal, so no hand-made transfer can be in it), narrowed to the transfers with its venture and event
  id — netted per recipient account: credits minus debits, so a refund takes back what its sale gave. The account's
  purpose names the stakeholder group; costs are what went to suppliers (payables) and to the platform (resources
  used);
- user resources from devices of the venture's device models (owners, telemetry, events, last contact) and the
  co-creator set of the venture's rules.

Every figure is one SQL aggregate over all the ventures and periods asked for (grouped by venture and by period with a
CASE over the periods' bounds, portable between SQLite and PostgreSQL); Python only assembles the grouped rows. A
settlement belongs to the period of its `occurred_at` (UTC), whenever it was settled.

Who sees what: the venture's members and the platform's operators see the full statement; everyone else sees the
public aggregates (see `PUBLIC_FIELDS` and docs/statements.md) — never a figure about one person or organisation.
"""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from django.db import connection
from django.db.models import Count, F, Q

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Membership, Organisation, OrganisationKind, User
from makercloud.core.money import Money
from makercloud.devices.models import Device, DeviceEvent, DeviceModel, TelemetryPoint
from makercloud.ledger.errors import InvalidWhatIf, NotVentureInsider, StatementPlanNotFound
from makercloud.ledger.models.journal import Account, AccountPurpose, Transfer, TransferCode, TransferKind
from makercloud.ledger.models.rules import PartyMember, RevenueClass, Settlement, SettlementKind, SharingRule
from makercloud.ledger.models.statements import Granularity, StatementPlan
from makercloud.ledger.rules import Rule, allocate, rule_parse, seed_of
from makercloud.ledger.rules.errors import NoRuleInForce, RuleDoesNotApply
from makercloud.ledger.selectors import rules as rules_selectors
from makercloud.ledger.statement_periods import Period, period_of
from makercloud.ventures.models import Venture

DEFAULT_CURRENCY = "CNY"
MAX_PERIODS = 36

# The stakeholder groups of the statement, and the account purposes whose net receipts are each group's share.
GROUPS = ("makers", "co_creators", "suppliers", "platform", "investors")
PURPOSE_GROUP = {
    AccountPurpose.VENTURE_OPERATING.value: "makers",
    AccountPurpose.CO_CREATOR_EARNINGS.value: "co_creators",
    AccountPurpose.USER_WALLET.value: "co_creators",
    AccountPurpose.SUPPLIER_PAYABLE.value: "suppliers",
    AccountPurpose.PLATFORM_REVENUE.value: "platform",
    AccountPurpose.INVESTOR_RETURNS.value: "investors",
}
REVENUE_KINDS = (SettlementKind.SALE.value, SettlementKind.SUBSCRIPTION.value, SettlementKind.SERVICE.value)
CO_CREATOR_SET = "co_creators"
# The codes of the transfers a settlement makes.
SETTLEMENT_CODES = (TransferCode.SALE.value, TransferCode.REFUND.value, TransferCode.SUBSCRIPTION.value,
                    TransferCode.SERVICE.value)


# The statement --------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class PartyShare:
    """What one account owner of a group received, net of refunds (members and operators only)."""

    group: str
    purpose: str
    organisation_id: int | None
    person_id: int | None
    amount: int
    name: str = ""


@dataclass
class PlanFigures:
    revenue: int | None = None
    units: int | None = None
    active_users: int | None = None
    value_added: int | None = None
    currency: str = DEFAULT_CURRENCY
    source: str = "venture"
    note: str = ""
    from_months: bool = False  # a quarter without a plan of its own: the sum of its months' plans


@dataclass(slots=True)
class Statement:
    venture_id: int
    organisation_id: int
    period: Period
    currency: str
    # User resources.
    users_reached: int = 0
    new_users: int = 0
    active_users: int = 0
    active_devices: int = 0
    devices_in_homes: int = 0
    repeat_buyers: int | None = None  # sales carry no buyer yet: unknown until commerce sends one
    co_creators: int = 0
    co_creators_rewarded: int = 0
    # Revenue, in minor units, by class, before refunds, and the refunds.
    product_sales: int = 0
    product_refunds: int = 0
    ecosystem_sales: int = 0
    ecosystem_refunds: int = 0
    units_sold: int = 0
    units_refunded: int = 0
    sales_count: int = 0
    # Where the revenue went: net receipts per stakeholder group, and per party.
    shared: dict[str, int] = field(default_factory=lambda: dict.fromkeys(GROUPS, 0))
    parties: list[PartyShare] = field(default_factory=list)
    plan: PlanFigures | None = None
    previous: "Statement | None" = None

    # Derived figures ---------------------------------------------------------------------------------------------
    @property
    def product_revenue(self) -> int:
        return self.product_sales - self.product_refunds

    @property
    def ecosystem_revenue(self) -> int:
        return self.ecosystem_sales - self.ecosystem_refunds

    @property
    def revenue(self) -> int:
        return self.product_revenue + self.ecosystem_revenue

    @property
    def units(self) -> int:
        return self.units_sold - self.units_refunded

    @property
    def supplier_payables(self) -> int:
        return self.shared["suppliers"]

    @property
    def resources_used(self) -> int:
        return self.shared["platform"]

    @property
    def costs(self) -> int:
        return self.supplier_payables + self.resources_used

    @property
    def value_added(self) -> int:
        return self.revenue - self.costs

    @property
    def unshared(self) -> int:
        """Revenue not (yet) credited to any stakeholder group: zero when every settlement shared it all."""
        return self.revenue - sum(self.shared.values())

    @property
    def value_added_per_active_user(self) -> int | None:
        """Value added per active user, in minor units rounded toward zero; None without active users."""
        if not self.active_users:
            return None
        quotient = abs(self.value_added) // self.active_users
        return quotient if self.value_added >= 0 else -quotient

    @property
    def value_added_change(self) -> int | None:
        return None if self.previous is None else self.value_added - self.previous.value_added

    @property
    def revenue_change(self) -> int | None:
        return None if self.previous is None else self.revenue - self.previous.revenue

    @property
    def marginal_return(self) -> Decimal | None:
        """Change in value added over change in revenue since the previous period (4 decimals); None when revenue
        did not change (or there is no previous period)."""
        dv, dr = self.value_added_change, self.revenue_change
        if dv is None or not dr:
            return None
        return (Decimal(dv) / Decimal(dr)).quantize(Decimal("0.0001"), rounding=ROUND_HALF_EVEN)

    @property
    def value_added_margin(self) -> Decimal | None:
        if not self.revenue:
            return None
        return (Decimal(self.value_added) / Decimal(self.revenue)).quantize(Decimal("0.0001"),
                                                                            rounding=ROUND_HALF_EVEN)

    def plan_comparison(self) -> list[dict[str, Any]]:
        """Plan against actual for each planned figure: the actual, the difference and the share attained (%)."""
        if self.plan is None:
            return []
        rows = []
        actuals = {"revenue": self.revenue, "units": self.units, "active_users": self.active_users,
                   "value_added": self.value_added}
        for name, actual in actuals.items():
            planned = getattr(self.plan, name)
            if planned is None:
                continue
            money = name in ("revenue", "value_added")
            if money and self.plan.currency != self.currency:
                continue
            attained = None if not planned else (Decimal(actual) * 100 / Decimal(planned)).quantize(Decimal("0.1"))
            rows.append({"figure": name, "money": money, "planned": planned, "actual": actual,
                         "difference": actual - planned, "attained_percent": attained})
        return rows


# Who sees what --------------------------------------------------------------------------------------------------


def statement_full_view(*, viewer: User | None, venture: Venture) -> bool:
    """The venture's members and operators see the whole statement; others see its public aggregates."""
    if viewer is None or not viewer.is_authenticated:
        return False
    return accounts_selectors.is_member(person=viewer, organisation=venture.organisation) or \
        accounts_selectors.is_operator(person=viewer)


def ensure_statement_insider(*, viewer: User | None, venture: Venture) -> None:
    if not statement_full_view(viewer=viewer, venture=venture):
        raise NotVentureInsider()


@dataclass(frozen=True, slots=True)
class SettlementView:
    """What a viewer may see of one settlement's shares: all of them (the venture's members, operators), or the
    party-group totals and only the shares paid to the viewer or to an organisation they belong to (everyone else,
    as for the statement: what concerns one person or organisation stays with the venture)."""

    whole: bool
    own: frozenset[str] = frozenset()  # member keys ("person:7", "organisation:3") whose shares this viewer sees

    def sees(self, share: dict[str, Any]) -> bool:
        return self.whole or share.get("member") in self.own

    def shares(self, settlement: Settlement) -> list[dict[str, Any]]:
        return [share for share in settlement.shares if self.sees(share)]


def settlement_view(*, viewer: User | None, settlement: Settlement) -> SettlementView:
    if viewer is None or not viewer.is_authenticated:
        return SettlementView(whole=False)
    if accounts_selectors.is_operator(person=viewer) or accounts_selectors.is_member(
        person=viewer, organisation=settlement.venture
    ):
        return SettlementView(whole=True)
    organisations = Membership.objects.filter(person=viewer).values_list("organisation_id", flat=True)
    return SettlementView(whole=False, own=frozenset(
        [f"person:{viewer.pk}", *(f"organisation:{pk}" for pk in organisations)]
    ))


def settlement_groups(settlement: Settlement) -> dict[str, int]:
    """The settlement's shares summed per party group (platform, venture, suppliers, co_creators, investors), in
    the order the rule first names them: what anyone who may see the settlement sees."""
    totals: dict[str, int] = {}
    for share in settlement.shares:
        totals[share["party"]] = totals.get(share["party"], 0) + share["minor"]
    return totals


def statement_currency(*, venture: Venture) -> str:
    """The currency the venture's statement is kept in: that of its latest settlement, else its latest plan's."""
    latest = Settlement.objects.filter(venture_id=venture.organisation_id).order_by("-occurred_at", "-id") \
        .values_list("currency", flat=True).first()
    if latest:
        return latest
    planned = StatementPlan.objects.filter(venture=venture).order_by("-period_start") \
        .values_list("currency", flat=True).first()
    return planned or DEFAULT_CURRENCY


# SQL building blocks --------------------------------------------------------------------------------------------


def _adapt(moment: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(moment)


def _bucket_sql(column: str, periods: Sequence[Period]) -> tuple[str, list[Any]]:
    """A CASE giving the index of the period a time falls in (-1 before the first; None after the last)."""
    parts, params = [f"CASE WHEN {column} < %s THEN -1"], [_adapt(periods[0].start)]
    for i, period in enumerate(periods):
        parts.append(f"WHEN {column} < %s THEN {i}")
        params.append(_adapt(period.end))
    parts.append("END")
    return " ".join(parts), params


def _in_list(column: str, values: Sequence[int] | None) -> tuple[str, list[Any]]:
    if values is None:
        return "1=1", []
    if not values:
        return "1=0", []
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _table(model: Any) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _rows(sql: str, params: list[Any]) -> list[tuple[Any, ...]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


# Aggregates -----------------------------------------------------------------------------------------------------


def _revenue(orgs: Sequence[int] | None, periods: Sequence[Period], currency: str) -> list[tuple[Any, ...]]:
    """(venture org, period index, kind, revenue class, total, count) of settlements in the periods."""
    bucket, bucket_params = _bucket_sql("s.occurred_at", periods)
    where, where_params = _in_list("s.venture_id", orgs)
    sql = (
        f"SELECT s.venture_id, {bucket} AS b, s.kind, s.revenue_class, SUM(s.amount), COUNT(*) "  # noqa: S608 — names from the models, values as parameters
        f"FROM {_table(Settlement)} s WHERE {where} AND s.currency = %s AND s.occurred_at >= %s "
        f"AND s.occurred_at < %s GROUP BY s.venture_id, b, s.kind, s.revenue_class"
    )
    return _rows(sql, [*bucket_params, *where_params, currency, _adapt(periods[0].start), _adapt(periods[-1].end)])


def _units_refunded(orgs: Sequence[int] | None, periods: Sequence[Period], currency: str) -> list[tuple[Any, ...]]:
    """(venture org, period index, count) of refunds that gave back a whole product sale."""
    bucket, bucket_params = _bucket_sql("r.occurred_at", periods)
    where, where_params = _in_list("r.venture_id", orgs)
    sql = (
        f"SELECT r.venture_id, {bucket} AS b, COUNT(*) FROM {_table(Settlement)} r "  # noqa: S608 — names from the models, values as parameters
        f"JOIN {_table(Settlement)} s ON s.id = r.refund_of_id "
        f"WHERE {where} AND r.kind = %s AND s.kind = %s AND s.revenue_class = %s AND r.amount = s.amount "
        f"AND r.currency = %s AND r.occurred_at >= %s AND r.occurred_at < %s GROUP BY r.venture_id, b"
    )
    return _rows(sql, [*bucket_params, *where_params, SettlementKind.REFUND, SettlementKind.SALE, RevenueClass.PRODUCT,
                       currency, _adapt(periods[0].start), _adapt(periods[-1].end)])


def _shares(orgs: Sequence[int] | None, periods: Sequence[Period], currency: str,
            ) -> list[tuple[Any, ...]]:
    """(venture org, period index, purpose, organisation, person, net amount) received per account from the
    transfers of the periods' settlements: credits minus debits, posted transfers only."""
    bucket, bucket_params = _bucket_sql("s.occurred_at", periods)
    where, where_params = _in_list("s.venture_id", orgs)
    # Summed per (debit, credit) pair first — a handful of pairs per venture and period — then each pair counts once
    # per side (a constant two-row table): +net for the account credited, −net for the one debited; summed per
    # account, then named by the account's purpose and owner.
    sql = (
        f"SELECT p.venture, p.b, a.purpose, a.organisation_id, a.person_id, "  # noqa: S608 — names from the models, values as parameters
        f"SUM(CASE WHEN k.side = 1 THEN p.net ELSE -p.net END) FROM ("
        f"SELECT s.venture_id AS venture, {bucket} AS b, t.credit_account_id AS credit, "
        f"t.debit_account_id AS debit, SUM(t.amount) AS net "
        f"FROM {_table(Settlement)} s "
        f"JOIN {_table(Transfer)} t ON t.batch = s.batch AND t.venture_id = s.venture_id "
        f"AND t.reference = s.event_id "
        f"WHERE {where} AND s.currency = %s AND s.occurred_at >= %s AND s.occurred_at < %s AND t.kind IN (%s, %s) "
        f"AND t.code IN (%s, %s, %s, %s) "
        f"GROUP BY s.venture_id, b, t.credit_account_id, t.debit_account_id) p "
        f"CROSS JOIN (SELECT 1 AS side UNION ALL SELECT -1 AS side) k "
        f"JOIN {_table(Account)} a ON a.id = CASE WHEN k.side = 1 THEN p.credit ELSE p.debit END "
        f"GROUP BY p.venture, p.b, a.purpose, a.organisation_id, a.person_id"
    )
    return _rows(sql, [*bucket_params, *where_params, currency, _adapt(periods[0].start), _adapt(periods[-1].end),
                       TransferKind.SINGLE, TransferKind.POST, *SETTLEMENT_CODES])


def _activity(orgs: Sequence[int] | None, periods: Sequence[Period]) -> list[tuple[Any, ...]]:
    """(venture org, period index, active devices, active users): devices of the venture's models that sent
    telemetry or an event, or were last seen, in the period; users are those devices' owners."""
    start, end = _adapt(periods[0].start), _adapt(periods[-1].end)
    where, where_params = _in_list("m.organisation_id", orgs)
    device, model = _table(Device), _table(DeviceModel)
    selects, params = [], []
    for table, column in ((_table(TelemetryPoint), "x.ts"), (_table(DeviceEvent), "x.ts")):
        bucket, bucket_params = _bucket_sql(column, periods)
        selects.append(
            f"SELECT m.organisation_id AS venture, {bucket} AS b, d.id AS device, d.owner_id AS owner "  # noqa: S608 — names from the models, values as parameters
            f"FROM {table} x JOIN {device} d ON d.id = x.device_id JOIN {model} m ON m.id = d.model_id "
            f"WHERE {where} AND {column} >= %s AND {column} < %s"
        )
        params += [*bucket_params, *where_params, start, end]
    bucket, bucket_params = _bucket_sql("d.last_seen_at", periods)
    selects.append(
        f"SELECT m.organisation_id AS venture, {bucket} AS b, d.id AS device, d.owner_id AS owner "  # noqa: S608 — names from the models, values as parameters
        f"FROM {device} d JOIN {model} m ON m.id = d.model_id "
        f"WHERE {where} AND d.last_seen_at >= %s AND d.last_seen_at < %s"
    )
    params += [*bucket_params, *where_params, start, end]
    sql = (
        f"SELECT venture, b, COUNT(DISTINCT device), COUNT(DISTINCT owner) FROM ({' UNION '.join(selects)}) u "  # noqa: S608 — names from the models, values as parameters
        f"GROUP BY venture, b"
    )
    return _rows(sql, params)


def _firsts(orgs: Sequence[int] | None, periods: Sequence[Period]) -> tuple[list[tuple[Any, ...]], ...]:
    """Counts per (venture org, period index; -1 = before the first period) of people first reached — the first
    claim of one of the venture's devices into their home — and of devices claimed into homes."""
    end = _adapt(periods[-1].end)
    where, where_params = _in_list("m.organisation_id", orgs)
    device, model = _table(Device), _table(DeviceModel)
    bucket, bucket_params = _bucket_sql("f.first_at", periods)
    people = _rows(
        f"SELECT f.venture, {bucket} AS b, COUNT(*) FROM (SELECT m.organisation_id AS venture, d.owner_id AS owner, "  # noqa: S608 — names from the models, values as parameters
        f"MIN(d.claimed_at) AS first_at FROM {device} d JOIN {model} m ON m.id = d.model_id "
        f"WHERE {where} AND d.owner_id IS NOT NULL AND d.claimed_at < %s GROUP BY m.organisation_id, d.owner_id) f "
        f"GROUP BY f.venture, b",
        [*bucket_params, *where_params, end],
    )
    bucket, bucket_params = _bucket_sql("d.claimed_at", periods)
    devices = _rows(
        f"SELECT m.organisation_id, {bucket} AS b, COUNT(*) FROM {device} d JOIN {model} m ON m.id = d.model_id "  # noqa: S608 — names from the models, values as parameters
        f"WHERE {where} AND d.owner_id IS NOT NULL AND d.claimed_at < %s GROUP BY m.organisation_id, b",
        [*bucket_params, *where_params, end],
    )
    return people, devices


def _co_creators(orgs: Sequence[int] | None) -> dict[int, int]:
    """How many people and organisations are in the co-creator sets of each venture's rules (today)."""
    members = PartyMember.objects.filter(party_set__name=CO_CREATOR_SET, weight__gt=0)
    if orgs is not None:
        members = members.filter(party_set__rule__venture_id__in=orgs)
    rows = members.values(venture=F("party_set__rule__venture_id")).annotate(
        people=Count("person", distinct=True), organisations=Count("organisation", distinct=True)
    )
    return {row["venture"]: row["people"] + row["organisations"] for row in rows}


def _plans(venture_ids: Sequence[int] | None, periods: Sequence[Period]) -> dict[tuple[int, str], PlanFigures]:
    granularity = periods[0].granularity
    months = [m for p in periods for m in p.month_periods()]
    plans = StatementPlan.objects.filter(
        Q(granularity=granularity, period_start__gte=periods[0].start_date, period_start__lt=periods[-1].end.date())
        | Q(granularity=Granularity.MONTH, period_start__gte=months[0].start_date,
            period_start__lt=months[-1].end.date())
    )
    if venture_ids is not None:
        plans = plans.filter(venture_id__in=venture_ids)
    own: dict[tuple[int, str], PlanFigures] = {}
    summed: dict[tuple[int, str], PlanFigures] = {}
    for plan in plans:
        figures = PlanFigures(revenue=plan.revenue, units=plan.units, active_users=plan.active_users,
                              value_added=plan.value_added, currency=plan.currency, source=plan.source,
                              note=plan.note)
        if plan.granularity == granularity:
            own[(plan.venture_id, period_of(plan.period_start, granularity=granularity).label)] = figures
        if granularity == Granularity.QUARTER and plan.granularity == Granularity.MONTH:
            key = (plan.venture_id, period_of(plan.period_start, granularity=granularity).label)
            total = summed.setdefault(key, PlanFigures(currency=plan.currency, source=plan.source, from_months=True))
            if total.currency != plan.currency:
                continue
            for name in ("revenue", "units", "value_added"):
                value = getattr(plan, name)
                if value is not None:
                    setattr(total, name, (getattr(total, name) or 0) + value)
            if plan.active_users is not None:  # active users of a quarter are not a sum: the months' largest
                total.active_users = max(total.active_users or 0, plan.active_users)
    return {**summed, **own}


def statements_compute(
    *, ventures: Iterable[Venture] | None, periods: Sequence[Period], currency: str, parties: bool = True
) -> dict[tuple[int, str], Statement]:
    """Statements of the given ventures (None: every venture) for consecutive periods of one granularity, keyed by
    (venture id, period label). The period before the first is computed too, for the period-over-period figures."""
    if not periods or len(periods) > MAX_PERIODS + 1:
        raise ValueError("between 1 and MAX_PERIODS periods")
    window = [periods[0].previous(), *periods]
    if ventures is None:
        pairs = list(Venture.objects.values_list("id", "organisation_id"))
        orgs: list[int] | None = None
        venture_ids: list[int] | None = None
    else:
        pairs = [(v.pk, v.organisation_id) for v in ventures]
        orgs = [org for _id, org in pairs]
        venture_ids = [vid for vid, _org in pairs]
    table: dict[tuple[int, int], Statement] = {}
    for vid, org in pairs:
        for i, period in enumerate(window):
            table[(org, i)] = Statement(venture_id=vid, organisation_id=org, period=period, currency=currency)

    at = table.get  # (org, period index) → statement; None outside the window
    refund, sale, product = SettlementKind.REFUND.value, SettlementKind.SALE.value, RevenueClass.PRODUCT.value
    for org, b, kind, revenue_class, total, count in _revenue(orgs, window, currency):
        statement = at((org, b))
        if statement is None:
            continue
        total = int(total)
        if kind == refund:
            if revenue_class == product:
                statement.product_refunds += total
            else:
                statement.ecosystem_refunds += total
            continue
        if revenue_class == product:
            statement.product_sales += total
        else:
            statement.ecosystem_sales += total
        statement.sales_count += count
        if kind == sale and revenue_class == product:
            statement.units_sold += count
    for org, b, count in _units_refunded(orgs, window, currency):
        if statement := at((org, b)):
            statement.units_refunded += count

    names: dict[tuple[str, int], str] = {}
    share_rows = _shares(orgs, window, currency)
    if parties:
        org_ids = {row[3] for row in share_rows if row[3] is not None}
        person_ids = {row[4] for row in share_rows if row[4] is not None}
        names = {("o", o.pk): o.name for o in Organisation.objects.filter(pk__in=org_ids).only("name")}
        names |= {("p", p.pk): p.name or f"#{p.pk}" for p in User.objects.filter(pk__in=person_ids).only("name")}
    rewarded: dict[tuple[int, int], int] = defaultdict(int)
    co_creator_earnings = AccountPurpose.CO_CREATOR_EARNINGS.value
    for org, b, purpose, owner_org, owner_person, amount in share_rows:
        statement = at((org, b))
        group = PURPOSE_GROUP.get(purpose)
        if statement is None or group is None:
            continue
        amount = int(amount)
        statement.shared[group] += amount
        if purpose == co_creator_earnings and amount > 0:
            rewarded[(org, b)] += 1
        if parties and amount:
            name = names.get(("o", owner_org), "") if owner_org else names.get(("p", owner_person), "")
            statement.parties.append(PartyShare(group=group, purpose=purpose, organisation_id=owner_org,
                                                person_id=owner_person, amount=amount, name=name))
    for (org, b), count in rewarded.items():
        table[(org, b)].co_creators_rewarded = count

    for org, b, devices, users in _activity(orgs, window):
        if statement := at((org, b)):
            statement.active_devices, statement.active_users = devices, users

    people, devices = _firsts(orgs, window)
    for rows, attribute in ((people, "users_reached"), (devices, "devices_in_homes")):
        counts: dict[tuple[int, int], int] = {(org, b): count for org, b, count in rows}
        for _vid, org in pairs:
            running = counts.get((org, -1), 0)
            for i in range(len(window)):
                new = counts.get((org, i), 0)
                running += new
                setattr(table[(org, i)], attribute, running)
                if attribute == "users_reached":
                    table[(org, i)].new_users = new

    co_creators = _co_creators(orgs)
    plans = _plans(venture_ids, window)
    result: dict[tuple[int, str], Statement] = {}
    labels = [period.label for period in window]
    order = {group: i for i, group in enumerate(GROUPS)}
    for vid, org in pairs:
        previous = None
        count = co_creators.get(org, 0)
        for i, label in enumerate(labels):
            statement = table[(org, i)]
            statement.co_creators = count
            if plans:
                statement.plan = plans.get((vid, label))
            if len(statement.parties) > 1:
                statement.parties.sort(key=lambda p: (order[p.group], -p.amount, p.name))
            if previous is not None:
                statement.previous = previous
                result[(vid, label)] = statement
            previous = statement
    return result


def statements_of(*, venture: Venture, period: Period, count: int = 1, currency: str | None = None,
                  ) -> list[Statement]:
    """`count` consecutive statements of one venture ending with `period`, oldest first."""
    currency = currency or statement_currency(venture=venture)
    periods = period.series(count)
    computed = statements_compute(ventures=[venture], periods=periods, currency=currency)
    return [computed[(venture.pk, p.label)] for p in periods]


# Plans ----------------------------------------------------------------------------------------------------------


def statement_plans_of(*, viewer: User, venture: Venture) -> list[StatementPlan]:
    ensure_statement_insider(viewer=viewer, venture=venture)
    return list(StatementPlan.objects.filter(venture=venture).order_by("granularity", "-period_start"))


def statement_plan_get(*, viewer: User, venture: Venture, period: Period) -> StatementPlan:
    ensure_statement_insider(viewer=viewer, venture=venture)
    plan = StatementPlan.objects.filter(venture=venture, granularity=period.granularity,
                                        period_start=period.start_date).first()
    if plan is None:
        raise StatementPlanNotFound()
    return plan


def plan_period(plan: StatementPlan) -> Period:
    return period_of(plan.period_start, granularity=plan.granularity)



# What-if: calculate the win first (事前算赢) -------------------------------------------------------------------

PARTY_GROUP = {"platform": "platform", "venture": "makers", "co_creators": "co_creators", "suppliers": "suppliers",
               "investors": "investors"}
MAX_WHAT_IF_EVENTS = 50_000


@dataclass(frozen=True)
class WhatIfLine:
    """Planned volume of one kind of revenue: `units` events of `unit_price` minor units each; `refunds` of them
    given back in full."""

    kind: str
    units: int
    unit_price: int
    revenue_class: str | None = None
    refunds: int = 0


def _what_if_rules(*, venture: Venture, kinds: set[str], rule_text: str | None,
                   ) -> tuple[dict[str, tuple[Rule, dict[str, Any]]], str]:
    """The parsed rule and set context for each kind: the given text (with the sets of the venture's rules), or the
    rule in force for the kind."""
    sets: dict[str, Any] = {}
    for rule in SharingRule.objects.filter(venture_id=venture.organisation_id, retired_at=None).order_by("id"):
        for name, members in rules_selectors.context_of(rule=rule).items():
            sets.setdefault(name, members)
    if rule_text is not None:
        parsed = rule_parse(rule_text)
        return {kind: (parsed, sets) for kind in kinds}, "text"
    chosen: dict[str, tuple[Rule, dict[str, Any]]] = {}
    for kind in kinds:
        try:
            version = rules_selectors.rule_in_force(venture=venture.organisation, kind=kind)
        except NoRuleInForce as error:
            raise InvalidWhatIf(detail=str(error.detail) + " Give a rule text to preview with.") from error
        chosen[kind] = (rule_parse(version.text), rules_selectors.context_of(rule=version.rule))
    return chosen, "in-force"


def _seed_moduli(rule: Rule, sets: dict[str, Any]) -> tuple[int, ...]:
    """An allocation uses its event's tie-break seed only as `seed mod n`, n the number of lines sharing a block or
    of members sharing a set — never more than N, the longest block or set. Two seeds equal modulo every number up
    to N therefore allocate alike, and a preview of many units allocates once per such class."""
    longest = max([1, *(len(members) for members in sets.values())])

    def walk(block: Any) -> None:
        nonlocal longest
        longest = max(longest, len(block.lines))
        for item in block.lines:
            if item.block is not None:
                walk(item.block)

    for section in rule.sections:
        walk(section.block)
    return tuple(range(2, longest + 1))


def statement_what_if(
    *, viewer: User, venture: Venture, period: Period, currency: str, lines: Sequence[WhatIfLine],
    rule_text: str | None = None, active_users: int | None = None,
) -> Statement:
    """The statement the planned volumes would make, shared by the rule (its text, or the rules in force), before
    anyone commits: nothing is written. Each unit is shared as its own revenue event, as settlement would share it
    (tie-break seeds from made-up event ids, so where a share is rounded the real settlement can differ from the
    preview by one minor unit per event and line)."""
    ensure_statement_insider(viewer=viewer, venture=venture)
    if not lines:
        raise InvalidWhatIf(detail="Plan at least one line of revenue.")
    if sum(line.units for line in lines) > MAX_WHAT_IF_EVENTS:
        raise InvalidWhatIf(detail=f"A what-if shares at most {MAX_WHAT_IF_EVENTS} units in all.")
    for line in lines:
        if line.kind not in REVENUE_KINDS:
            raise InvalidWhatIf(detail=f"{line.kind!r} is not a kind of revenue: sale, subscription or service.")
        if line.refunds > line.units:
            raise InvalidWhatIf(detail="A line cannot refund more units than it sells.")
    try:
        Money(0, currency)
        rules, _source = _what_if_rules(venture=venture, kinds={line.kind for line in lines}, rule_text=rule_text)
    except RuleDoesNotApply as error:
        raise InvalidWhatIf(detail=str(error.detail)) from error
    statement = Statement(venture_id=venture.pk, organisation_id=venture.organisation_id, period=period,
                          currency=currency, active_users=active_users or 0, users_reached=0)
    party_totals: dict[tuple[str, str | None, str], int] = defaultdict(int)
    for number, line in enumerate(lines):
        revenue_class = line.revenue_class or (
            RevenueClass.PRODUCT if line.kind == SettlementKind.SALE else RevenueClass.ECOSYSTEM)
        rule, sets = rules[line.kind]
        moduli = _seed_moduli(rule, sets)
        cache: dict[tuple[int, ...], list[tuple[str, str | None, str, int]]] = {}
        for unit in range(line.refunds, line.units):  # a unit refunded in full gives back all it shared
            seed = seed_of(f"what-if:{number}:{unit}")
            residues = tuple(seed % m for m in moduli)
            shares = cache.get(residues)
            if shares is None:
                try:
                    allocation = allocate(rule, Money(line.unit_price, currency), kind=line.kind,
                                          context=rules_selectors.context_from(sets, seed=seed))
                except RuleDoesNotApply as error:
                    raise InvalidWhatIf(detail=str(error.detail)) from error
                shares = cache[residues] = [(s.party, s.member, s.label, s.minor) for s in allocation.shares]
            for party, member, label, minor in shares:
                party_totals[(party, member, label)] += minor
        gross, refunded = line.units * line.unit_price, line.refunds * line.unit_price
        if revenue_class == RevenueClass.PRODUCT:
            statement.product_sales += gross
            statement.product_refunds += refunded
        else:
            statement.ecosystem_sales += gross
            statement.ecosystem_refunds += refunded
        statement.sales_count += line.units
        if line.kind == SettlementKind.SALE and revenue_class == RevenueClass.PRODUCT:
            statement.units_sold += line.units
            statement.units_refunded += line.refunds
    platform = Organisation.objects.filter(kind=OrganisationKind.PLATFORM).order_by("id").first()
    singles = {"venture": f"organisation:{venture.organisation_id}",
               "platform": f"organisation:{platform.pk}" if platform else ""}
    single_labels = {"venture": venture.name, "platform": platform.name if platform else "platform"}
    merged: dict[tuple[str, str, str | None], tuple[str, int]] = {}
    for (party, member, label), amount in party_totals.items():
        if party in singles:
            member, label = singles[party], single_labels[party]
        owner_key = (PARTY_GROUP[party], party, member)
        merged[owner_key] = (label, merged.get(owner_key, ("", 0))[1] + amount)
    for (group, party, member), (label, amount) in merged.items():
        statement.shared[group] += amount
        owner, _sep, owner_id = (member or "").partition(":")
        if party == "co_creators" and amount > 0:
            statement.co_creators_rewarded += 1
        if amount:
            statement.parties.append(PartyShare(
                group=group, purpose=party, organisation_id=int(owner_id) if owner == "organisation" else None,
                person_id=int(owner_id) if owner == "person" else None, amount=amount, name=label))
    statement.co_creators = _co_creators([venture.organisation_id]).get(venture.organisation_id, 0)
    statement.parties.sort(key=lambda p: (GROUPS.index(p.group), -p.amount, p.name))
    statement.plan = _plans([venture.pk], [period]).get((venture.pk, period.label))
    return statement
