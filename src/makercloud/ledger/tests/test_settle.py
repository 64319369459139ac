"""settle: a sale shared under the rule in force as one linked batch; idempotent by event id; refunds in proportion."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

from typing import Any

import pytest
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.core.money import Money
from makercloud.ledger.models import Account, Settlement, SharingRule, Transfer
from makercloud.ledger.rules.errors import NoRuleInForce, NotSettler, RefundTooLarge, SettlementConflict
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.selectors.rules import settlement_recompute
from makercloud.ledger.services import rules as rule_services
from makercloud.ledger.services.settlement import RevenueEvent, settle, settlements_bulk
from makercloud.ledger.tests.rules_fixtures import latest, parties, rule, venture  # noqa: F401
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db


def held(**owner: Any) -> int:
    """What an owner's accounts hold (credits minus debits posted), over every purpose."""
    return sum(balance_of(account=a).net_credit for a in Account.objects.filter(**owner, currency="CNY"))


def sale(venture: Venture, event_id: str, minor: int, actor: User | None = None, **more: Any) -> Settlement:
    return settle(event_id=event_id, venture=venture.organisation, kind=more.pop("kind", "sale"),
                  revenue_class="product", amount=Money(minor, "CNY"), actor=actor, **more)


def test_a_sale_pays_every_party_by_the_rule(maker: User, venture: Venture, rule: SharingRule,
                                             parties: dict[str, Any]) -> None:
    settlement = sale(venture, "order-1", 100_000, maker)  # 1,000.00 CNY

    assert held(organisation=venture.organisation) == 50_000
    assert held(organisation=parties["motors"]) == 22_500 and held(organisation=parties["sensors"]) == 7_500
    assert held(person=parties["zhao"]) == 7_500 and held(person=parties["maria"]) == 2_500
    assert held(organisation=parties["fund"]) == 5_000
    transfers = list(Transfer.objects.filter(reference="order-1"))
    assert len(transfers) == 7 and sum(t.amount for t in transfers) == 100_000
    assert {t.batch for t in transfers} == {settlement.batch}
    version = latest(rule)
    assert all(t.metadata["rule_hash"] == version.content_hash and t.metadata["rule_version_id"] == version.pk
               for t in transfers)
    assert all(t.code == "sale" and t.venture_id == venture.organisation.pk for t in transfers)
    assert all(t.debit_account.purpose == "clearing" for t in transfers)
    assert settlement_recompute(settlement=settlement).matches


def test_a_retry_settles_once_and_a_different_amount_is_a_conflict(maker: User, venture: Venture,
                                                                   rule: SharingRule) -> None:
    first = sale(venture, "order-2", 9_999, maker)
    again = sale(venture, "order-2", 9_999, maker)
    assert again.pk == first.pk
    assert Transfer.objects.filter(reference="order-2").count() == len(first.shares)
    assert held(organisation=venture.organisation) == sum(
        s["minor"] for s in first.shares if s["party"] == "venture")
    with pytest.raises(SettlementConflict):
        sale(venture, "order-2", 10_000, maker)


def test_refunds_reverse_in_proportion_and_never_exceed_the_sale(maker: User, venture: Venture, rule: SharingRule,
                                                                 parties: dict[str, Any]) -> None:
    sale(venture, "order-3", 100_000, maker)
    refund = sale(venture, "refund-3a", 10_000, maker, kind="refund", refund_of="order-3")  # a tenth back

    assert held(organisation=venture.organisation) == 45_000
    assert held(organisation=parties["motors"]) == 20_250
    assert held(person=parties["maria"]) == 2_250
    assert all(t.code == "refund" and t.credit_account.purpose == "clearing"
               for t in Transfer.objects.filter(reference="refund-3a"))
    assert settlement_recompute(settlement=refund).matches

    with pytest.raises(RefundTooLarge):
        sale(venture, "refund-3b", 90_001, maker, kind="refund", refund_of="order-3")
    sale(venture, "refund-3c", 90_000, maker, kind="refund", refund_of="order-3")  # the rest: everyone back to 0
    for owner in ({"organisation": venture.organisation}, {"organisation": parties["motors"]},
                  {"organisation": parties["fund"]}, {"person": parties["zhao"]}, {"person": parties["maria"]}):
        assert held(**owner) == 0


def test_partial_refunds_with_odd_units_never_take_more_than_a_party_got(maker: User, venture: Venture,
                                                                         rule: SharingRule) -> None:
    settlement = sale(venture, "order-4", 7, maker)  # 7 fen over seven shares: rounding everywhere
    for n in range(7):
        sale(venture, f"refund-4-{n}", 1, maker, kind="refund", refund_of="order-4")
    refunded: dict[int, int] = {}
    for refund in settlement.refunds.all():
        for share in refund.shares:
            refunded[share["of"]] = refunded.get(share["of"], 0) + share["minor"]
    assert refunded == {share["index"]: share["minor"] for share in settlement.shares}


def test_a_new_version_applies_to_later_sales_only(maker: User, venture: Venture, rule: SharingRule) -> None:
    before = sale(venture, "order-5", 1_000, maker)
    text = latest(rule).text.replace("5% to @platform", "6% to @platform")
    v2 = rule_services.rule_version_save(actor=maker, rule=rule, text=text)
    after = sale(venture, "order-6", 1_000, maker)
    assert (before.rule_version.number, after.rule_version.number, v2.number) == (1, 2, 2)
    assert next(s["minor"] for s in after.shares if s["party"] == "platform") == 60
    assert settlement_recompute(settlement=before).matches  # the old one recomputes under its own version


def test_who_may_settle(make_person: Any, venture: Venture, rule: SharingRule, operator: User) -> None:
    with pytest.raises(NotSettler):
        sale(venture, "order-7", 100, make_person())
    assert sale(venture, "order-7", 100, operator).amount == 100


def test_without_a_rule_in_force_nothing_is_settled(maker: User, venture: Venture) -> None:
    with pytest.raises(NoRuleInForce):
        sale(venture, "order-8", 100, maker)
    assert not Transfer.objects.exists()


def test_the_bulk_path_settles_many_in_one_batch_and_skips_known_events(maker: User, venture: Venture,
                                                                        rule: SharingRule) -> None:
    sale(venture, "bulk-0", 500, maker)
    events = [RevenueEvent(event_id=f"bulk-{n}", venture=venture.organisation, kind="sale", revenue_class="product",
                           amount=Money(500 + n, "CNY"), occurred_at=timezone.now()) for n in range(50)]
    settled = settlements_bulk(events=events, actor=maker)
    assert [s.event_id for s in settled] == [f"bulk-{n}" for n in range(50)]
    assert Settlement.objects.count() == 50
    assert sum(t.amount for t in Transfer.objects.filter(code="sale")) == sum(500 + n for n in range(50))
    assert all(settlement_recompute(settlement=s).matches for s in Settlement.objects.all()[:5])
    settlements_bulk(events=events, actor=maker)  # a retry changes nothing
    assert Settlement.objects.count() == 50
