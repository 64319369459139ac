"""challenge: a technical problem with a reward; solvers propose; the owner picks with a published reason; the reward
is paid through the ledger (venture_operating → the solver's co_creator_earnings), once."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

import uuid
from typing import Any

import pytest

from makercloud.calls.kinds.challenge import reward_transfer_id
from makercloud.calls.kinds.errors import InvalidKindRules, InvalidResponse
from makercloud.calls.models import CallState
from makercloud.calls.services import engine as services
from makercloud.calls.services import kinds as kind_services
from makercloud.calls.tests.engine_fixtures import Clock, clock, publish, venture  # noqa: F401
from makercloud.ledger.models import Transfer
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create

REWARD = {"minor": 5_000_000, "currency": "CNY"}


def fund(venture: Any, minor: int) -> None:
    """Money into the venture's operating account from its clearing account (a bank transfer in)."""
    clearing = account_open(organisation=venture, purpose="clearing", currency="CNY")
    operating = account_open(organisation=venture, purpose="venture_operating", currency="CNY")
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=operating,
                                             amount=minor, code="adjustment")])


def test_a_challenge_needs_a_reward(clock: Clock, maker: Any, venture: Any) -> None:
    with pytest.raises(InvalidKindRules, match="reward"):
        publish(actor=maker, owner=venture, kind="challenge")
    with pytest.raises(InvalidKindRules):
        publish(actor=maker, owner=venture, kind="challenge", selection={"reward": {"minor": 1.5, "currency": "CNY"}})


def test_the_picked_solver_is_paid_the_reward_through_the_ledger_once(clock: Clock, maker: Any, venture: Any,
                                                                      make_person: Any) -> None:
    fund(venture, 6_000_000)
    call = publish(actor=maker, owner=venture, kind="challenge", title="Silence a 40 mm fan",
                   selection={"method": "owner", "reward": REWARD})
    solver, other = make_person(name="Sun Solver"), make_person()
    with pytest.raises(InvalidResponse):
        services.response_submit(actor=solver, call=call, content={"approach": "no summary"})
    solution = services.response_submit(actor=solver, call=call, content={
        "summary": "Helmholtz resonator in the duct", "links": ["https://example.com/cad"]})
    services.response_submit(actor=other, call=call, content={"summary": "Slower fan"})
    clock.advance(hours=48)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state == CallState.EVALUATED
    services.call_select(actor=maker, call=call, response=solution, reason="Cuts 9 dB without slowing the fan.")
    clock.advance(days=call.standstill_days)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED}
    transfer = Transfer.objects.get(id=reward_transfer_id(call))
    assert (transfer.amount, transfer.currency, transfer.code) == (5_000_000, "CNY", "reward")
    earnings = account_open(person=solver, purpose="co_creator_earnings", currency="CNY")
    operating = account_open(organisation=venture, purpose="venture_operating", currency="CNY")
    assert balance_of(account=earnings).net_credit == 5_000_000
    assert balance_of(account=operating).net_credit == 1_000_000
    kind_services.challenge_reward_pay(call=call, response=solution, actor=None)  # a retry pays nothing more
    assert balance_of(account=earnings).net_credit == 5_000_000
    assert Transfer.objects.filter(code="reward").count() == 1


def test_without_funds_the_award_waits_and_nothing_is_paid(clock: Clock, maker: Any, venture: Any,
                                                           make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="challenge", selection={"reward": REWARD})
    solution = services.response_submit(actor=make_person(), call=call, content={"summary": "An idea"})
    clock.advance(hours=48)
    services.calls_tick()
    services.call_select(actor=maker, call=call, response=solution, reason="Only one.")
    clock.advance(days=call.standstill_days)
    assert services.calls_tick()["failed"] == 1
    call.refresh_from_db()
    assert call.state == CallState.STANDSTILL and not Transfer.objects.filter(code="reward").exists()
    fund(venture, 5_000_000)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED}
    assert Transfer.objects.filter(code="reward").count() == 1


def test_the_kinds_pages_of_another_kind_lead_back_to_the_call(clock: Clock, maker: Any, venture: Any,
                                                               client: Any, bearer_for: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="challenge", selection={"reward": REWARD})
    assert client.get(f"/calls/{call.pk}/idea/")["Location"] == f"/calls/{call.pk}/"
    assert client.get(f"/calls/{call.pk}/sourcing/formula")["Location"] == f"/calls/{call.pk}/"
    supports = client.post(f"/api/v1/calls/{call.pk}/supports", headers=bearer_for(maker, ["calls:write"]))
    assert supports.status_code == 409 and supports.json()["type"].endswith("not-an-idea")
