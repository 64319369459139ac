"""The statement's figures on a small known world (see test_statement_fixtures): the numbers a user would check."""

import uuid
from collections.abc import Callable
from decimal import Decimal

import pytest

from makercloud.accounts.models import User
from makercloud.ledger.selectors.statements import GROUPS, Statement, statements_of
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create
from makercloud.ledger.statement_periods import period_parse
from makercloud.ledger.tests.test_statement_fixtures import World, build_world


@pytest.fixture
def world(make_person: Callable[..., User]) -> World:
    return build_world(make_person)


def _month(world: World, label: str) -> Statement:
    return statements_of(venture=world.venture, period=period_parse(label))[0]


def test_october_revenue_is_net_of_the_refund_and_split_by_class(world: World) -> None:
    october = _month(world, "2026-10")
    assert october.currency == "CNY"
    assert (october.product_sales, october.product_refunds, october.product_revenue) == (30000, 10000, 20000)
    assert (october.ecosystem_sales, october.ecosystem_revenue) == (2000, 2000)
    assert october.revenue == 22000
    assert (october.units_sold, october.units_refunded, october.units) == (3, 1, 2)


def test_october_costs_value_added_and_where_every_unit_went(world: World) -> None:
    october = _month(world, "2026-10")
    # 30% of 300.00 + 20.00 − 100.00 to the supplier; 5% of the same to the platform.
    assert october.supplier_payables == 6600
    assert october.resources_used == 1100
    assert october.costs == 7700
    assert october.value_added == 14300
    assert october.shared == {"makers": 12100, "co_creators": 2200, "suppliers": 6600, "platform": 1100,
                              "investors": 0}
    assert october.unshared == 0
    # Each party, in group order: the co-creators by their points (3 : 1) of 10% of the month's net revenue.
    assert [(p.group, p.name, p.amount) for p in october.parties] == [
        ("makers", "Quiet Washer", 12100), ("co_creators", "Ada", 1650), ("co_creators", "Bo", 550),
        ("suppliers", "Drum Motors", 6600), ("platform", "makercloud", 1100),
    ]


def test_user_resources_follow_the_devices(world: World) -> None:
    september, october, november = statements_of(venture=world.venture, period=period_parse("2026-11"), count=3)
    assert [s.period.label for s in (september, october, november)] == ["2026-09", "2026-10", "2026-11"]
    assert (september.users_reached, september.new_users, september.devices_in_homes) == (1, 1, 1)
    assert (september.active_devices, september.active_users) == (0, 0)
    assert (october.users_reached, october.new_users, october.devices_in_homes) == (2, 1, 2)
    assert (october.active_devices, october.active_users) == (2, 2)  # W1 telemetry, W2 event
    assert (november.users_reached, november.new_users) == (2, 0)
    assert (november.active_devices, november.active_users) == (1, 1)  # W1 last seen
    assert october.co_creators == 2
    assert october.co_creators_rewarded == 2
    assert october.repeat_buyers is None  # sales carry no buyer yet


def test_marginal_return_compares_with_the_previous_period(world: World) -> None:
    september, october = statements_of(venture=world.venture, period=period_parse("2026-10"), count=2)
    assert (september.revenue, september.value_added) == (20000, 13000)
    assert october.value_added_change == 1300
    assert october.revenue_change == 2000
    assert october.marginal_return == Decimal("0.6500")
    assert october.value_added_per_active_user == 7150
    assert october.value_added_margin == Decimal("0.6500")
    assert september.value_added_per_active_user is None  # nobody active


def test_a_quarter_is_the_sum_of_its_months(world: World) -> None:
    q4 = statements_of(venture=world.venture, period=period_parse("2026-Q4"))[0]
    months = statements_of(venture=world.venture, period=period_parse("2026-12"), count=3)
    assert [m.period.label for m in months] == ["2026-10", "2026-11", "2026-12"]
    for figure in ("product_sales", "product_refunds", "ecosystem_sales", "revenue", "costs", "value_added",
                   "units", "supplier_payables", "resources_used"):
        assert getattr(q4, figure) == sum(getattr(m, figure) for m in months), figure
    for group in GROUPS:
        assert q4.shared[group] == sum(m.shared[group] for m in months)
    assert q4.revenue == 42000 and q4.value_added == 27300
    # People and devices are counted once per quarter, not summed.
    assert (q4.active_devices, q4.active_users, q4.users_reached) == (2, 2, 2)
    q3 = statements_of(venture=world.venture, period=period_parse("2026-Q3"))[0]
    assert (q3.revenue, q3.value_added) == (20000, 13000)
    assert q4.marginal_return == (Decimal(27300 - 13000) / Decimal(42000 - 20000)).quantize(Decimal("0.0001"))


def test_a_period_without_activity_is_all_zero_and_the_other_currency_is_empty(world: World) -> None:
    march = _month(world, "2026-03")
    assert (march.revenue, march.value_added, march.active_users, march.users_reached) == (0, 0, 0, 0)
    assert march.marginal_return is None
    euros = statements_of(venture=world.venture, period=period_parse("2026-10"), currency="EUR")[0]
    assert (euros.currency, euros.revenue, euros.costs) == ("EUR", 0, 0)


def test_a_hand_made_transfer_naming_a_sale_does_not_change_the_statement(world: World) -> None:
    """Only the transfers a settlement made count: an adjustment that quotes a sale's event id is not one of them."""
    before = _month(world, "2026-10")
    operating = account_open(organisation=world.venture.organisation, purpose="venture_operating", currency="CNY")
    payable = account_open(organisation=world.supplier, purpose="supplier_payable", currency="CNY")
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=operating, credit_account=payable,
                                             amount=500, code="adjustment", venture=world.venture.organisation,
                                             reference="oct-1")])
    after = _month(world, "2026-10")
    assert (after.shared, after.value_added) == (before.shared, before.value_added)
