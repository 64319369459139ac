"""Payouts: the owner withdraws through the sandbox provider — held (pending), then posted or voided."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from makercloud.accounts.models import Membership, User
from makercloud.core.money import Money
from makercloud.ledger.errors import ExceedsCredits
from makercloud.ledger.models import Account, Payout, SharingRule, Transfer
from makercloud.ledger.rules.errors import NotAccountOwner, PayoutInvalid
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services import payouts
from makercloud.ledger.services.settlement import settle
from makercloud.ledger.tests.rules_fixtures import parties, rule, venture  # noqa: F401
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db


@pytest.fixture
def earnings(maker: User, venture: Venture, rule: SharingRule, parties: dict[str, Any]) -> Account:
    """Zhao's co-creator earnings after a 1,000.00 CNY sale: 75.00 CNY."""
    settle(event_id="order-1", venture=venture.organisation, kind="sale", amount=Money(100_000, "CNY"), actor=maker)
    return Account.objects.get(person=parties["zhao"], purpose="co_creator_earnings")


def later(seconds: int = 10) -> Any:
    return timezone.now() + timedelta(seconds=seconds)


def test_a_payout_is_held_then_paid_when_the_sandbox_confirms(earnings: Account, parties: dict[str, Any]) -> None:
    payout = payouts.payout_request(actor=parties["zhao"], account=earnings, amount=Money(5_000, "CNY"),
                                    destination="sandbox:zhao")
    held = balance_of(account=earnings)
    assert (held.credits_posted, held.debits_pending, held.debits_posted) == (7_500, 5_000, 0)
    with pytest.raises(ExceedsCredits):  # the hold counts: 50 of 75 are held, 30 more would overdraw
        payouts.payout_request(actor=parties["zhao"], account=earnings, amount=Money(3_000, "CNY"),
                               destination="sandbox:zhao")

    payouts.payout_submit(payout_id=payout.pk)
    assert payouts.payouts_check(now=timezone.now()) == 0  # the sandbox has not confirmed yet
    assert payouts.payouts_check(now=later()) == 1
    payout.refresh_from_db()
    assert payout.state == "paid" and payout.provider_reference.startswith("sbx_")
    after = balance_of(account=earnings)
    assert (after.debits_posted, after.debits_pending, after.net_credit) == (5_000, 0, 2_500)
    out = Transfer.objects.filter(reference=str(payout.pk))
    assert sorted(t.kind for t in out) == ["pending", "post", "single"]
    assert out.get(kind="single").credit_account.purpose == "clearing"


def test_a_failed_payout_gives_the_money_back(earnings: Account, parties: dict[str, Any]) -> None:
    payout = payouts.payout_request(actor=parties["zhao"], account=earnings, amount=Money(7_500, "CNY"),
                                    destination="sandbox:fail")
    payouts.payout_submit(payout_id=payout.pk)
    payouts.payouts_check(now=later())
    payout.refresh_from_db()
    assert payout.state == "failed" and "told to fail" in payout.failure
    balance = balance_of(account=earnings)
    assert (balance.net_credit, balance.debits_pending) == (7_500, 0)
    assert Transfer.objects.filter(reference=str(payout.pk), kind="void").exists()
    assert payouts.payouts_check(now=later(60)) == 0  # resolved once


def test_a_provider_callback_resolves_a_payout(earnings: Account, parties: dict[str, Any]) -> None:
    payout = payouts.payout_submit(payout_id=payouts.payout_request(
        actor=parties["zhao"], account=earnings, amount=Money(100, "CNY"), destination="sandbox:zhao").pk)
    payouts.payout_callback(provider="sandbox", reference=payout.provider_reference, state="paid")
    assert Payout.objects.get(pk=payout.pk).state == "paid"
    assert balance_of(account=earnings).net_credit == 7_400


def test_only_the_accounts_owner_may_withdraw(earnings: Account, parties: dict[str, Any], maker: User,
                                              make_person: Any, operator: User) -> None:
    for stranger in (maker, operator, parties["maria"]):
        with pytest.raises(NotAccountOwner):
            payouts.payout_request(actor=stranger, account=earnings, amount=Money(100, "CNY"), destination="x")
    motors = Account.objects.get(organisation=parties["motors"], purpose="supplier_payable")
    member = make_person()  # a plain member of the supplier cannot withdraw its money
    Membership.objects.create(person=member, organisation=parties["motors"], role="member")
    with pytest.raises(NotAccountOwner):
        payouts.payout_request(actor=member, account=motors, amount=Money(100, "CNY"), destination="x")
    payout = payouts.payout_request(actor=parties["sofia"], account=motors, amount=Money(100, "CNY"),
                                    destination="sandbox:motors")  # Sofia owns Precision Motors
    assert payout.state == "requested"


def test_bad_payouts_are_refused(earnings: Account, parties: dict[str, Any]) -> None:
    zhao = parties["zhao"]
    with pytest.raises(PayoutInvalid):
        payouts.payout_request(actor=zhao, account=earnings, amount=Money(100, "EUR"), destination="x")
    with pytest.raises(PayoutInvalid):
        payouts.payout_request(actor=zhao, account=earnings, amount=Money(0, "CNY"), destination="x")
    with pytest.raises(PayoutInvalid):
        payouts.payout_request(actor=zhao, account=earnings, amount=Money(10, "CNY"), destination="  ")
    first = payouts.payout_request(actor=zhao, account=earnings, amount=Money(10, "CNY"), destination="sandbox:z",
                                   idempotency_key="k1")
    again = payouts.payout_request(actor=zhao, account=earnings, amount=Money(10, "CNY"), destination="sandbox:z",
                                   idempotency_key="k1")
    assert again.pk == first.pk and balance_of(account=earnings).debits_pending == 10
