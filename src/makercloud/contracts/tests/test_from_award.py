"""Contracts drawn up by the call engine at the award: a sourcing round ends in a supply contract between the venture
and the winning supplier that both sign; a role's committed target becomes a target with a bet-on clause."""
# ruff: noqa: F811  (fixtures imported from the calls' engine_fixtures)

from typing import Any

from conftest import PASSWORD

from makercloud.calls.models import CallState
from makercloud.calls.services import engine as call_services
from makercloud.calls.tests.engine_fixtures import Clock, clock, make_supplier, publish, venture  # noqa: F401
from makercloud.calls.tests.test_kind_role_funding import ROLE
from makercloud.calls.tests.test_sealed_sourcing import RULES, qualified
from makercloud.contracts import services
from makercloud.contracts.models import Contract, ContractState


def test_a_sourcing_award_after_a_heard_complaint_ends_in_a_signed_supply_contract(
        clock: Clock, maker: Any, venture: Any, make_supplier: Any, operator: Any, client_for: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, title="Brushless motors", **RULES)
    alpha, alpha_co = qualified(make_supplier, operator, "Alpha Motors")
    beta, beta_co = qualified(make_supplier, operator, "Beta Motors")
    call_services.response_submit(actor=alpha, call=call, organisation=alpha_co,
                                  content={"unit_price": 9_000, "delivery_days": 20, "quality": ["iso9001"]})
    call_services.response_submit(actor=beta, call=call, organisation=beta_co,
                                  content={"unit_price": 11_000, "delivery_days": 40, "quality": []})
    clock.advance(hours=24)
    call_services.calls_tick()
    call.refresh_from_db()
    assert call.state == CallState.STANDSTILL and call.winner.organisation == alpha_co  # type: ignore[union-attr]
    complaint = call_services.complaint_submit(actor=beta, call=call, reasons="Alpha cannot deliver in 20 days.")
    call_services.complaint_decide(actor=operator, complaint=complaint, upheld=False, remedy="none",
                                   reasons="Alpha's capacity is documented.")
    clock.advance(days=call.standstill_days)
    call_services.calls_tick()
    call.refresh_from_db()
    assert call.state == CallState.CONTRACTED

    contract = Contract.objects.get(call=call)
    assert contract.state == ContractState.AWAITING
    assert {(p.key, p.role, p.organisation) for p in contract.parties.all()} == {
        ("owner", "buyer", venture), ("winner", "supplier", alpha_co)}
    terms = contract.pending.terms  # type: ignore[union-attr]
    assert "2000 units at 9000 CNY" in terms["text"] and terms["source"]["call_id"] == call.pk
    assert terms["milestones"][0]["amount"] == 2000 * 9000
    assert services.contract_create_from_award(call=call, response=call.winner, actor=maker) == contract  # once
    link = f'href="/contracts/{contract.pk}/"'
    assert link in client_for(maker).get(f"/calls/{call.pk}/").content.decode()  # the owner finds it from the call
    assert link not in client_for(beta).get(f"/calls/{call.pk}/").content.decode()  # not before it is signed

    for person in (maker, alpha):
        page = client_for(person).get(f"/contracts/{contract.pk}/")
        assert page.status_code == 200 and b'type="password"' in page.content
        services.contract_sign(contract=contract, actor=person, password=PASSWORD,
                               version_hash=contract.pending.hash)  # type: ignore[union-attr]
        contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED and contract.current is not None
    assert client_for(beta).get(f"/api/v1/contracts/{contract.pk}").json()["full"] is False  # the loser: public
    assert link in client_for(beta).get(f"/calls/{call.pk}/").content.decode()  # signed: on the call's page


def test_a_roles_committed_target_becomes_a_target_with_a_bet_on_clause(
        clock: Clock, maker: Any, venture: Any, make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="role", title="Sell 3,000 units by June", response_form=ROLE)
    steady = make_person(name="Steady")
    pick = call_services.response_submit(actor=steady, call=call, content={"target": 3500, "ask_share_bp": 300})
    clock.advance(hours=48)
    call_services.calls_tick()
    call_services.call_select(actor=maker, call=call, response=pick, reason="Committed the most.")
    clock.advance(days=call.standstill_days)
    call_services.calls_tick()
    contract = Contract.objects.get(call=call)
    version = contract.pending
    target = version.targets.get()  # type: ignore[union-attr]
    assert (target.metric, target.threshold, target.period_end.date().isoformat()) == (
        "units_sold", 3500, "2026-06-30")
    clause = version.bet_ons.get()  # type: ignore[union-attr]
    assert clause.target == target and "300 basis points" in clause.if_met
    assert contract.parties.get(key="winner").person == steady
