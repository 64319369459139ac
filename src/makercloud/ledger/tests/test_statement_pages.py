"""The statement pages: the figures as a reader sees them, the chart without JavaScript, the plan editor, what-if."""

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.ledger.models.rules import Settlement
from makercloud.ledger.models.statements import StatementPlan
from makercloud.ledger.tests.test_statement_fixtures import World, build_world


@pytest.fixture
def world(make_person: Callable[..., User]) -> World:
    return build_world(make_person)


def page(world: World) -> str:
    return f"/ventures/{world.venture.slug}/statement/"


def test_a_member_reads_october_with_parties_chart_and_exports(world: World,
                                                               client_for: Callable[[User], Client]) -> None:
    response = client_for(world.owner).get(page(world), {"period": "2026-10"})
    assert response.status_code == 200
    html = response.content.decode()
    assert "Statement for 2026-10" in html
    for figure in ("¥220.00", "¥143.00", "¥66.00", "¥11.00", "¥121.00", "¥22.00", "¥16.50", "¥5.50", "¥71.50"):
        assert figure in html, figure
    assert "Ada" in html and "Drum Motors" in html
    assert "0.6500" in html  # marginal return
    # The chart reads without JavaScript (SVG bars and a table); Chart.js is loaded on this page only.
    assert html.count('<rect class="revenue"') == 12 and "<svg" in html
    assert "web/vendor/chart.umd.min.js" in html and 'id="statement-series"' in html
    exports = f"/api/v1/ventures/{world.venture.pk}/statements?period=2026-10&amp;count=12&amp;currency=CNY"
    assert exports + '"' in html and exports + "&amp;format=csv" in html
    assert "Set the plan" in html


def test_the_public_page_shows_aggregates_only(world: World, client: Client) -> None:
    html = client.get(page(world), {"period": "2026-10"}).content.decode()
    assert "¥143.00" in html and "¥22.00" in html
    assert "Ada" not in html and "Drum Motors" not in html
    assert "Set the plan" not in html and "Plan against actual" not in html and "What if" not in html


def test_a_quarter_and_a_bad_period(world: World, client: Client) -> None:
    html = client.get(page(world), {"period": "2026-Q4"}).content.decode()
    assert "Statement for 2026-Q4" in html and "¥273.00" in html
    bad = client.get(page(world), {"period": "2026-13"})
    assert bad.status_code == 400
    assert "write a month as 2026-11" in bad.content.decode()


def test_the_owner_sets_and_withdraws_a_plan_on_the_page(world: World, client_for: Callable[[User], Client]) -> None:
    owner = client_for(world.owner)
    response = owner.post(page(world) + "plan/", {"period": "2026-10", "currency": "CNY", "revenue": "250.00",
                                                  "units": "4", "action": "save"})
    assert response.status_code == 302
    plan = StatementPlan.objects.get()
    assert (plan.revenue, plan.units, plan.granularity) == (25000, 4, "month")
    html = owner.get(page(world), {"period": "2026-10"}).content.decode()
    assert "Plan against actual" in html and "88.0%" in html and "50.0%" in html
    owner.post(page(world) + "plan/", {"period": "2026-10", "currency": "CNY", "action": "delete"})
    assert StatementPlan.objects.count() == 0


def test_a_member_without_management_rights_cannot_plan(world: World, make_person: Callable[..., User],
                                                         client_for: Callable[[User], Client]) -> None:
    stranger = make_person("stranger@example.com")
    client_for(stranger).post(page(world) + "plan/", {"period": "2026-10", "currency": "CNY", "revenue": "1"})
    assert StatementPlan.objects.count() == 0


def test_what_if_page_previews_without_settling(world: World, client_for: Callable[[User], Client],
                                                make_person: Callable[..., User]) -> None:
    owner = client_for(world.owner)
    form = owner.get(page(world) + "what-if/")
    assert form.status_code == 200 and "split sale, subscription, service" in form.content.decode()
    before = Settlement.objects.count()
    data: dict[str, Any] = {"currency": "CNY", "rule": "", "kind_0": "sale", "units_0": "3", "price_0": "100.00",
                            "refunds_0": "1", "kind_1": "subscription", "units_1": "1", "price_1": "20.00",
                            "active_users": "2"}
    html = owner.post(page(world) + "what-if/", data).content.decode()
    assert "Previewed statement" in html and "¥220.00" in html and "¥143.00" in html and "¥71.50" in html
    assert Settlement.objects.count() == before
    broken = owner.post(page(world) + "what-if/", {**data, "rule": "split sale\n  50% to @nobody\n"})
    assert broken.status_code == 400 and "form-errors" in broken.content.decode()
    assert client_for(make_person("stranger@example.com")).get(page(world) + "what-if/").status_code == 403


def test_the_venture_page_links_to_its_statement(world: World, client: Client) -> None:
    html = client.get(f"/ventures/{world.venture.slug}/").content.decode()
    assert page(world) in html
