"""What a contract in force does: its targets become the venture's statement plan (replaced when an amendment is
signed), a decided bet-on clause moves its transfer through the ledger once, and a milestone counts as met only once
the other party confirms the record (corrections are new records). Ids on the API: venture_id is a Venture's."""

# ruff: noqa: F811  (fixtures imported from the ledger's rules_fixtures)

import uuid
from datetime import date, timedelta
from typing import Any

import pytest
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.contracts import selectors, services
from makercloud.contracts.errors import NotAParty
from makercloud.contracts.models import Contract, MilestoneRecord
from makercloud.contracts.tests.test_contracts import draw_up, sale, sign_all
from makercloud.core.errors import DomainError
from makercloud.ledger.models import Account, AccountPurpose, SharingRule, StatementPlan, Transfer
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create
from makercloud.ledger.services.statements import statement_plan_set, statement_plans_replace
from makercloud.ledger.statement_periods import MONTH, Period
from makercloud.ledger.tests.rules_fixtures import parties, rule, venture  # noqa: F401
from makercloud.notifications.models import Notification
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db

NOV, DEC = Period(MONTH, 2026, 11), Period(MONTH, 2026, 12)


def plans(venture: Venture) -> dict[str, tuple[str, int | None, int | None]]:
    return {f"{p.period_start:%Y-%m}": (p.source, p.units, p.revenue)
            for p in StatementPlan.objects.filter(venture=venture)}


# Plan against actual ---------------------------------------------------------------------------------------------


def test_signed_targets_become_the_statement_plan_and_an_amendment_replaces_it(
        maker: User, venture: Venture, parties: dict[str, Any], client_for: Any) -> None:
    contract = draw_up(maker, venture, parties, targets=[
        # 3,001 units over November and December (30 and 31 days): 1,476 + 1,525, no unit lost
        {"key": "sales", "metric": "units_sold", "threshold": 3001, "from": "2026-11-01", "until": "2027-01-01"},
        {"key": "revenue", "metric": "revenue", "threshold": 900_000, "currency": "CNY", "from": "2026-11-01",
         "until": "2026-12-01"}], bet_ons=[])
    assert plans(venture) == {}  # not before every party has signed
    sign_all(contract, maker, parties)
    assert plans(venture) == {"2026-11": ("contract", 1476, 900_000), "2026-12": ("contract", 1525, None)}

    page = client_for(maker).get(f"/ventures/{venture.slug}/statement/?period=2026-11").content.decode()
    assert "Plan against actual" in page and "1476" in page and f"contract #{contract.pk} v1" in page
    detail = client_for(parties["sofia"]).get(f"/contracts/{contract.pk}/").content.decode()
    assert 'id="contract-plans"' in detail and "2026-11, 2026-12" in detail

    services.contract_amend(contract=contract, actor=parties["sofia"], reason="December only", targets=[
        {"key": "sales", "metric": "units_sold", "threshold": 2000, "from": "2026-12-01", "until": "2027-01-01"}])
    assert plans(venture)["2026-11"] == ("contract", 1476, 900_000)  # the terms in force still plan November
    contract.refresh_from_db()
    sign_all(contract, maker, parties)
    assert plans(venture) == {"2026-12": ("contract", 2000, None)}  # version 1's plan is replaced


