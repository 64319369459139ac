"""Contracts: signing with re-authentication, amendments reset signatures, the hash chain, targets measured from
real ledger and device data, bet-on clauses, and who sees what (API and pages)."""

# ruff: noqa: F811  (fixtures imported from the ledger's rules_fixtures)

from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.contracts import selectors, services
from makercloud.contracts.errors import (
    NotAParty,
    NotDueYet,
    ReauthenticationFailed,
    StaleVersion,
    TooManySigningAttempts,
)
from makercloud.contracts.models import Contract, ContractState, ContractVersion, VersionState
from makercloud.core.money import Money
from makercloud.ledger.models import SharingRule
from makercloud.ledger.services.settlement import settle
from makercloud.ledger.tests.rules_fixtures import latest, parties, rule, venture  # noqa: F401
from makercloud.notifications.models import Notification
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db


def draw_up(maker: User, venture: Venture, parties: dict[str, Any], rule: SharingRule | None = None,
            **more: Any) -> Contract:
    now = timezone.now()
    return services.contract_create(
        actor=maker, venture=venture.organisation, title="Motor supply 2027",
        text="Precision Motors supplies 2,000 motors.",
        parties=[{"key": "venture", "role": "buyer", "organisation_id": venture.organisation.pk,
                  "contributions": "Design, sales"},
                 {"key": "motors", "role": "supplier", "organisation_id": parties["motors"].pk,
                  "contributions": "2,000 motors"}],
        targets=more.pop("targets", [{"key": "sales", "metric": "units_sold", "threshold": 3,
                                      "from": now - timedelta(days=1), "until": now + timedelta(days=30)}]),
        bet_ons=more.pop("bet_ons", [{"key": "b1", "target": "sales", "by": now + timedelta(days=30),
                                      "if_met": "Tranche A: 50,000 CNY", "otherwise": "Share B: 2%"}]),
        milestones=[{"key": "delivery", "title": "Delivery", "due": (now + timedelta(days=20)).date(),
                     "amount": 2_000_000, "currency": "CNY"}],
        rule_version=latest(rule) if rule else None, **more)


def sign_all(contract: Contract, maker: User, parties: dict[str, Any]) -> None:
    contract.refresh_from_db()
    for person in (maker, parties["sofia"]):
        services.contract_sign(contract=contract, actor=person, password=PASSWORD,
                               version_hash=contract.pending.hash)  # type: ignore[union-attr]


def sale(venture: Venture, event_id: str, minor: int, maker: User, **more: Any) -> Any:
    return settle(event_id=event_id, venture=venture.organisation, kind=more.pop("kind", "sale"),
                  revenue_class="product", amount=Money(minor, "CNY"), actor=maker, **more)


def test_every_party_signs_with_their_password_and_the_terms_come_into_force(
        maker: User, venture: Venture, parties: dict[str, Any], rule: SharingRule) -> None:
    contract = draw_up(maker, venture, parties, rule)
    version = contract.pending
    assert version is not None and contract.state == ContractState.AWAITING
    assert version.terms["rule"]["content_hash"] == latest(rule).content_hash  # the ledger's rule is bound
    assert Notification.objects.filter(person=parties["sofia"], title__contains="signature is needed").exists()

    with pytest.raises(ReauthenticationFailed):
        services.contract_sign(contract=contract, actor=maker, password="wrong", version_hash=version.hash)
    assert not version.signatures.exists()

    services.contract_sign(contract=contract, actor=maker, password=PASSWORD, version_hash=version.hash)
    contract.refresh_from_db()
    assert contract.state == ContractState.AWAITING and contract.current is None  # one party still to sign
    services.contract_sign(contract=contract, actor=parties["sofia"], password=PASSWORD, version_hash=version.hash)
    contract.refresh_from_db()
    assert contract.state == ContractState.SIGNED and contract.current == version and contract.signed_at
    signatures = {(s.party.key, s.signer, s.version_hash) for s in version.signatures.all()}
    assert signatures == {("venture", maker, version.hash), ("motors", parties["sofia"], version.hash)}
    assert Notification.objects.filter(person=maker, title__contains="Signed by every party").exists()


