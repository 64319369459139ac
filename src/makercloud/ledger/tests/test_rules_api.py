"""The rules, settlements and payouts API: problems with line numbers, who may do what, idempotency."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.ledger.models import Account, Settlement, SharingRule
from makercloud.ledger.tests.rules_fixtures import FIVE_PARTIES, parties, rule, venture  # noqa: F401
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db
JSON = "application/json"


def test_preview_shows_shares_and_steps_to_anyone() -> None:
    response = Client().post("/api/v1/rules/preview", {
        "text": FIVE_PARTIES, "amount": 100_001, "currency": "CNY",
        "sets": {"suppliers": [{"label": "Motors", "weight": 3}, {"label": "Sensors", "weight": 1}]},
    }, content_type=JSON)
    assert response.status_code == 200, response.content
    body = response.json()
    assert sum(share["amount"] for share in body["shares"]) == 100_001
    assert {s["label"]: s["amount"] for s in body["shares"]}["Motors"] == 22_500
    assert [step["line"] for step in body["steps"]] == [3, 4, 5, 6, 7]
    assert sum(step["spare_unit"] for step in body["steps"]) >= 1  # 100,001 fen leaves spare units to place


def test_preview_problems_carry_line_and_column() -> None:
    response = Client().post("/api/v1/rules/preview", {"text": "split sale\n  60% to @platform\n  50% to @venture",
                                                       "amount": 100}, content_type=JSON)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"].endswith("/invalid-rule") and (body["line"], body["column"]) == (3, 3)
    assert "more than 100%" in body["detail"]


def test_preview_refuses_unknown_fields_and_bad_amounts() -> None:
    for payload in ({"text": "split sale\n remaining to @venture", "amount": -1},
                    {"text": "split sale\n remaining to @venture", "amount": 1, "extra": True},
                    {"text": "", "amount": 1}):
        response = Client().post("/api/v1/rules/preview", payload, content_type=JSON)
        assert response.status_code == 422, payload


def test_rules_crud_and_versions_with_hashes(maker: User, venture: Venture, client_for: Callable[[User], Client],
                                            make_person: Any) -> None:
    client = client_for(maker)
    url = f"/api/v1/ventures/{venture.pk}/rules"
    created = client.post(url, {"name": "Sales", "text": "split sale\n remaining to @venture"}, content_type=JSON)
    assert created.status_code == 201, created.content
    rule_id = created.json()["id"]
    assert created.json()["latest"]["number"] == 1 and len(created.json()["latest"]["content_hash"]) == 64

    bad = client.post(f"{url}/{rule_id}/versions", {"text": "split sale\n 5% to @nobody\n remaining to @venture"},
                      content_type=JSON)
    assert bad.status_code == 422 and bad.json()["line"] == 2
    v2 = client.post(f"{url}/{rule_id}/versions", {"text": "split sale\n 5% to @platform\n remaining to @venture"},
                     content_type=JSON)
    assert v2.status_code == 201 and v2.json()["number"] == 2
    same = client.post(f"{url}/{rule_id}/versions", {"text": "split sale\n 5% to @platform\n remaining to @venture"},
                       content_type=JSON)
    assert same.status_code == 200 and same.json()["number"] == 2
    assert [v["number"] for v in client.get(f"{url}/{rule_id}/versions").json()] == [2, 1]
    assert client.get(f"{url}/{rule_id}/versions/1").json()["content_hash"] == created.json()["latest"]["content_hash"]

    # a private rule: strangers see nothing; a second rule for sales overlaps
    assert Client().get(url).json() == []
    assert client_for(make_person()).get(f"{url}/{rule_id}").status_code == 403
    overlap = client.post(url, {"name": "Other", "text": "split any\n remaining to @venture"}, content_type=JSON)
    assert overlap.status_code == 409 and overlap.json()["type"].endswith("/rule-overlap")
    assert client.patch(f"{url}/{rule_id}", {"public": True}, content_type=JSON).json()["public"] is True
    assert [r["id"] for r in Client().get(url).json()] == [rule_id]
    assert client.delete(f"{url}/{rule_id}").status_code == 204
    assert client.get(f"{url}/{rule_id}").json()["retired_at"] is not None


def test_only_managers_write_rules(venture: Venture, make_person: Any, client_for: Callable[[User], Client],
                                   bearer_for: Callable[..., dict[str, str]], maker: User) -> None:
    url = f"/api/v1/ventures/{venture.pk}/rules"
    stranger = client_for(make_person())
    response = stranger.post(url, {"name": "Mine", "text": "split sale\n remaining to @venture"}, content_type=JSON)
    assert response.status_code == 403 and response.json()["type"].endswith("/not-rule-editor")
    read_only = bearer_for(maker, ["ledger:read"])
    response = Client().post(url, {"name": "Mine", "text": "split sale\n remaining to @venture"},
                             content_type=JSON, headers=read_only)
    assert response.status_code == 403
    assert Client().post(url, {"name": "x", "text": "split sale\n remaining to @venture"},
                         content_type=JSON).status_code == 401
    writer = bearer_for(maker, ["ledger:write"])
    response = Client().post(url, {"name": "Mine", "text": "split sale\n remaining to @venture"},
                             content_type=JSON, headers=writer)
    assert response.status_code == 201


def test_settlement_api_is_idempotent_and_shows_the_recompute(maker: User, venture: Venture, rule: SharingRule,
                                                              client_for: Callable[[User], Client],
                                                              parties: dict[str, Any], make_person: Any) -> None:
    client = client_for(maker)
    payload = {"venture_id": venture.pk, "kind": "sale", "amount": 100_000, "currency": "CNY"}
    first = client.post("/api/v1/ledger/settlements", payload, content_type=JSON,
                        headers={"Idempotency-Key": "shop-1"})
    assert first.status_code == 201, first.content
    again = client.post("/api/v1/ledger/settlements", payload, content_type=JSON,
                        headers={"Idempotency-Key": "shop-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert Settlement.objects.count() == 1
    conflict = client.post("/api/v1/ledger/settlements", {**payload, "amount": 5}, content_type=JSON,
                           headers={"Idempotency-Key": "shop-1"})
    assert conflict.status_code == 409

    detail = client.get(f"/api/v1/ledger/settlements/{first.json()['id']}").json()
    assert detail["recompute"]["matches"] is True
    assert len(detail["transfers"]) == 7 and detail["rule_hash"] == rule.versions.get().content_hash
    own = client_for(parties["zhao"]).get(f"/api/v1/ledger/settlements/{first.json()['id']}").json()
    assert own["recompute"]["matches"] is True and len(own["transfers"]) == 1  # a co-creator: their own share
    assert client_for(make_person()).get(f"/api/v1/ledger/settlements/{first.json()['id']}").status_code == 404
    listed = client_for(parties["sofia"]).get("/api/v1/ledger/settlements").json()
    assert [s["event_id"] for s in listed["items"]] == ["shop-1"]

    refund = client.post("/api/v1/ledger/settlements", {**payload, "kind": "refund", "amount": 50_000,
                                                        "refund_of": "shop-1", "event_id": "shop-1-r"},
                         content_type=JSON)
    assert refund.status_code == 201 and refund.json()["recompute"]["matches"] is True
    too_much = client.post("/api/v1/ledger/settlements", {**payload, "kind": "refund", "amount": 50_001,
                                                          "refund_of": "shop-1", "event_id": "shop-1-r2"},
                           content_type=JSON)
    assert too_much.status_code == 422 and too_much.json()["type"].endswith("/refund-too-large")


def test_only_operators_and_venture_managers_settle(venture: Venture, rule: SharingRule, parties: dict[str, Any],
                                                   client_for: Callable[[User], Client], operator: User) -> None:
    payload = {"venture_id": venture.pk, "kind": "sale", "amount": 100, "currency": "CNY", "event_id": "e-1"}
    refused = client_for(parties["sofia"]).post("/api/v1/ledger/settlements", payload, content_type=JSON)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/not-settler")
    assert client_for(operator).post("/api/v1/ledger/settlements", payload, content_type=JSON).status_code == 201


def test_payouts_api(maker: User, venture: Venture, rule: SharingRule, client_for: Callable[[User], Client],
                     parties: dict[str, Any]) -> None:
    client_for(maker).post("/api/v1/ledger/settlements", {"venture_id": venture.pk, "kind": "sale", "amount": 100_000,
                                                          "currency": "CNY", "event_id": "o-1"}, content_type=JSON)
    earnings = Account.objects.get(person=parties["zhao"], purpose="co_creator_earnings")
    zhao = client_for(parties["zhao"])
    payload = {"account_id": earnings.pk, "amount": 5_000, "currency": "CNY", "destination": "sandbox:zhao"}
    created = zhao.post("/api/v1/ledger/payouts", payload, content_type=JSON, headers={"Idempotency-Key": "p1"})
    assert created.status_code == 201 and created.json()["state"] == "requested"
    again = zhao.post("/api/v1/ledger/payouts", payload, content_type=JSON, headers={"Idempotency-Key": "p1"})
    assert again.status_code == 200 and again.json()["id"] == created.json()["id"]
    assert [p["id"] for p in zhao.get("/api/v1/ledger/payouts").json()] == [created.json()["id"]]
    overdraw = zhao.post("/api/v1/ledger/payouts", {**payload, "amount": 5_000}, content_type=JSON)
    assert overdraw.status_code == 409 and overdraw.json()["type"].endswith("/exceeds-credits")
    maria = client_for(parties["maria"])
    assert maria.post("/api/v1/ledger/payouts", payload, content_type=JSON).status_code == 404
    assert maria.get(f"/api/v1/ledger/payouts/{created.json()['id']}").status_code == 404
