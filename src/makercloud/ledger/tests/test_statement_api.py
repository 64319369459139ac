"""The statement on the API: JSON and CSV, who sees what, problems for bad periods, plans and the what-if preview."""

import csv
import io
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.core.models import Event
from makercloud.core.problems import TYPE_BASE
from makercloud.ledger.models.journal import Transfer
from makercloud.ledger.models.rules import Settlement
from makercloud.ledger.models.statements import StatementPlan
from makercloud.ledger.tests.test_statement_fixtures import RULE, World, build_world


@pytest.fixture
def world(make_person: Callable[..., User]) -> World:
    return build_world(make_person)


def problem_type(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["type"]).removeprefix(TYPE_BASE)


def url(world: World, suffix: str = "") -> str:
    return f"/api/v1/ventures/{world.venture.pk}/statements{suffix}"


def money(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "CNY"}


def test_a_member_reads_the_whole_october_statement(world: World, client_for: Callable[[User], Client]) -> None:
    body = client_for(world.owner).get(url(world), {"period": "2026-10"}).json()
    assert (body["venture"], body["granularity"], body["currency"], body["view"]) == (
        "Quiet Washer", "month", "CNY", "full")
    (october,) = body["statements"]
    assert october["period"] == "2026-10"
    assert october["starts_at"].startswith("2026-10-01T00:00:00") and october["ends_at"].startswith("2026-11-01")
    assert october["revenue"] == {
        "product": money(20000), "ecosystem": money(2000), "total": money(22000),
        "product_sales": money(30000), "product_refunds": money(10000), "ecosystem_sales": money(2000),
        "ecosystem_refunds": money(0), "units_sold": 3, "units_refunded": 1, "units": 2,
    }
    assert october["costs"] == {"supplier_payables": money(6600), "resources_used": money(1100),
                                "total": money(7700)}
    assert october["value_added"] == money(14300)
    shared = october["value_shared"]
    assert {g: shared[g]["amount"] for g in ("makers", "co_creators", "suppliers", "platform", "investors")} == {
        "makers": 12100, "co_creators": 2200, "suppliers": 6600, "platform": 1100, "investors": 0}
    assert shared["unshared"] == money(0)
    assert [(p["name"], p["amount"]["amount"]) for p in shared["parties"] if p["group"] == "co_creators"] == [
        ("Ada", 1650), ("Bo", 550)]
    assert october["user_resources"] == {
        "users_reached": 2, "new_users": 1, "active_users": 2, "active_devices": 2, "devices_in_homes": 2,
        "repeat_buyers": None, "co_creators": 2, "co_creators_rewarded": 2,
    }
    assert october["marginal"] == {
        "value_added_per_active_user": money(7150), "value_added_margin": "0.6500", "marginal_return": "0.6500",
        "value_added_change": money(1300), "revenue_change": money(2000), "compared_with": "2026-09",
    }
    assert october["plan"] is None


def test_the_public_sees_aggregates_but_no_party_refund_or_plan(world: World, client: Client,
                                                                  make_person: Callable[..., User],
                                                                  client_for: Callable[[User], Client]) -> None:
    client_for(world.owner).put(f"/api/v1/ventures/{world.venture.pk}/statement-plans/2026-10",
                                {"revenue": 25000}, content_type="application/json")
    stranger = make_person("stranger@example.com")
    for reader in (client, client_for(stranger)):
        body = reader.get(url(world), {"period": "2026-10"}).json()
        assert body["view"] == "public"
        (october,) = body["statements"]
        assert october["value_added"] == money(14300)
        assert october["value_shared"]["co_creators"] == money(2200)
        assert october["value_shared"]["parties"] is None
        assert october["revenue"]["product_refunds"] is None and october["revenue"]["units"] is None
        assert october["plan"] is None
        text = reader.get(url(world), {"period": "2026-10", "format": "csv"}).content.decode()
        assert "Ada" not in text and "plan_revenue" not in text and "product_refunds" not in text


def test_an_operator_sees_the_whole_statement(world: World, operator: User,
                                              client_for: Callable[[User], Client]) -> None:
    assert client_for(operator).get(url(world), {"period": "2026-10"}).json()["view"] == "full"


def test_twelve_months_for_the_charts_and_quarters(world: World, client: Client) -> None:
    body = client.get(url(world), {"period": "2026-11", "count": 12}).json()
    labels = [s["period"] for s in body["statements"]]
    assert labels[0] == "2025-12" and labels[-1] == "2026-11" and len(labels) == 12
    assert [s["revenue"]["total"]["amount"] for s in body["statements"][-3:]] == [20000, 22000, 20000]
    quarters = client.get(url(world), {"period": "2026-11", "granularity": "quarter", "count": 2}).json()
    assert quarters["granularity"] == "quarter"
    assert [(s["period"], s["value_added"]["amount"]) for s in quarters["statements"]] == [
        ("2026-Q3", 13000), ("2026-Q4", 27300)]


