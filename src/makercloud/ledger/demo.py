"""The demo world's revenue: each demo venture gets a published sharing rule and a year of settled history (sales,
app subscriptions, a few refunds, month by month over the last 12 months), and `up --demo` keeps a stream of sample
sales coming (`settle_one_sale`, every ~20 s through ledger.jobs.demo_revenue).

Idempotent: event ids and amounts are derived from the venture and the month, so seeding again settles nothing twice.
"""

import random
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from makercloud.accounts.models import Organisation, User
from makercloud.core.money import Money
from makercloud.ledger.models.rules import Settlement, SharingRule
from makercloud.ledger.services import rules as rule_services
from makercloud.ledger.services.settlement import RevenueEvent, settle, settlements_bulk

# venture name → (rule text, unit price in fen, sales per month at the start and at the end of the year,
#                 app subscription price in fen or 0)
RULES: dict[str, tuple[str, int, int, int, int]] = {
    "Laundry Lab": ("""# Laundry Lab — how a washer sale is shared (published)
split sale
  5% to @platform
  10% to @co_creators by points
  30% to @suppliers by bom_cost
  5% to @investors by stake
  remaining to @venture

# The laundry app's subscription: the platform runs it, the co-creators designed the cycles
split subscription, service
  15% max 3.00 CNY to @platform
  20% to @co_creators by points
  remaining to @venture
""", 2_999_00, 18, 46, 9_90),
    "Cool Air Studio": ("""# Cool Air Studio — air conditioner sales
split sale, service
  5% to @platform
  25% to @suppliers by bom_cost
  40% to {
    20% to @co_creators equally
    remaining to @venture
  }
  remaining to @venture
""", 3_899_00, 10, 28, 0),
    "Kitchen Co-create": ("""# Kitchen Co-create — fridges designed with the families who cook
split any
  4% min 20.00 CNY to @platform
  12% to @co_creators by points
  28% to @suppliers by bom_cost
  remaining to @venture
""", 4_599_00, 6, 20, 0),
}
# set → venture → [(member, weight)]; a member is an e-mail handle (a person) or an organisation's name.
SETS: dict[str, dict[str, list[tuple[str, int]]]] = {
    "co_creators": {"Laundry Lab": [("zhao.lei", 340), ("maria.garcia", 120)],
                    "Cool Air Studio": [("maria.garcia", 1)],
                    "Kitchen Co-create": [("zhao.lei", 80), ("maria.garcia", 210)]},
    "suppliers": {"Laundry Lab": [("Precision Motors Ltd", 41_000), ("Sensorik Modules", 9_500)],
                  "Cool Air Studio": [("Sensorik Modules", 1)],
                  "Kitchen Co-create": [("Precision Motors Ltd", 30_000), ("Sensorik Modules", 12_000)]},
    "investors": {"Laundry Lab": [("Northstar Seed Fund", 1)]},
}


def _venture(name: str) -> Organisation | None:
    return Organisation.objects.filter(kind="venture", name=name).first()


def is_seeded() -> bool:
    """The demo world is seeded when its first venture has its rule."""
    return SharingRule.objects.filter(venture__name=next(iter(RULES)), name="Sales").exists()


def _member(who: str, people: dict[str, User]) -> rule_services.MemberSpec:
    return rule_services.MemberSpec(person=people[who]) if who in people else rule_services.MemberSpec(
        organisation=Organisation.objects.get(name=who))


def seed(*, people: dict[str, User], say: Callable[[str], None] = print, now: datetime | None = None) -> int:
    """Rules and a year of settled history for the demo ventures. Returns how many events were settled now."""
    now = now or timezone.now()
    settled = 0
    for name, (text, price, start, end, subscription) in RULES.items():
        venture = _venture(name)
        if venture is None:
            continue
        founder = venture.memberships.filter(role="owner").select_related("person").order_by("id").first()
        rule = SharingRule.objects.filter(venture=venture, name="Sales").first()
        if rule is None:
            version = rule_services.rule_create(actor=founder.person if founder else None,  # type: ignore[arg-type]
                                                venture=venture, name="Sales", text=text, public=True,
                                                effective_from=now - timedelta(days=400))
            rule = version.rule
            for set_name, by_venture in SETS.items():
                members = [_with_weight(_member(who, people), weight) for who, weight in by_venture.get(name, [])]
                if members:
                    rule_services.party_set_update(actor=None, rule=rule, name=set_name, members=members)
        settled += _history(venture, price=price, start=start, end=end, subscription=subscription, now=now)
    say(f"  ledger: {SharingRule.objects.filter(venture__kind='venture').count()} sharing rules, "
        f"{settled} revenue events settled now ({Settlement.objects.count()} in all)")
    return settled


