"""sourcing: the published formula ranks the opened bids with exact numbers; a disqualified winner passes the award
to the next ranked; bids outside the published demand are refused; the owner rates its supplier."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest

from makercloud.calls.kinds.errors import AlreadyRated, InvalidKindRules, InvalidResponse
from makercloud.calls.models import CallState, Response, ResponseState, SupplierRating
from makercloud.calls.selectors import kinds as kind_selectors
from makercloud.calls.services import engine as services
from makercloud.calls.services import kinds as kind_services
from makercloud.calls.tests.engine_fixtures import Clock, clock, make_supplier, publish, venture  # noqa: F401
from makercloud.calls.tests.test_sealed_sourcing import RULES, qualified

BIDS = {
    # name: (unit price, delivery days, quality commitments)
    "Alpha": (10_000, 30, ["iso9001", "warranty-24m"]),
    "Beta": (8_000, 45, []),
    "Gamma": (9_000, 20, ["iso9001", "ppm-500", "warranty-24m"]),
}


@pytest.fixture
def round_(clock: Clock, maker: Any, venture: Any, make_supplier: Any, operator: Any) -> dict[str, Any]:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, title="Motors", **RULES)
    bidders: dict[str, Any] = {}
    for name, (price, days, quality) in BIDS.items():
        person, company = qualified(make_supplier, operator, name)
        response = services.response_submit(actor=person, call=call, organisation=company, content={
            "unit_price": price, "delivery_days": days, "quality": quality})
        bidders[name] = (person, company, response)
    # Beta has a five-star rating from an earlier call; the others are unrated (3 by the published rules).
    earlier = publish(actor=maker, owner=venture, kind="sourcing", hours=1, title="Earlier", **RULES)
    SupplierRating.objects.create(call=earlier, supplier=bidders["Beta"][1], rated_by=maker, stars=5)
    clock.advance(hours=24)
    services.calls_tick()
    call.refresh_from_db()
    return {"call": call, "bidders": bidders}


def test_the_published_formula_ranks_with_exact_scores(round_: dict[str, Any], client: Any) -> None:
    call = round_["call"]
    # lowest price 8,000, fastest 20 days, commitments worth 5 points; weights 50/20/15/15 of 100:
    # Gamma: 50×8000/9000 + 20×1 + 15×5/5 + 15×3/5 = 44.444444… + 20 + 15 + 9 = 88.444444
    # Alpha: 50×0.8 + 20×20/30 + 15×4/5 + 15×3/5 = 40 + 13.333333… + 12 + 9 = 74.333333
    # Beta:  50×1 + 20×20/45 + 0 + 15×5/5 = 50 + 8.888888… + 15 = 73.888889
    ranking = client.get(f"/api/v1/calls/{call.pk}/ranking").json()
    assert [(r["rank"], r["respondent_name"], r["score"]) for r in ranking] == [
        (1, "Gamma", "88.444444"), (2, "Alpha", "74.333333"), (3, "Beta", "73.888889")]
    assert call.state == CallState.STANDSTILL and call.winner_id == round_["bidders"]["Gamma"][2].pk
    page = client.get(f"/calls/{call.pk}/sourcing/formula").content.decode()
    assert "88.444444" in page and "50.0%" in page


def test_ties_go_to_the_lower_price_then_fewer_days(clock: Clock, maker: Any, venture: Any, make_supplier: Any,
                                                    operator: Any) -> None:
    rules = {**RULES, "selection": {**RULES["selection"], "weights": {"price": 0, "delivery": 0, "quality": 1,
                                                                      "rating": 0}}}
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, **rules)
    for name, price, days in (("Slow", 9_000, 40), ("Dear", 9_500, 10), ("Cheap", 9_000, 30)):
        person, company = qualified(make_supplier, operator, name)
        services.response_submit(actor=person, call=call, organisation=company,
                                 content={"unit_price": price, "delivery_days": days})
    clock.advance(hours=24)
    services.calls_tick()
    ranked = Response.objects.filter(call=call).order_by("rank")
    assert [r.organisation.name for r in ranked] == ["Cheap", "Slow", "Dear"]
    assert [r.score for r in ranked] == [0, 0, 0]  # nobody committed to quality: a three-way tie


def test_a_disqualified_winner_passes_the_award_to_the_next(round_: dict[str, Any], clock: Clock,
                                                            operator: Any) -> None:
    call, bidders = round_["call"], round_["bidders"]
    complaint = services.complaint_submit(actor=bidders["Alpha"][0], call=call,
                                          reasons="Gamma's ISO 9001 certificate has lapsed.")
    services.complaint_decide(actor=operator, complaint=complaint, upheld=True, remedy="disqualify",
                              reasons="The certificate lapsed before the deadline.")
    call.refresh_from_db()
    assert Response.objects.get(pk=bidders["Gamma"][2].pk).state == ResponseState.DISQUALIFIED
    assert call.state == CallState.STANDSTILL and call.winner_id == bidders["Alpha"][2].pk
    clock.advance(days=call.standstill_days)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED} and call.winner_id == bidders["Alpha"][2].pk


def test_the_owner_rates_the_supplier_once_and_the_mean_feeds_later_formulas(round_: dict[str, Any], clock: Clock,
                                                                             maker: Any, client_for: Any) -> None:
    call = round_["call"]
    clock.advance(days=call.standstill_days)
    services.calls_tick()
    call.refresh_from_db()
    gamma = round_["bidders"]["Gamma"][1]
    browser = client_for(maker)
    assert browser.post(f"/calls/{call.pk}/sourcing/rating", {"stars": "4", "comment": "On time."}).status_code == 302
    with pytest.raises(AlreadyRated):
        kind_services.supplier_rate(actor=maker, call=call, stars=5)
    assert kind_selectors.supplier_rating(organisation=gamma) == (pytest.approx(4), 1)


@pytest.mark.parametrize("content,message", [
    ({"unit_price": 12_001, "delivery_days": 10}, "unit_price must be between"),
    ({"unit_price": 9_000, "delivery_days": 200}, "delivery must be by 2026-06-30"),
    ({"unit_price": 9_000, "delivery_days": 10, "quality": ["rohs"]}, "quality lists commitments"),
    ({"unit_price": 9_000.5, "delivery_days": 10}, "whole number"),
    ({"unit_price": 9_000, "delivery_days": 10, "colour": "red"}, "Unknown fields: colour"),
])
def test_bids_outside_the_published_demand_are_refused(clock: Clock, maker: Any, venture: Any, make_supplier: Any,
                                                       operator: Any, content: dict[str, Any], message: str,
                                                       bearer_for: Any, client: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, **RULES)
    person, company = qualified(make_supplier, operator, "Exact Motors")
    with pytest.raises(InvalidResponse, match=message):
        services.response_submit(actor=person, call=call, organisation=company, content=content)
    answer = client.post(f"/api/v1/calls/{call.pk}/responses", content_type="application/json",
                         data={"content": content, "organisation_id": company.pk},
                         headers=bearer_for(person, ["calls:write"]))
    assert answer.status_code == 422 and answer.json()["type"].endswith("invalid-response")


def test_a_sourcing_call_needs_its_demand_and_a_sound_formula(clock: Clock, maker: Any, venture: Any) -> None:
    with pytest.raises(InvalidKindRules):
        publish(actor=maker, owner=venture, kind="sourcing", eligibility={"category": "motors"})
    bad = {**RULES, "selection": {"method": "formula", "weights": {"price": 1}}}
    with pytest.raises(InvalidKindRules, match="every criterion"):
        publish(actor=maker, owner=venture, kind="sourcing", **bad)
    early = {**RULES, "response_form": {**RULES["response_form"], "delivery_by": "2026-03-02"}}
    with pytest.raises(InvalidKindRules, match="after the deadline"):
        publish(actor=maker, owner=venture, kind="sourcing", **early)
    call = publish(actor=maker, owner=venture, kind="sourcing", **{**RULES, "selection": {}})
    assert call.selection["weights"] == {"price": 50, "delivery": 20, "quality": 15, "rating": 15}
    assert call.rules_hash == services.rules_hash(call) and timedelta(0) < call.responses_until - clock.now