def test_csv_export_is_one_row_per_period_in_major_units(world: World, client_for: Callable[[User], Client]) -> None:
    response = client_for(world.owner).get(url(world), {"period": "2026-10", "count": 2, "format": "csv"})
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="statement-quiet-washer-2026-09-2026-10.csv"' in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(response.content.decode())))
    assert [row["period"] for row in rows] == ["2026-09", "2026-10"]
    october = rows[1]
    assert (october["revenue"], october["costs"], october["value_added"]) == ("220.00", "77.00", "143.00")
    assert (october["shared_co_creators"], october["shared_suppliers"], october["unshared"]) == (
        "22.00", "66.00", "0.00")
    assert (october["active_users"], october["units"], october["marginal_return"]) == ("2", "2", "0.6500")
    assert october["repeat_buyers"] == ""


@pytest.mark.parametrize(("query", "kind"), [
    ({"period": "2026-13"}, "invalid-period"),
    ({"period": "banana"}, "invalid-period"),
    ({"period": "1999-01"}, "invalid-period"),
    ({"period": "2026-Q4", "granularity": "month"}, "invalid-period"),
    ({"period": "2026-10", "granularity": "week"}, "validation"),
    ({"period": "2026-10", "count": 0}, "validation"),
    ({"period": "2026-10", "currency": "yuan"}, "validation"),
    ({"period": "2026-10", "format": "xlsx"}, "validation"),
])
def test_bad_periods_and_parameters_are_problems(world: World, client: Client, query: dict[str, Any],
                                                 kind: str) -> None:
    response = client.get(url(world), query)
    assert response.status_code == 422
    assert problem_type(response) == kind


def test_an_unknown_venture_is_a_problem(db: Any, client: Client) -> None:
    response = client.get("/api/v1/ventures/999999/statements")
    assert response.status_code == 404
    assert problem_type(response) == "venture-not-found"


# Plans ----------------------------------------------------------------------------------------------------------


def test_the_owner_sets_a_plan_and_the_statement_compares_it(world: World,
                                                            client_for: Callable[[User], Client]) -> None:
    owner = client_for(world.owner)
    plans = f"/api/v1/ventures/{world.venture.pk}/statement-plans"
    created = owner.put(f"{plans}/2026-10", {"revenue": 25000, "units": 4, "active_users": 2, "value_added": 13000,
                                             "note": "Autumn launch"}, content_type="application/json")
    assert created.status_code == 201
    assert created.json()["period"] == "2026-10" and created.json()["granularity"] == "month"
    again = owner.put(f"{plans}/2026-10", {"revenue": 25000, "units": 4, "active_users": 2, "value_added": 13000,
                                           "note": "Autumn launch"}, content_type="application/json")
    assert again.status_code == 200
    owner.put(f"{plans}/2026-11", {"revenue": 30000}, content_type="application/json")
    october = owner.get(url(world), {"period": "2026-10"}).json()["statements"][0]
    assert october["plan"]["revenue"] == money(25000)
    assert october["plan"]["comparison"] == [
        {"figure": "revenue", "money": True, "planned": 25000, "actual": 22000, "difference": -3000,
         "attained_percent": "88.0"},
        {"figure": "units", "money": False, "planned": 4, "actual": 2, "difference": -2, "attained_percent": "50.0"},
        {"figure": "active_users", "money": False, "planned": 2, "actual": 2, "difference": 0,
         "attained_percent": "100.0"},
        {"figure": "value_added", "money": True, "planned": 13000, "actual": 14300, "difference": 1300,
         "attained_percent": "110.0"},
    ]
    # A quarter without a plan of its own adds up its months' plans.
    q4 = owner.get(url(world), {"period": "2026-Q4"}).json()["statements"][0]
    assert q4["plan"]["from_months"] is True
    assert q4["plan"]["revenue"] == money(55000)
    listed = owner.get(plans).json()
    assert sorted(p["period"] for p in listed["items"]) == ["2026-10", "2026-11"]
    assert owner.get(f"{plans}/2026-11").json()["revenue"] == 30000
    assert owner.delete(f"{plans}/2026-11").status_code == 204
    assert problem_type(owner.get(f"{plans}/2026-11")) == "statement-plan-not-found"
    assert Event.objects.filter(kind="statement.plan_set").count() == 2


