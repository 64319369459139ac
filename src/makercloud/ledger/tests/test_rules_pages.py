"""The rule pages: editor with live preview, versions with hashes, sets, settlement with recompute, payouts."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.core.money import Money
from makercloud.ledger.models import Account, Payout, SharingRule
from makercloud.ledger.services.settlement import settle
from makercloud.ledger.tests.rules_fixtures import parties, rule, venture  # noqa: F401
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db


def test_the_editor_saves_versions_and_shows_problems_with_their_line(
        maker: User, venture: Venture, rule: SharingRule, client_for: Callable[[User], Client]) -> None:
    client = client_for(maker)
    url = f"/ventures/{venture.slug}/rules/{rule.pk}/"
    page = client.get(url)
    assert page.status_code == 200
    assert rule.versions.get().content_hash in page.content.decode()
    assert "Precision Motors" in page.content.decode()  # a set member

    bad = client.post(url, {"text": "split sale\n  5% to @platform\n  5% to @nobody\n  remaining to @venture"})
    assert bad.status_code == 400 and "line 3, column 9" in bad.content.decode()
    assert rule.versions.count() == 1
    good = client.post(url, {"text": "split sale\n  6% to @platform\n  remaining to @venture"}, follow=True)
    assert "Saved as version 2" in good.content.decode()
    assert rule.versions.count() == 2


def test_the_live_preview_fragment(rule: SharingRule) -> None:
    client = Client()
    fragment = client.post("/rules/preview/", {"text": "split sale\n 5% to @platform\n remaining to @venture",
                                               "amount": "1000.00", "currency": "CNY"})
    body = fragment.content.decode()
    assert fragment.status_code == 200 and "¥50.00" in body and "¥950.00" in body
    problem = client.post("/rules/preview/", {"text": "split sale\n 60% to @platform\n 50% to @venture",
                                              "amount": "10"}).content.decode()
    assert "Line 3, column 2" in problem and "more than 100%" in problem
    nonsense = client.post("/rules/preview/", {"text": "split sale\n remaining to @venture", "amount": "ten"})
    assert nonsense.status_code == 200 and "Write the amount as a number" in nonsense.content.decode()


def test_strangers_cannot_edit_and_private_rules_are_hidden(venture: Venture, rule: SharingRule,
                                                            client_for: Callable[[User], Client],
                                                            make_person: Any) -> None:
    stranger = client_for(make_person())
    assert stranger.get(f"/ventures/{venture.slug}/rules/{rule.pk}/").status_code == 403
    listing = stranger.get(f"/ventures/{venture.slug}/rules/")
    assert listing.status_code == 200 and "No rule you may see yet" in listing.content.decode()
    assert stranger.post(f"/ventures/{venture.slug}/rules/", {"name": "x", "text": "split sale\n remaining to "
                                                               "@venture"}).status_code == 403


def test_sets_are_edited_on_the_page(maker: User, venture: Venture, rule: SharingRule, parties: dict[str, Any],
                                     client_for: Callable[[User], Client]) -> None:
    response = client_for(maker).post(f"/ventures/{venture.slug}/rules/{rule.pk}/sets/co_creators/",
                                      {"co_creators-members": f"{parties['zhao'].email} 5\n"}, follow=True)
    assert "The set @co_creators is saved" in response.content.decode()
    assert [m.weight for m in rule.sets.get(name="co_creators").members.all()] == [5]
    response = client_for(maker).post(f"/ventures/{venture.slug}/rules/{rule.pk}/sets/co_creators/",
                                      {"co_creators-members": "nobody@example.com 5"}, follow=True)
    assert "nobody has the e-mail address" in response.content.decode()


def test_the_settlement_page_shows_how_to_recompute(maker: User, venture: Venture, rule: SharingRule,
                                                    parties: dict[str, Any],
                                                    client_for: Callable[[User], Client], make_person: Any) -> None:
    settlement = settle(event_id="order-9", venture=venture.organisation, kind="sale", amount=Money(100_001, "CNY"),
                        actor=maker)
    page = client_for(parties["maria"]).get(f"/ledger/settlements/{settlement.pk}/")
    body = page.content.decode()
    assert page.status_code == 200
    assert "the journal matches" in body and settlement.rule_version.content_hash in body
    assert "How to recompute this yourself" in body and "yes (+1)" in body
    assert client_for(make_person()).get(f"/ledger/settlements/{settlement.pk}/").status_code == 404


def test_payouts_page_requests_and_lists(maker: User, venture: Venture, rule: SharingRule, parties: dict[str, Any],
                                         client_for: Callable[[User], Client]) -> None:
    settle(event_id="order-10", venture=venture.organisation, kind="sale", amount=Money(100_000, "CNY"), actor=maker)
    account = Account.objects.get(person=parties["zhao"], purpose="co_creator_earnings")
    client = client_for(parties["zhao"])
    assert "¥75.00" in client.get("/ledger/payouts/").content.decode()
    done = client.post("/ledger/payouts/", {"account": account.pk, "amount": "20.00", "destination": "sandbox:me"},
                       follow=True)
    assert "The payout is requested" in done.content.decode() and "¥55.00" in done.content.decode()
    assert Payout.objects.get().amount == 2_000
    too_much = client.post("/ledger/payouts/", {"account": account.pk, "amount": "60.00", "destination": "x"})
    assert too_much.status_code == 400 and Payout.objects.count() == 1
