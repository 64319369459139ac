"""The ledger API between ventures: nobody writes into another venture's books or statement, takes the platform's
transfer ids first, learns another venture's settlement, or reads who earned what of a public rule's settlements;
`venture_id` is a venture's id everywhere; linked batches on the API."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.core.money import Money
from makercloud.core.problems import TYPE_BASE
from makercloud.ledger.models import Settlement, SharingRule, Transfer
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services import settlement as settlement_services
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create
from makercloud.ledger.tests.rules_fixtures import FIVE_PARTIES, parties, rule, venture  # noqa: F401
from makercloud.ventures import services as ventures_services
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db
JSON = "application/json"


def problem_type(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["type"]).removeprefix(TYPE_BASE)


@pytest.fixture
def laundry(make_person: Callable[..., User]) -> dict[str, Any]:
    """Another venture, Laundry Lab, with money in its operating account."""
    owner = make_person("lab@example.com", name="Lena Lab")
    lab = ventures_services.venture_found(actor=owner, name="Laundry Lab", mission="Quiet washers.", origin="outside")
    clearing = account_open(organisation=accounts_services.platform_organisation(), purpose="clearing",
                            currency="CNY")
    operating = account_open(organisation=lab.organisation, purpose="venture_operating", currency="CNY")
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=operating,
                                             amount=10_000, code="funding", venture=lab.organisation)])
    return {"owner": owner, "venture": lab, "operating": operating, "clearing": clearing}


def settle_sale(venture: Venture, event_id: str = "order-1", amount: int = 100_000) -> Settlement:
    return settlement_services.settle(event_id=event_id, venture=venture.organisation, kind="sale",
                                      amount=Money(amount, "CNY"), actor=None)


def transfer(laundry: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"debit_account_id": laundry["operating"].pk, "credit_account_id": laundry["clearing"].pk,
            "amount": {"amount": 1, "currency": "CNY"}, "code": "adjustment", **extra}


def shared(client: Client, venture: Venture, period: str) -> dict[str, Any]:
    response = client.get(f"/api/v1/ventures/{venture.pk}/statements", {"period": period})
    assert response.status_code == 200, response.content
    return response.json()["statements"][0]["value_shared"]


# 1. Another venture's books ---------------------------------------------------------------------------------------


def test_nobody_puts_a_transfer_into_another_ventures_books(
    laundry: dict[str, Any], venture: Venture, rule: SharingRule, maker: User, client_for: Callable[[User], Client],
) -> None:
    sale = settle_sale(venture)
    lab = client_for(laundry["owner"])
    response = lab.post("/api/v1/ledger/transfers",
                        transfer(laundry, venture_id=venture.pk, reference=sale.event_id, code="sale"),
                        content_type=JSON)
    assert response.status_code == 403 and problem_type(response) == "not-your-money"
    assert not Transfer.objects.filter(debit_account=laundry["operating"], code="sale").exists()
    books = client_for(maker).get(f"/api/v1/ledger/transfers?venture={venture.pk}").json()["items"]
    assert {t["debit_account_id"] for t in books} != {laundry["operating"].pk}
    assert len(books) == len(sale.shares)

    own = lab.post("/api/v1/ledger/transfers", transfer(laundry, venture_id=laundry["venture"].pk),
                   content_type=JSON)
    assert own.status_code == 201, own.content
    assert (own.json()["venture_id"], own.json()["organisation_id"]) == (
        laundry["venture"].pk, laundry["venture"].organisation_id)


def test_a_statement_counts_only_a_settlements_own_transfers(
    venture: Venture, rule: SharingRule, maker: User, laundry: dict[str, Any], client_for: Callable[[User], Client],
) -> None:
    """Even a transfer in the venture's books with the code and the reference of a settlement's (an operator's
    correction, say) is not one of its shares."""
    sale = settle_sale(venture)
    period = sale.occurred_at.strftime("%Y-%m")
    before = shared(client_for(maker), venture, period)
    assert before["makers"]["amount"] > 0
    transfers_create(transfers=[TransferSpec(
        id=uuid.uuid4(), debit_account=laundry["clearing"], credit_account=laundry["operating"], amount=77_777,
        code="sale", venture=venture.organisation, reference=sale.event_id,
    )])
    after = shared(client_for(maker), venture, period)
    assert after == before
    assert not any(p["name"] == "Laundry Lab" for p in after["parties"])


# 2. The platform's transfer ids; event ids of other ventures ---------------------------------------------------------


def test_ids_of_uuid_version_5_are_refused_so_nobody_blocks_a_settlement(
    laundry: dict[str, Any], venture: Venture, rule: SharingRule, client_for: Callable[[User], Client],
) -> None:
    lab = client_for(laundry["owner"])
    taken = settlement_services.transfer_id("order-7", 0)  # the id Bright Home's settlement of order-7 will use
    in_body = lab.post("/api/v1/ledger/transfers", transfer(laundry, id=str(taken)), content_type=JSON)
    assert in_body.status_code == 422 and problem_type(in_body) == "invalid-transfer"
    assert "version 5" in in_body.json()["detail"]
    as_key = lab.post("/api/v1/ledger/transfers", transfer(laundry), content_type=JSON,
                      headers={"Idempotency-Key": str(taken)})
    assert as_key.status_code == 422 and problem_type(as_key) == "invalid-transfer"
    in_batch = lab.post("/api/v1/ledger/transfers/batch", {"transfers": [transfer(laundry, id=str(taken))]},
                        content_type=JSON)
    assert in_batch.status_code == 422 and problem_type(in_batch) == "invalid-transfer"
    assert balance_of(account=laundry["operating"]).debits_posted == 0

    assert len(settle_sale(venture, "order-7").shares) == 7  # still free
    fine = lab.post("/api/v1/ledger/transfers", transfer(laundry, id=str(uuid.uuid4())), content_type=JSON)
    assert fine.status_code == 201
    keyed = lab.post("/api/v1/ledger/transfers", transfer(laundry), content_type=JSON,
                     headers={"Idempotency-Key": "my-adjustment-1"})
    assert keyed.status_code == 201  # a key that is not a UUID is made into one by the platform


def test_an_event_id_of_another_venture_is_taken_without_naming_its_settlement(
    laundry: dict[str, Any], venture: Venture, rule: SharingRule, client_for: Callable[[User], Client],
) -> None:
    sale = settle_sale(venture, "shop-42")
    account_open(organisation=laundry["venture"].organisation, purpose="venture_operating", currency="CNY")
    response = client_for(laundry["owner"]).post("/api/v1/ledger/settlements", {
        "event_id": "shop-42", "venture_id": laundry["venture"].pk, "kind": "sale", "amount": 100_000,
        "currency": "CNY"}, content_type=JSON)
    assert response.status_code == 409 and problem_type(response) == "settlement-conflict"
    body = response.json()
    assert set(body) == {"type", "title", "status", "detail"}  # no settlement_id, nothing of Bright Home's
    assert body["detail"] == "The event id shop-42 is already taken; use another."
    assert Settlement.objects.get(event_id="shop-42").pk == sale.pk


# 3. Who sees a public rule's settlements --------------------------------------------------------------------------


@pytest.fixture
def public_sale(venture: Venture, rule: SharingRule) -> Settlement:
    SharingRule.objects.filter(pk=rule.pk).update(public=True)
    return settle_sale(venture, "public-1", 100_001)


def test_anonymous_visitors_see_a_public_settlements_groups_not_its_people(public_sale: Settlement) -> None:
    groups = {g["party"]: g["amount"] for g in
              Client().get(f"/api/v1/ledger/settlements/{public_sale.pk}").json()["groups"]}
    assert sum(groups.values()) == 100_001
    assert groups.keys() == {"platform", "co_creators", "suppliers", "investors", "venture"}
    for url in (f"/api/v1/ledger/settlements/{public_sale.pk}", "/api/v1/ledger/settlements"):
        response = Client().get(url)
        assert response.status_code == 200
        text = response.content.decode()
        for name in ("Zhao", "María", "Precision Motors", "Sensorik", "Northstar"):
            assert name not in text, (url, name)
    detail = Client().get(f"/api/v1/ledger/settlements/{public_sale.pk}").json()
    assert detail["view"] == "groups" and detail["shares"] == [] and detail["transfers"] == []
    assert detail["amount"]["amount"] == 100_001 and detail["rule_text"] == FIVE_PARTIES
    assert all(step["members"] == [] for step in detail["recompute"]["steps"])
    assert all(row["member"] is None for row in detail["recompute"]["expected"])
    page = Client().get(f"/ledger/settlements/{public_sale.pk}/")
    assert page.status_code == 200
    assert "Zhao" not in page.content.decode() and "Precision Motors" not in page.content.decode()


def test_a_stranger_sees_groups_insiders_see_all_and_a_co_creator_their_own(
    public_sale: Settlement, venture: Venture, maker: User, parties: dict[str, Any],
    make_person: Callable[..., User], operator: User, client_for: Callable[[User], Client],
) -> None:
    url = f"/api/v1/ledger/settlements/{public_sale.pk}"
    stranger = client_for(make_person(name="Sam Stranger")).get(url).json()
    assert stranger["view"] == "groups" and stranger["shares"] == [] and stranger["transfers"] == []

    for insider in (maker, operator):
        whole = client_for(insider).get(url).json()
        assert whole["view"] == "full" and len(whole["shares"]) == 7 and len(whole["transfers"]) == 7
        assert {s["label"] for s in whole["shares"]} >= {"Zhao", "María", "Precision Motors"}

    zhao = client_for(parties["zhao"]).get(url).json()
    assert zhao["view"] == "groups"
    assert [(s["label"], s["amount"]) for s in zhao["shares"]] == [("Zhao", 7_500)]
    assert [t["id"] for t in zhao["transfers"]] == [zhao["shares"][0]["transfer_id"]]
    assert "María" not in str(zhao)
    listed = client_for(parties["zhao"]).get("/api/v1/ledger/settlements").json()["items"]
    assert [[s["label"] for s in item["shares"]] for item in listed] == [["Zhao"]]

    supplier = client_for(parties["sofia"]).get(url).json()  # owner of Precision Motors
    assert [s["label"] for s in supplier["shares"]] == ["Precision Motors"]
    page = client_for(parties["zhao"]).get(f"/ledger/settlements/{public_sale.pk}/").content.decode()
    assert "Zhao" in page and "María" not in page


# 4. venture_id is a venture's id -----------------------------------------------------------------------------------


def test_venture_id_means_the_venture_in_and_out(
    laundry: dict[str, Any], venture: Venture, rule: SharingRule, maker: User, client_for: Callable[[User], Client],
) -> None:
    """(Laundry Lab and the platform's organisation come first, so Bright Home's ids differ.)"""
    assert venture.pk != venture.organisation_id  # else this test could not tell them apart
    client = client_for(maker)
    response = client.post("/api/v1/ledger/settlements", {"event_id": "v-1", "venture_id": venture.pk,
                                                          "kind": "sale", "amount": 1000, "currency": "CNY"},
                           content_type=JSON)
    assert response.status_code == 201, response.content
    assert (response.json()["venture_id"], response.json()["organisation_id"]) == (venture.pk,
                                                                                   venture.organisation_id)
    listed = client.get("/api/v1/ledger/settlements", {"venture_id": venture.pk}).json()["items"]
    assert [(s["event_id"], s["venture_id"]) for s in listed] == [("v-1", venture.pk)]
    books = client.get("/api/v1/ledger/transfers", {"venture": venture.pk}).json()["items"]
    assert books and {t["venture_id"] for t in books} == {venture.pk}
    assert {t["organisation_id"] for t in books} == {venture.organisation_id}


# 5. Linked batches --------------------------------------------------------------------------------------------------


def test_a_linked_batch_goes_in_whole_or_not_at_all(
    laundry: dict[str, Any], client_for: Callable[[User], Client],
) -> None:
    lab = client_for(laundry["owner"])
    operating = laundry["operating"]  # holds 10,000
    count = Transfer.objects.count()
    overdraw = lab.post("/api/v1/ledger/transfers/batch", {"transfers": [
        transfer(laundry, id=str(uuid.uuid4()), amount={"amount": 6_000, "currency": "CNY"}),
        transfer(laundry, id=str(uuid.uuid4()), amount={"amount": 5_000, "currency": "CNY"}),
    ]}, content_type=JSON)
    assert overdraw.status_code == 409 and problem_type(overdraw) == "exceeds-credits"
    assert Transfer.objects.count() == count and balance_of(account=operating).debits_posted == 0

    pending_id = str(uuid.uuid4())
    body = {"transfers": [
        transfer(laundry, id=pending_id, kind="pending", amount={"amount": 3_000, "currency": "CNY"}),
        {"kind": "post", "pending_id": pending_id, "amount": {"amount": 2_000, "currency": "CNY"},
         "id": str(uuid.uuid4())},
        transfer(laundry, id=str(uuid.uuid4()), amount={"amount": 8_000, "currency": "CNY"}),  # 2,000 + 8,000
    ]}
    first = lab.post("/api/v1/ledger/transfers/batch", body, content_type=JSON)
    assert first.status_code == 201, first.content
    made = first.json()["transfers"]
    assert [t["kind"] for t in made] == ["pending", "post", "single"] and len({t["batch"] for t in made}) == 1
    assert balance_of(account=operating).debits_posted == 10_000
    again = lab.post("/api/v1/ledger/transfers/batch", body, content_type=JSON)
    assert again.status_code == 200 and [t["id"] for t in again.json()["transfers"]] == [t["id"] for t in made]
    assert balance_of(account=operating).debits_posted == 10_000


def test_each_transfer_of_a_batch_is_checked_like_a_single_one(
    laundry: dict[str, Any], venture: Venture, maker: User, client_for: Callable[[User], Client],
) -> None:
    theirs = account_open(organisation=venture.organisation, purpose="venture_operating", currency="CNY")
    lab = client_for(laundry["owner"])
    count = Transfer.objects.count()
    mine_then_theirs = lab.post("/api/v1/ledger/transfers/batch", {"transfers": [
        transfer(laundry, id=str(uuid.uuid4())),
        {"id": str(uuid.uuid4()), "debit_account_id": theirs.pk, "credit_account_id": laundry["clearing"].pk,
         "amount": {"amount": 1, "currency": "CNY"}, "code": "adjustment"},
    ]}, content_type=JSON)
    assert mine_then_theirs.status_code == 404 and problem_type(mine_then_theirs) == "ledger-account-not-found"
    into_their_books = lab.post("/api/v1/ledger/transfers/batch", {"transfers": [
        transfer(laundry, id=str(uuid.uuid4())), transfer(laundry, id=str(uuid.uuid4()), venture_id=venture.pk),
    ]}, content_type=JSON)
    assert into_their_books.status_code == 403 and problem_type(into_their_books) == "not-your-money"
    assert Transfer.objects.count() == count
    assert balance_of(account=laundry["operating"]).debits_posted == 0
