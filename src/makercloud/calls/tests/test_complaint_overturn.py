"""Complaints during the standstill: participants only, decided publicly by operators with reasons; upheld, they
overturn the selection (the next ranked, or the owner picks again, or a re-evaluation)."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

from makercloud.accounts.errors import NotOperator
from makercloud.calls.errors import ComplaintDecided, DeadlinePassed, NotParticipant, WrongCallState
from makercloud.calls.models import Call, CallState, Response, ResponseState
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import (  # noqa: F401
    Clock,
    clock,
    engine_only,
    make_supplier,
    publish,
    venture,
)
from makercloud.core.models import Event
from makercloud.notifications.models import Notification


class Formula:
    """A kind that ranks by price, lowest first (as B's sourcing formula would), with scores."""

    sealed = True
    owner_picks = False

    def evaluate(self, *, call: Call) -> list[Response]:
        ranked = sorted(services.valid_responses(call), key=lambda r: r.content["price"])
        for response in ranked:
            response.score = Decimal(100) / Decimal(response.content["price"])
        return ranked


@pytest.fixture
def sourcing_round(clock: Clock, maker: Any, venture: Any, make_supplier: Any, engine_only: Any) -> dict[str, Any]:
    engine_only["sourcing"] = Formula()
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, standstill_days=5)
    bidders = {}
    for name, price in (("Alpha", 90), ("Beta", 80), ("Gamma", 100)):
        person, company = make_supplier(name)
        bidders[name] = (person, company, services.response_submit(actor=person, call=call, content={"price": price},
                                                                   organisation=company))
    clock.advance(hours=24)
    services.calls_tick()
    call.refresh_from_db()
    return {"call": call, "bidders": bidders}


def test_the_top_ranked_is_selected_and_the_ranking_is_published(sourcing_round: dict[str, Any],
                                                                 client: Any) -> None:
    call, bidders = sourcing_round["call"], sourcing_round["bidders"]
    assert call.state == CallState.STANDSTILL and call.winner_id == bidders["Beta"][2].pk
    ranking = client.get(f"/api/v1/calls/{call.pk}/ranking").json()
    assert [(r["rank"], r["respondent_name"]) for r in ranking] == [(1, "Beta"), (2, "Alpha"), (3, "Gamma")]
    assert ranking[0]["score"] == "1.250000"


def test_an_upheld_complaint_disqualifies_the_winner_and_the_award_passes_to_the_next(
        sourcing_round: dict[str, Any], clock: Clock, operator: Any) -> None:
    call, bidders = sourcing_round["call"], sourcing_round["bidders"]
    alpha = bidders["Alpha"][0]
    clock.advance(days=1)
    complaint = services.complaint_submit(actor=alpha, call=call, reasons="Beta's motor is not certified.",
                                          evidence=[{"name": "Registry", "url": "https://example.com/reg"}])
    assert Notification.objects.filter(person=operator, title__contains="A complaint").exists()
    services.complaint_decide(actor=operator, complaint=complaint, upheld=True, remedy="disqualify",
                              reasons="The certificate expired before the deadline.")
    call.refresh_from_db()
    beta_response = Response.objects.get(pk=bidders["Beta"][2].pk)
    assert beta_response.state == ResponseState.DISQUALIFIED
    assert call.state == CallState.STANDSTILL and call.winner_id == bidders["Alpha"][2].pk
    assert call.standstill_until == clock.now + timedelta(days=5)  # a new standstill for the new selection
    decided = Event.objects.get(subject_type="call", subject_id=str(call.pk), kind="complaint.decided")
    assert decided.public and decided.data["reasons"] == "The certificate expired before the deadline."
    with pytest.raises(ComplaintDecided):
        services.complaint_decide(actor=operator, complaint=complaint, upheld=False, reasons="again")

    clock.advance(days=5)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED} and call.winner_id == bidders["Alpha"][2].pk


def test_a_reevaluation_ranks_again(sourcing_round: dict[str, Any], operator: Any, engine_only: Any) -> None:
    call, bidders = sourcing_round["call"], sourcing_round["bidders"]
    complaint = services.complaint_submit(actor=bidders["Gamma"][0], call=call, reasons="Quality was ignored.")

    class QualityFirst(Formula):
        def evaluate(self, *, call: Call) -> list[Response]:
            return list(reversed(super().evaluate(call=call)))

    engine_only["sourcing"] = QualityFirst()
    services.complaint_decide(actor=operator, complaint=complaint, upheld=True, remedy="reevaluate",
                              reasons="The published formula weighs quality; it was left out.")
    call.refresh_from_db()
    assert call.state == CallState.STANDSTILL and call.winner_id == bidders["Gamma"][2].pk


def test_only_participants_complain_only_during_the_standstill_only_operators_decide(
        sourcing_round: dict[str, Any], clock: Clock, make_person: Any, maker: Any) -> None:
    call, bidders = sourcing_round["call"], sourcing_round["bidders"]
    with pytest.raises(NotParticipant):
        services.complaint_submit(actor=make_person(), call=call, reasons="I just dislike it.")
    complaint = services.complaint_submit(actor=bidders["Gamma"][0], call=call, reasons="Unfair.")
    with pytest.raises(NotOperator):
        services.complaint_decide(actor=maker, complaint=complaint, upheld=True, reasons="Owner says so.")
    clock.advance(days=5)
    with pytest.raises(DeadlinePassed):
        services.complaint_submit(actor=bidders["Alpha"][0], call=call, reasons="Late.")


def test_disqualifying_the_only_valid_response_ends_the_call_unsuccessfully(
        clock: Clock, maker: Any, venture: Any, make_supplier: Any, operator: Any, engine_only: Any) -> None:
    engine_only["sourcing"] = Formula()
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=1)
    person, company = make_supplier("Solo")
    services.response_submit(actor=person, call=call, content={"price": 5}, organisation=company)
    rival = make_supplier("Rival")
    clock.advance(hours=1)
    services.calls_tick()
    call.refresh_from_db()
    complaint = services.complaint_submit(actor=person, call=call, reasons="I made a mistake in my own bid.")
    services.complaint_decide(actor=operator, complaint=complaint, upheld=True, remedy="disqualify",
                              reasons="The bidder asked to be disqualified.")
    call.refresh_from_db()
    assert call.state == CallState.UNSUCCESSFUL and call.winner is None
    with pytest.raises(WrongCallState):
        services.complaint_submit(actor=rival[0], call=call, reasons="x")
