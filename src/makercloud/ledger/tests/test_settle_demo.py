"""The demo world's revenue: rules, a year of settled history, idempotent seeding, the live stream."""

import random

import pytest

from makercloud.ledger import demo
from makercloud.ledger.models import Settlement, SharingRule, Transfer
from makercloud.ledger.selectors.rules import settlement_recompute
from makercloud.web import demo as web_demo

pytestmark = pytest.mark.django_db


def test_the_demo_world_has_rules_and_a_year_of_settled_revenue() -> None:
    assert not demo.is_seeded()
    web_demo.seed(say=lambda _line: None)
    assert demo.is_seeded()
    assert SharingRule.objects.filter(public=True).count() == 3
    months = {s.occurred_at.strftime("%Y-%m") for s in Settlement.objects.filter(kind="sale")}
    assert len(months) == 12
    assert Settlement.objects.filter(kind="refund").exists()
    assert Settlement.objects.filter(kind="subscription", revenue_class="ecosystem").exists()
    sales = Settlement.objects.filter(kind="sale").order_by("?")[:20]
    assert all(settlement_recompute(settlement=s).matches for s in sales)
    count, transfers = Settlement.objects.count(), Transfer.objects.count()

    web_demo.seed(say=lambda _line: None)  # again: nothing settled twice
    assert (Settlement.objects.count(), Transfer.objects.count()) == (count, transfers)

    live = demo.settle_one_sale(rng=random.Random(1))
    assert live is not None and live.kind in ("sale", "refund")
    assert Settlement.objects.count() == count + 1
