"""role (抢单) and funding: people bid for a role with the target they commit to and what they ask, the owner
chooses and the round ends in an award; investors commit to a funding round, the award plans tranches by milestone
shares (no unit lost) and each is released through the ledger when its milestone is met, in order."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from typing import Any

import pytest

from makercloud.calls.errors import NotEligible
from makercloud.calls.kinds.errors import InvalidKindRules, InvalidResponse, NotAllowedHere, WrongTrancheState
from makercloud.calls.models import CallState, Tranche, TrancheState
from makercloud.calls.services import engine as services
from makercloud.calls.services import kinds as kind_services
from makercloud.calls.tests.engine_fixtures import Clock, clock, organisation, publish, venture  # noqa: F401
from makercloud.ledger.models import Transfer
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services.journal import account_open

ROLE = {"role": "Regional sales lead, East China",
        "target": {"metric": "units_sold", "threshold": 3000, "by": "2026-06-30"}, "currency": "CNY"}
FUNDING = {"amount": {"minor": 100_000_001, "currency": "CNY"},
           "uses": [{"use": "Tooling", "minor": 60_000_001}, {"use": "Certification", "minor": 40_000_000}],
           "milestones": [{"title": "Prototype", "share_bp": 3333}, {"title": "Certification", "share_bp": 3333},
                          {"title": "First batch", "share_bp": 3334}]}


def test_a_role_is_bid_for_with_targets_and_ends_in_an_award(clock: Clock, maker: Any, venture: Any,
                                                             make_person: Any, client: Any) -> None:
    with pytest.raises(InvalidKindRules):
        publish(actor=maker, owner=venture, kind="role", response_form={"role": "Sales"})
    call = publish(actor=maker, owner=venture, kind="role", title="Sell 3,000 units by June", response_form=ROLE)
    bold, steady, cheap = make_person(name="Bold"), make_person(name="Steady"), make_person(name="Cheap")
    with pytest.raises(InvalidResponse, match="what you ask"):
        services.response_submit(actor=bold, call=call, content={"target": 4000})
    services.response_submit(actor=bold, call=call, content={"target": 4000, "ask_share_bp": 500})
    pick = services.response_submit(actor=steady, call=call, content={
        "target": 3000, "ask_fixed": {"minor": 2_000_000, "currency": "CNY"}, "pitch": "Ten years in the region."})
    services.response_submit(actor=cheap, call=call, content={"target": 3000, "ask_share_bp": 200})
    clock.advance(hours=48)
    services.calls_tick()
    ranking = client.get(f"/api/v1/calls/{call.pk}/ranking").json()
    assert [(r["respondent_name"], r["score"]) for r in ranking] == [
        ("Bold", "133.333333"), ("Steady", "100.000000"), ("Cheap", "100.000000")]
    services.call_select(actor=maker, call=call, response=pick, reason="A track record in the region.")
    clock.advance(days=call.standstill_days)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED} and call.winner_id == pick.pk


@pytest.fixture
def investor(make_person: Any) -> tuple[Any, Any]:
    person = make_person(name="Ivy Investor", intent="investor")
    return person, organisation(owner=person, kind="investor", name="Northstar Capital")


def test_a_funding_round_awards_tranches_released_through_the_ledger(
        clock: Clock, maker: Any, venture: Any, make_person: Any, investor: Any,
        client_for: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="funding", title="Seed round", response_form=FUNDING)
    ivy, fund = investor
    with pytest.raises(NotEligible):
        services.response_submit(actor=make_person(), call=call, content={"amount": 1})
    with pytest.raises(InvalidResponse):
        services.response_submit(actor=ivy, call=call, organisation=fund, content={"amount": 100_000_002})
    commitment = services.response_submit(actor=ivy, call=call, organisation=fund,
                                          content={"amount": 100_000_001, "conditions": "Board seat."})
    clock.advance(hours=48)
    services.calls_tick()
    services.call_select(actor=maker, call=call, response=commitment, reason="The full amount.")
    clock.advance(days=call.standstill_days)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED}
    tranches = list(Tranche.objects.filter(call=call).order_by("number"))
    assert [(t.milestone, t.amount) for t in tranches] == [
        ("Prototype", 33_330_000), ("Certification", 33_330_000), ("First batch", 33_340_001)]
    assert sum(t.amount for t in tranches) == 100_000_001
    first, second, _third = tranches
    kind_services.tranche_report(actor=maker, tranche=second, evidence="Certificate no. 42")
    with pytest.raises(WrongTrancheState, match="earlier"):
        kind_services.tranche_release(actor=ivy, tranche=second)
    with pytest.raises(WrongTrancheState):
        kind_services.tranche_release(actor=ivy, tranche=first)  # not reported yet
    with pytest.raises(NotAllowedHere):
        kind_services.tranche_release(actor=maker, tranche=second)  # the venture does not release its own money
    page = client_for(maker).post(f"/tranches/{first.pk}/report", {"evidence": "Prototype demo video"})
    assert page.status_code == 302
    assert client_for(ivy).post(f"/tranches/{first.pk}/release").status_code == 302
    kind_services.tranche_release(actor=ivy, tranche=second)
    operating = account_open(organisation=venture, purpose="venture_operating", currency="CNY")
    assert balance_of(account=operating).net_credit == 66_660_000
    assert Transfer.objects.filter(code="funding").count() == 2
    assert {t.state for t in Tranche.objects.filter(call=call)} == {TrancheState.RELEASED, TrancheState.PLANNED}
    listing = client_for(ivy).get(f"/api/v1/calls/{call.pk}/tranches").json()
    assert [t["state"] for t in listing] == ["released", "released", "planned"]
    assert client_for(make_person()).get(f"/api/v1/calls/{call.pk}/tranches").status_code == 403
    assert "Tranche 3: First batch" in client_for(maker).get(f"/calls/{call.pk}/funding/tranches").content.decode()