def test_plans_of_two_contracts_add_up_and_replace_the_ventures_own_plan_of_those_months(
        maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    statement_plan_set(actor=maker, venture=venture, period=NOV, currency="CNY", active_users=40)
    statement_plan_set(actor=maker, venture=venture, period=Period(MONTH, 2027, 3), currency="CNY", units=5)
    for threshold in (100, 50):
        contract = draw_up(maker, venture, parties, bet_ons=[], targets=[
            {"key": "sales", "metric": "units_sold", "threshold": threshold, "from": "2026-11-01",
             "until": "2026-12-01"}])
        sign_all(contract, maker, parties)
    assert plans(venture) == {"2026-11": ("contract", 150, None), "2027-03": ("venture", 5, None)}


def test_replacing_plans_withdraws_only_those_of_the_same_source(maker: User, venture: Venture) -> None:
    statement_plan_set(actor=maker, venture=venture, period=NOV, currency="CNY", units=7)
    statement_plans_replace(venture=venture, source="contract", reason="test",
                            plans={DEC: {"currency": "CNY", "revenue": 10}})
    assert plans(venture) == {"2026-11": ("venture", 7, None), "2026-12": ("contract", None, 10)}
    assert statement_plans_replace(venture=venture, source="contract", plans={}, reason="test") == 1
    assert plans(venture) == {"2026-11": ("venture", 7, None)}


# Bet-on clauses move money -----------------------------------------------------------------------------------------


def clause(**transfers: Any) -> list[dict[str, Any]]:
    by = timezone.now() + timedelta(days=30)
    return [{"key": "b1", "target": "sales", "by": by, "if_met": "Bonus for the supplier",
             "otherwise": "Penalty paid by the supplier", **transfers}]


def test_a_met_clause_pays_its_tranche_once_and_a_refusal_is_retried(
        maker: User, venture: Venture, parties: dict[str, Any], rule: SharingRule, client_for: Any) -> None:
    contract = draw_up(maker, venture, parties, rule, bet_ons=clause(
        if_met_transfer={"from": "venture", "to": "motors", "amount": 50_000, "currency": "CNY", "code": "reward"},
        otherwise_transfer={"from": "motors", "to": "venture", "amount": 20_000, "currency": "CNY"}))
    sign_all(contract, maker, parties)
    for event_id in ("a", "b", "c"):
        sale(venture, event_id, 1_000, maker)  # the venture's share of 3,000 does not cover a 50,000 bonus

    decided = services.bet_on_evaluate(contract=contract, key="b1", actor=parties["sofia"])
    assert decided.outcome == "met" and decided.transfer_id is None and "exceed" in decided.transfer_error.lower()
    operating = account_open(organisation=venture.organisation, purpose=AccountPurpose.VENTURE_OPERATING,
                             currency="CNY")
    clearing = account_open(organisation=venture.organisation, purpose=AccountPurpose.CLEARING, currency="CNY")
    payable = account_open(organisation=parties["motors"], purpose=AccountPurpose.SUPPLIER_PAYABLE, currency="CNY")
    before, payable_before = balance_of(account=operating).net_credit, balance_of(account=payable).net_credit
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=clearing,
                                             credit_account=operating, amount=100_000, code="funding")])

    assert services.bet_ons_evaluate_due() == 1  # the refused transfer is tried again
    services.bet_ons_evaluate_due()
    services.bet_on_evaluate(contract=contract, key="b1", actor=maker)  # and asking again moves nothing more
    decided.refresh_from_db()
    assert decided.transfer_id == services.bet_on_transfer_id(contract=contract, key="b1")
    assert balance_of(account=payable).net_credit == payable_before + 50_000  # its share of sales, and the bonus
    assert balance_of(account=operating).net_credit == before + 100_000 - 50_000
    assert Transfer.objects.filter(reference=f"contract:{contract.pk}:bet-on:b1").count() == 1

    # an amendment keeps the decided clause decided and paid: nothing moves a second time
    services.contract_amend(contract=contract, actor=maker, reason="New text", text="Amended")
    contract.refresh_from_db()
    sign_all(contract, maker, parties)
    contract.refresh_from_db()
    carried = contract.current.bet_ons.get()  # type: ignore[union-attr]
    assert carried.outcome == "met" and carried.transfer_id == decided.transfer_id
    assert Transfer.objects.filter(reference=f"contract:{contract.pk}:bet-on:b1").count() == 1

    page = client_for(parties["sofia"]).get(f"/contracts/{contract.pk}/").content.decode()
    assert str(decided.transfer_id) in page and "Transfer 50000 CNY (minor units) from venture to motors" in page