def _with_weight(member: rule_services.MemberSpec, weight: int) -> rule_services.MemberSpec:
    return rule_services.MemberSpec(organisation=member.organisation, person=member.person, weight=weight)


def _history(venture: Organisation, *, price: int, start: int, end: int, subscription: int, now: datetime) -> int:
    """Twelve months of sales growing from `start` to `end` a month, app subscriptions, ~3% refunds."""
    settled = 0
    this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    for back in range(12, 0, -1):
        month = (this_month - timedelta(days=back * 30)).replace(day=1)
        label = month.strftime("%Y-%m")
        prefix = f"demo-{venture.slug}-{label}"
        if Settlement.objects.filter(event_id__startswith=prefix + "-").exists():
            continue
        rng = random.Random(prefix)  # noqa: S311 — sample data, not secrets
        count = start + (end - start) * (12 - back) // 11
        events: list[RevenueEvent] = []
        for n in range(count):
            at = month + timedelta(days=rng.randrange(28), hours=rng.randrange(24), minutes=rng.randrange(60))
            amount = price + rng.choice([0, 0, 0, -200_00, 150_00])  # a discount or an accessory now and then
            events.append(RevenueEvent(event_id=f"{prefix}-sale-{n}", venture=venture, kind="sale",
                                       revenue_class="product", amount=Money(amount, "CNY"), occurred_at=at))
            if subscription and rng.random() < 0.6:
                events.append(RevenueEvent(event_id=f"{prefix}-app-{n}", venture=venture, kind="subscription",
                                           revenue_class="ecosystem", amount=Money(subscription, "CNY"),
                                           occurred_at=at + timedelta(days=1)))
        for n in range(count):
            if rng.random() < 0.03:  # a refund, in full or in part, a few days after the sale
                sale = next(e for e in events if e.event_id == f"{prefix}-sale-{n}")
                part = sale.amount.minor if rng.random() < 0.5 else sale.amount.minor // 4
                events.append(RevenueEvent(event_id=f"{prefix}-refund-{n}", venture=venture, kind="refund",
                                           revenue_class="product", amount=Money(part, "CNY"),
                                           occurred_at=min(sale.occurred_at + timedelta(days=3), timezone.now()),
                                           refund_of=sale.event_id))
        settlements_bulk(events=events, actor=None)
        settled += len(events)
    return settled


def settle_one_sale(*, rng: Any = None) -> Settlement | None:
    """One live sample sale of a demo venture (now and then a refund of a recent one), for `up --demo`."""
    rng = rng or random.Random()  # noqa: S311
    name = rng.choice(list(RULES))
    venture = _venture(name)
    if venture is None or not SharingRule.objects.filter(venture=venture, retired_at=None).exists():
        return None
    _text, price, _start, _end, _subscription = RULES[name]
    if rng.random() < 0.05:
        recent = Settlement.objects.filter(venture=venture, kind="sale", event_id__startswith="demo-live-",
                                           refunds=None).order_by("-id").first()
        if recent is not None:
            return settle(event_id=f"{recent.event_id}-refund", venture=venture, kind="refund",
                          amount=Money(recent.amount, recent.currency), actor=None, refund_of=recent.event_id)
    amount = price + rng.choice([0, 0, -200_00, 150_00])
    return settle(event_id=f"demo-live-{uuid.uuid4().hex[:16]}", venture=venture, kind="sale",
                  revenue_class="product", amount=Money(amount, "CNY"), actor=None)
