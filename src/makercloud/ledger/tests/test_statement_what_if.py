"""What-if allocates each planned unit as settlement would: the preview's per-party totals are exactly the sum of
`allocate` over the units' seeds, even where shares are rounded (it allocates once per class of equal tie-breaks)."""

from collections import defaultdict
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makercloud.accounts.models import User
from makercloud.core.money import Money
from makercloud.ledger.rules import allocate, rule_parse, seed_of
from makercloud.ledger.selectors import rules as rules_selectors
from makercloud.ledger.selectors.statements import WhatIfLine, statement_what_if
from makercloud.ledger.statement_periods import period_parse
from makercloud.ledger.tests.test_statement_fixtures import World, build_world

# Prices ending in 5 leave every 10% line half a unit over: four-way ties, which the rotating tie-break decides
# by each event's seed (and the co-creators' 3 : 1 split of an amount ≡ 2 mod 4 ties too).
TIES = """split sale
  10% to @platform
  10% to @suppliers by bom_cost
  10% to @co_creators by points
  remaining to @venture
"""


@pytest.fixture
def world(make_person: Callable[..., User]) -> World:
    return build_world(make_person)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(price=st.integers(min_value=0, max_value=10**6).map(lambda k: 10 * k + 5),
       units=st.integers(min_value=1, max_value=40), refunds=st.integers(min_value=0, max_value=5))
def test_the_preview_is_the_sum_of_each_units_allocation(world: World, price: int, units: int, refunds: int) -> None:
    refunds = min(refunds, units)
    preview = statement_what_if(viewer=world.owner, venture=world.venture, period=period_parse("2026-12"),
                                currency="CNY", lines=[WhatIfLine(kind="sale", units=units, unit_price=price,
                                                                  refunds=refunds)], rule_text=TIES)
    rule = rule_parse(TIES)
    sets = rules_selectors.context_of(rule=world.venture.organisation.sharing_rules.get())
    expected: dict[str, int] = defaultdict(int)
    for unit in range(refunds, units):
        allocation = allocate(rule, Money(price, "CNY"), kind="sale",
                              context=rules_selectors.context_from(sets, seed=seed_of(f"what-if:0:{unit}")))
        for share in allocation.shares:
            expected[share.label if share.member else share.party] += share.minor
    got = {p.name if p.group in ("co_creators", "suppliers") else p.purpose: p.amount for p in preview.parties}
    assert got == {k: v for k, v in expected.items() if v}
    assert preview.revenue == (units - refunds) * price
    assert sum(preview.shared.values()) == preview.revenue