def test_a_stranger_cannot_sign_and_wrong_passwords_are_limited(
        maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    contract = draw_up(maker, venture, parties)
    version_hash = contract.pending.hash  # type: ignore[union-attr]
    with pytest.raises(NotAParty):
        services.contract_sign(contract=contract, actor=parties["kenji"], password=PASSWORD,
                               version_hash=version_hash)
    for _ in range(services.SIGNING_ATTEMPTS):
        with pytest.raises(ReauthenticationFailed):
            services.contract_sign(contract=contract, actor=maker, password="guess", version_hash=version_hash)
    with pytest.raises(TooManySigningAttempts):  # even the right password, for a while
        services.contract_sign(contract=contract, actor=maker, password=PASSWORD, version_hash=version_hash)


def test_an_amendment_needs_every_signature_again_and_keeps_the_old_terms_in_force_meanwhile(
        maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    contract = draw_up(maker, venture, parties)
    first = contract.pending
    sign_all(contract, maker, parties)
    record = services.milestone_record(contract=contract, actor=parties["sofia"], key="delivery",
                                       done_on=timezone.now().date(), evidence="Delivery note 118")
    services.milestone_confirm(contract=contract, actor=maker, record_id=record.pk)

    second = services.contract_amend(contract=contract, actor=parties["sofia"], reason="Price index moved",
                                     text="Precision Motors supplies 2,400 motors.")
    contract.refresh_from_db()
    assert contract.state == ContractState.AMENDING and contract.current == first and contract.pending == second
    assert second.prev_hash == first.hash and not second.signatures.exists()  # signatures reset
    [delivery] = selectors.milestones_of(contract=contract, version=second)
    assert delivery.actual is not None and delivery.actual.evidence == "Delivery note 118"  # actuals carry over
    with pytest.raises(StaleVersion):  # signing what one read before the amendment is refused
        services.contract_sign(contract=contract, actor=maker, password=PASSWORD, version_hash=first.hash)
    services.contract_sign(contract=contract, actor=maker, password=PASSWORD, version_hash=second.hash)
    contract.refresh_from_db()
    assert contract.current == first  # one signature is not enough
    services.contract_sign(contract=contract, actor=parties["sofia"], password=PASSWORD, version_hash=second.hash)
    contract.refresh_from_db()
    first.refresh_from_db()
    assert contract.current == second and contract.state == ContractState.SIGNED
    assert first.state == VersionState.SUPERSEDED


def test_the_hash_chain_detects_changed_terms(maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    contract = draw_up(maker, venture, parties)
    services.contract_amend(contract=contract, actor=maker, reason="More units", text="2,400 motors")
    services.contract_amend(contract=contract, actor=maker, reason="Even more", text="2,800 motors")
    check = selectors.chain_verify(contract=contract)
    assert check.valid and check.versions == 3
    v1 = ContractVersion.objects.get(contract=contract, number=1)
    expected = services.chain_hash(v1.terms, "0" * 64)
    assert v1.hash == expected
    tampered = dict(v1.terms, text="Precision Motors supplies 20 motors.")
    ContractVersion.objects.filter(pk=v1.pk).update(terms=tampered)
    check = selectors.chain_verify(contract=contract)
    assert not check.valid and check.broken_at == 1


def test_units_sold_and_revenue_are_measured_from_settlements(
        maker: User, venture: Venture, parties: dict[str, Any], rule: SharingRule) -> None:
    now = timezone.now()
    contract = draw_up(maker, venture, parties, rule, targets=[
        {"key": "sales", "metric": "units_sold", "threshold": 3, "from": now - timedelta(days=1),
         "until": now + timedelta(days=30)},
        {"key": "revenue", "metric": "revenue", "threshold": 25_000, "currency": "CNY",
         "from": now - timedelta(days=1), "until": now + timedelta(days=30)}])
    sale(venture, "old", 10_000, maker, occurred_at=now - timedelta(days=5))  # before the period: not counted
    sale(venture, "o1", 10_000, maker)
    sale(venture, "o2", 12_000, maker)
    sale(venture, "o3", 8_000, maker)
    sale(venture, "r3", 8_000, maker, kind="refund", refund_of="o3")  # fully refunded: not a unit sold
    version = contract.pending
    measured = {t.key: value for t, value in selectors.targets_measured(version=version)}  # type: ignore[arg-type]
    assert measured == {"sales": 2, "revenue": 22_000}


def test_active_devices_are_those_of_the_ventures_models_seen_in_the_period(
        maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    from makercloud.devices.models import Device, DeviceModel, TelemetryPoint

    now = timezone.now()
    contract = draw_up(maker, venture, parties, targets=[
        {"key": "fleet", "metric": "active_devices", "threshold": 2, "from": now - timedelta(days=7),
         "until": now + timedelta(days=7)}], bet_ons=[])
    model = DeviceModel.objects.create(organisation=venture.organisation, key="lamp", version=1, title="Lamp",
                                       document={})
    seen = Device.objects.create(id="d1", organisation=venture.organisation, model=model, name="a",
                                 last_seen_at=now - timedelta(hours=1))
    later = Device.objects.create(id="d2", organisation=venture.organisation, model=model, name="b",
                                  last_seen_at=now + timedelta(days=20))
    Device.objects.create(id="d3", organisation=venture.organisation, model=model, name="c",
                          last_seen_at=now - timedelta(days=30))
    TelemetryPoint.objects.create(device=later, ts=now - timedelta(days=1), name="on", value=True)
    target = contract.pending.targets.get()  # type: ignore[union-attr]
    assert selectors.target_measure(target=target) == 2
    assert seen.pk == "d1"


def test_a_bet_on_clause_is_met_as_soon_as_the_target_is_and_missed_only_after_its_date(
        maker: User, venture: Venture, parties: dict[str, Any], rule: SharingRule) -> None:
    contract = draw_up(maker, venture, parties, rule)
    sign_all(contract, maker, parties)
    sale(venture, "a", 1_000, maker)
    with pytest.raises(NotDueYet):  # 1 of 3 and the date has not come
        services.bet_on_evaluate(contract=contract, key="b1", actor=maker)
    sale(venture, "b", 1_000, maker)
    sale(venture, "c", 1_000, maker)
    clause = services.bet_on_evaluate(contract=contract, key="b1", actor=maker)
    assert clause.outcome == "met" and clause.measured == 3
    assert Notification.objects.filter(person=parties["sofia"], body="Tranche A: 50,000 CNY").exists()

    now = timezone.now()
    other = draw_up(maker, venture, parties, rule, targets=[
        {"key": "sales", "metric": "units_sold", "threshold": 100, "from": now - timedelta(days=1),
         "until": now + timedelta(days=30)}])
    sign_all(other, maker, parties)
    with pytest.raises(NotDueYet):
        services.bet_on_evaluate(contract=other, key="b1", actor=parties["sofia"])
    assert services.bet_ons_evaluate_due(now=now + timedelta(days=31)) == 1  # the decided one is not redone
    other.refresh_from_db()
    missed = other.current.bet_ons.get()  # type: ignore[union-attr]
    assert missed.outcome == "missed" and missed.measured == 3
    assert Notification.objects.filter(person=maker, body="Share B: 2%").exists()


def test_a_stranger_sees_only_the_public_view(maker: User, venture: Venture, parties: dict[str, Any],
                                              client_for: Any, bearer_for: Any, client: Any) -> None:
    contract = draw_up(maker, venture, parties)
    stranger = parties["kenji"]
    assert client_for(stranger).get(f"/api/v1/contracts/{contract.pk}").status_code == 404  # unsigned: not known
    assert client_for(stranger).get(f"/contracts/{contract.pk}/").status_code == 404
    sign_all(contract, maker, parties)

    public = client.get(f"/api/v1/contracts/{contract.pk}").json()
    assert public["full"] is False and public["in_force"] is None and public["targets"] is None
    assert {p["name"] for p in public["parties"]} == {"Bright Home", "Precision Motors"}
    page = client_for(stranger).get(f"/contracts/{contract.pk}/").content.decode()
    assert "Precision Motors" in page and "2,000 motors" not in page and "Only the parties" in page
    timeline = client.get(f"/api/v1/contracts/{contract.pk}/timeline").json()["items"]
    assert [e["kind"] for e in timeline] == ["contract.signed"]
    assert client_for(stranger).get(f"/api/v1/contracts/{contract.pk}/versions").status_code == 404
    assert client_for(stranger).get("/api/v1/contracts").json()["items"] == []

    party_view = client_for(parties["sofia"]).get(f"/api/v1/contracts/{contract.pk}").json()
    assert party_view["full"] and party_view["in_force"]["terms"]["text"] == "Precision Motors supplies 2,000 motors."
    assert party_view["chain_valid"] is True
    page = client_for(parties["sofia"]).get(f"/contracts/{contract.pk}/").content.decode()
    assert "Precision Motors supplies 2,000 motors." in page


def test_the_api_draws_up_signs_and_amends(maker: User, venture: Venture, parties: dict[str, Any],
                                           bearer_for: Any, client: Any) -> None:
    now = timezone.now()
    headers = bearer_for(maker, ["contracts:read", "contracts:write"])
    body = {"venture_id": venture.pk, "title": "Sensors",
            "parties": [{"key": "v", "role": "buyer", "organisation_id": venture.organisation.pk},
                        {"key": "s", "role": "supplier", "organisation_id": parties["sensors"].pk}],
            "targets": [{"key": "t", "metric": "revenue", "threshold": 10, "currency": "CNY",
                         "from": now.isoformat(), "until": (now + timedelta(days=9)).isoformat()}]}
    created = client.post("/api/v1/contracts", body, content_type="application/json", headers=headers)
    assert created.status_code == 201, created.content
    contract_id, pending = created.json()["id"], created.json()["awaiting"]["hash"]

    bad = {**body, "parties": [*body["parties"][1:], {"key": "x", "role": "r", "person_id": parties["zhao"].pk}]}
    refused = client.post("/api/v1/contracts", bad, content_type="application/json", headers=headers)
    assert refused.status_code == 422 and refused.json()["type"].endswith("/invalid-contract-terms")

    wrong = client.post(f"/api/v1/contracts/{contract_id}/sign", {"password": "nope", "version_hash": pending},
                        content_type="application/json", headers=headers)
    assert wrong.status_code == 403 and wrong.json()["type"].endswith("/reauthentication-failed")
    signed = client.post(f"/api/v1/contracts/{contract_id}/sign", {"password": PASSWORD, "version_hash": pending},
                         content_type="application/json", headers=headers)
    assert signed.status_code == 200 and signed.json()["awaiting"]["signatures"][0]["party"] == "v"

    amended = client.post(f"/api/v1/contracts/{contract_id}/amendments", {"reason": "Typo", "text": "Fixed"},
                          content_type="application/json", headers=headers)
    assert amended.status_code == 201 and amended.json()["prev_hash"] == pending
    assert amended.json()["signatures"] == []
    versions = client.get(f"/api/v1/contracts/{contract_id}/versions", headers=headers).json()
    assert [v["state"] for v in versions] == ["replaced", "proposed"]


def test_signing_on_the_page_asks_for_the_password(maker: User, venture: Venture, parties: dict[str, Any],
                                                   client_for: Any) -> None:
    contract = draw_up(maker, venture, parties)
    version = contract.pending
    browser = client_for(maker)
    page = browser.get(f"/contracts/{contract.pk}/").content.decode()
    assert 'type="password"' in page and version.hash in page  # type: ignore[union-attr]
    party = contract.parties.get(key="venture").pk
    response = browser.post(f"/contracts/{contract.pk}/sign/", {"password": "nope", "version_hash": version.hash,
                                                               "party": party}, follow=True)
    assert "The password is not correct" in response.content.decode()
    browser.post(f"/contracts/{contract.pk}/sign/", {"password": PASSWORD, "version_hash": version.hash,
                                                    "party": party})
    assert version.signatures.filter(signer=maker).exists()  # type: ignore[union-attr]


def test_drawing_up_and_amending_on_the_pages(maker: User, venture: Venture, parties: dict[str, Any],
                                              client_for: Any) -> None:
    browser = client_for(maker)
    form = browser.get("/contracts/new/").content.decode()
    assert "Bright Home" in form
    refused = browser.post("/contracts/new/", {"venture": venture.organisation.pk, "title": "Sensors",
                                               "counterparty": "no-such-org", "counterparty_role": "supplier",
                                               "targets": "[{not json"})
    assert refused.status_code == 200 and not Contract.objects.exists()
    assert "This is not valid JSON" in refused.content.decode()
    created = browser.post("/contracts/new/", {
        "venture": venture.organisation.pk, "title": "Sensors 2027", "counterparty": parties["sensors"].slug,
        "counterparty_role": "supplier", "text": "5,000 sensors a quarter.",
        "milestones": '[{"key": "q1", "title": "First quarter", "due": "2027-03-31"}]'}, follow=True)
    contract = Contract.objects.get()
    assert "Contract drawn up" in created.content.decode() and contract.pending.milestones.get().key == "q1"  # type: ignore[union-attr]
    assert client_for(parties["kenji"]).get(f"/contracts/{contract.pk}/amend/").status_code == 200  # Sensorik's owner

    amended = browser.post(f"/contracts/{contract.pk}/amend/", {
        "reason": "Two quarters", "text": "5,000 sensors a quarter.",
        "milestones": '[{"key": "q1", "title": "First quarter", "due": "2027-03-31"},'
                      ' {"key": "q2", "title": "Second quarter", "due": "2027-06-30"}]'}, follow=True)
    assert "every party signs it again" in amended.content.decode()
    contract.refresh_from_db()
    assert contract.pending.number == 2 and contract.pending.milestones.count() == 2  # type: ignore[union-attr]
    stranger = client_for(parties["zhao"])
    assert stranger.get(f"/contracts/{contract.pk}/amend/").status_code == 404  # unsigned: unknown to strangers