def test_a_missed_clause_makes_the_other_transfer(maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    contract = draw_up(maker, venture, parties, bet_ons=clause(
        if_met_transfer={"from": "venture", "to": "motors", "amount": 50_000, "currency": "CNY"},
        otherwise_transfer={"from": "motors", "to": "venture", "amount": 20_000, "currency": "CNY"}))
    sign_all(contract, maker, parties)
    assert services.bet_ons_evaluate_due(now=timezone.now() + timedelta(days=31)) == 1
    contract.refresh_from_db()
    missed = contract.current.bet_ons.get()  # type: ignore[union-attr]
    assert missed.outcome == "missed" and missed.transfer_id is not None
    operating = Account.objects.get(organisation=venture.organisation, purpose=AccountPurpose.VENTURE_OPERATING)
    assert balance_of(account=operating).net_credit == 20_000
    assert Notification.objects.filter(person=maker, body__contains="20000 CNY").exists()


def test_a_clause_transfer_names_two_of_the_parties(maker: User, venture: Venture, parties: dict[str, Any]) -> None:
    with pytest.raises(DomainError, match="from one party to another"):
        draw_up(maker, venture, parties, bet_ons=clause(
            if_met_transfer={"from": "venture", "to": "nobody", "amount": 1, "currency": "CNY"}))
    assert not Contract.objects.exists()


# Milestones need the other party ------------------------------------------------------------------------------------


def test_a_milestone_counts_once_the_other_party_confirms_and_a_correction_is_a_new_record(
        maker: User, venture: Venture, parties: dict[str, Any], client_for: Any) -> None:
    contract = draw_up(maker, venture, parties, bet_ons=[])
    sign_all(contract, maker, parties)
    contract.refresh_from_db()
    sofia = parties["sofia"]
    today = timezone.now().date()
    first = services.milestone_record(contract=contract, actor=sofia, key="delivery", done_on=today,
                                      evidence="Delivery note 118")
    [row] = selectors.milestones_of(contract=contract, version=contract.current)  # type: ignore[arg-type]
    assert row.actual is None and row.awaiting == first  # not met until the venture confirms
    with pytest.raises(NotAParty):  # the recording party does not confirm its own record
        services.milestone_confirm(contract=contract, actor=sofia, record_id=first.pk)
    assert Notification.objects.filter(person=maker, title__contains="Confirm milestone").exists()

    browser = client_for(maker)
    page = browser.get(f"/contracts/{contract.pk}/").content.decode()
    assert "Delivery note 118" in page and "Confirm for Bright Home" in page
    browser.post(f"/contracts/{contract.pk}/milestone-records/{first.pk}/confirm/")
    [row] = selectors.milestones_of(contract=contract, version=contract.current)  # type: ignore[arg-type]
    assert row.actual == first and row.awaiting is None

    correction = services.milestone_record(contract=contract, actor=sofia, key="delivery",
                                           done_on=today - timedelta(days=2), evidence="Note 118 was dated earlier")
    [row] = selectors.milestones_of(contract=contract, version=contract.current)  # type: ignore[arg-type]
    assert row.actual == first and row.awaiting == correction  # the confirmed one counts until then
    first.refresh_from_db()
    assert first.evidence == "Delivery note 118" and first.done_on == today  # never overwritten
    services.milestone_confirm(contract=contract, actor=maker, record_id=correction.pk)
    [row] = selectors.milestones_of(contract=contract, version=contract.current)  # type: ignore[arg-type]
    assert row.actual == correction and [r.pk for r in row.records] == [first.pk, correction.pk]
    assert MilestoneRecord.objects.filter(contract=contract).count() == 2


def test_milestones_on_the_api(maker: User, venture: Venture, parties: dict[str, Any], bearer_for: Any,
                               client: Any) -> None:
    contract = draw_up(maker, venture, parties, bet_ons=[])
    sign_all(contract, maker, parties)
    supplier = bearer_for(parties["sofia"], ["contracts:read", "contracts:write"])
    buyer = bearer_for(maker, ["contracts:read", "contracts:write"])
    day = date.today().isoformat()
    recorded = client.post(f"/api/v1/contracts/{contract.pk}/milestones/delivery",
                           {"done_on": day, "evidence": "Note 7"}, content_type="application/json",
                           headers=supplier)
    assert recorded.status_code == 201 and recorded.json()["confirmed_at"] is None
    record_id = recorded.json()["id"]
    again = client.post(f"/api/v1/contracts/{contract.pk}/milestone-records/{record_id}/confirm", {},
                        content_type="application/json", headers=supplier)
    assert again.status_code == 403 and again.json()["type"].endswith("/not-a-contract-party")
    confirmed = client.post(f"/api/v1/contracts/{contract.pk}/milestone-records/{record_id}/confirm", {},
                            content_type="application/json", headers=buyer)
    assert confirmed.status_code == 200 and confirmed.json()["confirmed_by"] == ["venture"]
    milestone = client.get(f"/api/v1/contracts/{contract.pk}", headers=buyer).json()["milestones"][0]
    assert milestone["done_on"] == day and milestone["evidence"] == "Note 7" and len(milestone["records"]) == 1
    missing = client.post(f"/api/v1/contracts/{contract.pk}/milestone-records/999999/confirm", {},
                          content_type="application/json", headers=buyer)
    assert missing.status_code == 404


# Ids --------------------------------------------------------------------------------------------------------------


def test_venture_id_is_the_ventures_id_and_the_organisation_is_organisation_id(
        maker: User, parties: dict[str, Any], venture: Venture, bearer_for: Any, client: Any) -> None:
    assert venture.pk != venture.organisation.pk  # the parties' organisations were made first
    headers = bearer_for(maker, ["contracts:read", "contracts:write"])
    now = timezone.now()
    body = {"venture_id": venture.pk, "title": "Sensors",
            "parties": [{"key": "v", "role": "buyer", "organisation_id": venture.organisation.pk},
                        {"key": "s", "role": "supplier", "organisation_id": parties["sensors"].pk}],
            "targets": [{"key": "t", "metric": "units_sold", "threshold": 10, "from": now.isoformat(),
                         "until": (now + timedelta(days=9)).isoformat()}]}
    created = client.post("/api/v1/contracts", body, content_type="application/json", headers=headers)
    assert created.status_code == 201, created.content
    out = created.json()
    assert out["venture_id"] == venture.pk and out["organisation_id"] == venture.organisation.pk
    assert out["awaiting"]["terms"]["venture"] == {"venture_id": venture.pk,
                                                   "organisation_id": venture.organisation.pk, "name": "Bright Home"}
    listed = client.get("/api/v1/contracts", headers=headers).json()["items"][0]
    assert (listed["venture_id"], listed["organisation_id"]) == (venture.pk, venture.organisation.pk)
    wrong = client.post("/api/v1/contracts", {**body, "venture_id": venture.organisation.pk},
                        content_type="application/json", headers=headers)
    assert wrong.status_code == 404  # an organisation id is not a venture id
    assert Contract.objects.count() == 1