def test_plans_are_for_the_venture_managers_only(world: World, make_person: Callable[..., User],
                                                 client_for: Callable[[User], Client], client: Client) -> None:
    plans = f"/api/v1/ventures/{world.venture.pk}/statement-plans"
    member = make_person("member@example.com")
    _invitation, token = accounts_services.invitation_create(actor=world.owner, organisation=world.venture.organisation,
                                                           email=member.email)
    accounts_services.invitation_accept(actor=member, token=token)
    refused = client_for(member).put(f"{plans}/2026-10", {"revenue": 1}, content_type="application/json")
    assert refused.status_code == 403 and problem_type(refused) == "not-organisation-manager"
    assert client_for(member).get(plans).status_code == 200  # members read the plans
    stranger = make_person("stranger@example.com")
    assert problem_type(client_for(stranger).get(plans)) == "not-venture-insider"
    assert client.get(plans).status_code == 401
    assert StatementPlan.objects.count() == 0


@pytest.mark.parametrize(("period", "body", "kind"), [
    ("2026-13", {"revenue": 1}, "invalid-period"),
    ("2026-10", {}, "invalid-plan"),
    ("2026-10", {"revenue": -5}, "validation"),
    ("2026-10", {"revenue": 5, "stage": 1}, "validation"),
    ("2026-10", {"revenue": 5, "currency": "XX1"}, "validation"),
])
def test_bad_plans_are_problems(world: World, client_for: Callable[[User], Client], period: str,
                                body: dict[str, Any], kind: str) -> None:
    response = client_for(world.owner).put(f"/api/v1/ventures/{world.venture.pk}/statement-plans/{period}", body,
                                           content_type="application/json")
    assert response.status_code == 422
    assert problem_type(response) == kind
    assert StatementPlan.objects.count() == 0


# What-if ----------------------------------------------------------------------------------------------------------


def test_what_if_matches_the_real_settlement_of_the_same_volumes(world: World,
                                                                client_for: Callable[[User], Client]) -> None:
    """October really was: 3 sales of 100.00 (one refunded) and a 20.00 subscription. Previewed before, under the
    rule in force, the statement is the same to the unit — and nothing is written."""
    before = (Settlement.objects.count(), Transfer.objects.count(), Event.objects.count())
    response = client_for(world.owner).post(url(world, "/what-if"), {
        "period": "2026-10", "active_users": 2,
        "lines": [{"kind": "sale", "units": 3, "unit_price": 10000, "refunds": 1},
                  {"kind": "subscription", "units": 1, "unit_price": 2000}],
    }, content_type="application/json")
    assert response.status_code == 200, response.content
    preview = response.json()
    actual = client_for(world.owner).get(url(world), {"period": "2026-10"}).json()["statements"][0]
    assert (preview["preview"], preview["rule"]) == (True, "in-force")
    for part in ("revenue", "costs", "value_added"):
        assert preview[part] == actual[part], part
    assert preview["value_shared"] == actual["value_shared"]
    assert preview["marginal"]["value_added_per_active_user"] == money(7150)
    assert (Settlement.objects.count(), Transfer.objects.count(), Event.objects.count()) == before


def test_what_if_with_a_rule_text_calculates_the_win_first(world: World,
                                                          client_for: Callable[[User], Client]) -> None:
    generous = RULE.replace("10% to @co_creators", "20% to @co_creators").replace("30% to @suppliers",
                                                                                  "25% to @suppliers")
    preview = client_for(world.owner).post(url(world, "/what-if"), {
        "rule": generous, "lines": [{"units": 10, "unit_price": 19900}],
    }, content_type="application/json").json()
    assert preview["rule"] == "text"
    assert preview["revenue"]["total"] == money(199000)
    assert preview["value_shared"]["co_creators"] == money(39800)
    assert preview["value_shared"]["suppliers"] == money(49750)
    assert preview["value_shared"]["platform"] == money(9950)
    assert preview["value_added"] == money(199000 - 49750 - 9950)
    assert preview["value_shared"]["makers"]["amount"] + 39800 + 49750 + 9950 == 199000


def test_what_if_problems_and_strangers(world: World, client_for: Callable[[User], Client],
                                        make_person: Callable[..., User]) -> None:
    owner = client_for(world.owner)
    broken = owner.post(url(world, "/what-if"), {"rule": "split sale\n  50% to @nobody\n",
                                                 "lines": [{"units": 1, "unit_price": 100}]},
                        content_type="application/json")
    assert broken.status_code == 422
    assert "line" in broken.json()["detail"].lower() or broken.json().get("line") == 2
    no_lines = owner.post(url(world, "/what-if"), {"lines": []}, content_type="application/json")
    assert problem_type(no_lines) == "validation"
    too_many = owner.post(url(world, "/what-if"), {"lines": [{"units": 2, "unit_price": 100, "refunds": 3}]},
                          content_type="application/json")
    assert problem_type(too_many) == "invalid-what-if"
    stranger = client_for(make_person("stranger@example.com"))
    refused = stranger.post(url(world, "/what-if"), {"lines": [{"units": 1, "unit_price": 100}]},
                            content_type="application/json")
    assert refused.status_code == 403 and problem_type(refused) == "not-venture-insider"
