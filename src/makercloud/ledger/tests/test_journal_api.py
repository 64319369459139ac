"""The journal on the HTTP API: who sees and moves which money, idempotent retries, problem+json refusals."""

# ruff: noqa: F811  (fixtures imported from journal_fixtures)

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Membership, Organisation, User
from makercloud.ledger.models import Account, Transfer
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services.journal import TransferSpec, account_open, checkpoint_publish, transfers_create
from makercloud.ledger.tests.journal_fixtures import accounts, venture_org  # noqa: F401

pytestmark = pytest.mark.django_db
Bearer = Callable[..., dict[str, str]]


@pytest.fixture
def funded(accounts: dict[str, Account], venture_org: Organisation) -> dict[str, Account]:
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=accounts["clearing"],
                                             credit_account=accounts["venture"], amount=5000, code="sale",
                                             venture=venture_org, reference="sale-1")])
    return accounts


@pytest.fixture
def stranger(make_person: Callable[..., User]) -> User:
    person = make_person("stranger@example.com", name="Sam Stranger")
    other = accounts_services.organisation_create(actor=person, kind="venture", name="Other Lamps")
    account_open(organisation=other, purpose="venture_operating", currency="CNY")
    return person


def post(client: Client, body: dict[str, Any], headers: dict[str, str], **extra: str) -> Any:
    return client.post("/api/v1/ledger/transfers", body, content_type="application/json", headers={**headers, **extra})


def payout(funded: dict[str, Account], amount: int = 1200, **extra: Any) -> dict[str, Any]:
    return {"debit_account_id": funded["venture"].pk, "credit_account_id": funded["clearing"].pk,
            "amount": {"amount": amount, "currency": "CNY"}, "code": "payout", **extra}


def test_my_accounts_show_balances_and_no_one_elses(
    client: Client, maker: User, stranger: User, funded: dict[str, Account], bearer_for: Bearer
) -> None:
    response = client.get("/api/v1/ledger/accounts", headers=bearer_for(maker, ["ledger:read"]))
    assert response.status_code == 200
    items = {item["id"]: item for item in response.json()["items"]}
    assert set(items) == {funded["venture"].pk, funded["wallet"].pk}
    assert items[funded["venture"].pk]["balance"]["credits_posted"] == {"amount": 5000, "currency": "CNY"}
    assert items[funded["venture"].pk]["balance"]["net_credit"] == {"amount": 5000, "currency": "CNY"}

    theirs = client.get("/api/v1/ledger/accounts", headers=bearer_for(stranger, ["ledger:read"])).json()["items"]
    assert funded["venture"].pk not in {item["id"] for item in theirs} and len(theirs) == 1
    hidden = client.get(f"/api/v1/ledger/accounts/{funded['venture'].pk}",
                        headers=bearer_for(stranger, ["ledger:read"]))
    assert hidden.status_code == 404
    assert hidden["Content-Type"] == "application/problem+json"
    assert hidden.json()["type"].endswith("/ledger-account-not-found")


def test_operators_see_every_account(client: Client, operator: User, funded: dict[str, Account],
                                     bearer_for: Bearer) -> None:
    items = client.get("/api/v1/ledger/accounts?limit=2", headers=bearer_for(operator, ["ledger:read"])).json()
    assert len(items["items"]) == 2 and items["next_cursor"]
    rest = client.get(f"/api/v1/ledger/accounts?limit=2&cursor={items['next_cursor']}",
                      headers=bearer_for(operator, ["ledger:read"])).json()
    assert {i["id"] for i in items["items"] + rest["items"]} == {a.pk for a in funded.values()}


def test_a_stranger_can_neither_see_nor_move_another_organisations_money(
    client: Client, stranger: User, funded: dict[str, Account], bearer_for: Bearer
) -> None:
    headers = bearer_for(stranger, ["ledger:read", "ledger:write"])
    listed = client.get("/api/v1/ledger/transfers", headers=headers).json()
    assert listed == {"items": [], "next_cursor": None}
    assert client.get(f"/api/v1/ledger/transfers?account={funded['venture'].pk}", headers=headers).status_code == 404
    response = post(client, payout(funded), headers)
    assert response.status_code == 404  # not even told that the account exists
    assert balance_of(account=funded["venture"]).debits_posted == 0


def test_a_member_who_is_not_an_admin_cannot_move_money(
    client: Client, make_person: Callable[..., User], maker: User, venture_org: Organisation,
    funded: dict[str, Account], bearer_for: Bearer
) -> None:
    member = make_person("member@example.com")
    Membership.objects.create(person=member, organisation=venture_org, role="member")
    response = post(client, payout(funded), bearer_for(member, ["ledger:write"]))
    assert response.status_code == 403
    assert response.json()["type"].endswith("/not-your-money")


def test_an_admin_moves_money_once_per_idempotency_key(
    client: Client, maker: User, funded: dict[str, Account], bearer_for: Bearer
) -> None:
    headers = bearer_for(maker, ["ledger:read", "ledger:write"])
    first = post(client, payout(funded), headers, **{"Idempotency-Key": "payout-2026-11"})
    assert first.status_code == 201, first.json()
    again = post(client, payout(funded), headers, **{"Idempotency-Key": "payout-2026-11"})
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"] and again.json()["seq"] == first.json()["seq"]
    assert balance_of(account=funded["venture"]).debits_posted == 1200
    changed = post(client, payout(funded, amount=1300), headers, **{"Idempotency-Key": "payout-2026-11"})
    assert changed.status_code == 409 and changed.json()["type"].endswith("/transfer-exists")

    history = client.get(f"/api/v1/ledger/transfers?account={funded['venture'].pk}&code=payout", headers=headers)
    assert [t["amount"] for t in history.json()["items"]] == [{"amount": 1200, "currency": "CNY"}]


def test_refusals_are_problems(client: Client, maker: User, funded: dict[str, Account], bearer_for: Bearer) -> None:
    headers = bearer_for(maker, ["ledger:write"])
    overdraft = post(client, payout(funded, amount=5001), headers)
    assert overdraft.status_code == 409 and overdraft.json()["type"].endswith("/exceeds-credits")
    euro = post(client, payout(funded) | {"amount": {"amount": 1, "currency": "EUR"}}, headers)
    assert euro.status_code == 422 and euro.json()["type"].endswith("/transfer-currency-mismatch")
    zero = post(client, payout(funded, amount=0), headers)
    assert zero.status_code == 422 and zero["Content-Type"] == "application/problem+json"
    unknown = post(client, payout(funded) | {"colour": "red"}, headers)
    assert unknown.status_code == 422
    read_only = post(client, payout(funded), bearer_for(maker, ["ledger:read"]))
    assert read_only.status_code == 403
    assert client.get("/api/v1/ledger/accounts").status_code == 401
    assert Transfer.objects.count() == 1


def test_two_phase_over_the_api(client: Client, maker: User, funded: dict[str, Account], bearer_for: Bearer) -> None:
    headers = bearer_for(maker, ["ledger:read", "ledger:write"])
    held = post(client, payout(funded, amount=2000, kind="pending", timeout=600), headers)
    assert held.status_code == 201 and held.json()["timeout_at"]
    assert balance_of(account=funded["venture"]).debits_pending == 2000
    posted = post(client, {"kind": "post", "pending_id": held.json()["id"],
                           "amount": {"amount": 1500, "currency": "CNY"}}, headers)
    assert posted.status_code == 201, posted.json()
    balance = balance_of(account=funded["venture"])
    assert (balance.debits_posted, balance.debits_pending) == (1500, 0)
    again = post(client, {"kind": "void", "pending_id": held.json()["id"]}, headers)
    assert again.status_code == 409 and again.json()["type"].endswith("/pending-transfer-resolved")


def test_checkpoints_and_figures_are_public(client: Client, funded: dict[str, Account]) -> None:
    checkpoint = checkpoint_publish()
    assert checkpoint is not None
    listed = client.get("/api/v1/ledger/checkpoints").json()
    assert listed["items"][0]["seq"] == 1 and listed["items"][0]["hash"] == checkpoint.hash
    figures = client.get("/api/v1/ledger/figures").json()
    assert figures["transfers"] == 1 and figures["volume"] == [{"amount": 5000, "currency": "CNY"}]
    assert figures["head_hash"] == checkpoint.hash


def test_a_ventures_members_see_its_books_and_strangers_do_not(
    client: Client, maker: User, stranger: User, accounts: dict[str, Account], venture_org: Organisation,
    bearer_for: Bearer,
) -> None:
    """The platform's share of a venture's sale is in the venture's books: its members see it, nobody else does."""
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=accounts["clearing"],
                                             credit_account=accounts["revenue"], amount=99, code="sale",
                                             venture=venture_org, reference="platform-share")])
    books = client.get(f"/api/v1/ledger/transfers?venture={venture_org.venture.pk}",
                       headers=bearer_for(maker, ["ledger:read"])).json()
    assert [t["reference"] for t in books["items"]] == ["platform-share"]
    assert books["items"][0]["venture_id"] == venture_org.venture.pk
    assert books["items"][0]["organisation_id"] == venture_org.pk
    theirs = client.get(f"/api/v1/ledger/transfers?venture={venture_org.venture.pk}",
                        headers=bearer_for(stranger, ["ledger:read"])).json()
    assert theirs["items"] == []


def test_a_time_filter_with_any_offset_is_read_as_that_instant(
    client: Client, maker: User, funded: dict[str, Account], bearer_for: Bearer
) -> None:
    """RFC 3339 allows offsets PostgreSQL refuses (beyond ±15:59): the API reads the instant, never a 500."""
    headers = bearer_for(maker, ["ledger:read"])
    everything = client.get("/api/v1/ledger/transfers", headers=headers).json()["items"]
    assert everything
    for query, expected in (("from=2000-01-01T00:00:00-21:02", everything), ("to=2000-01-01T00:00:00%2B23:59", []),
                            ("from=5924-08-06T15:42:47-21:02", [])):
        response = client.get(f"/api/v1/ledger/transfers?{query}", headers=headers)
        assert response.status_code == 200, (query, response.content)
        assert response.json()["items"] == expected, query
    out_of_range = client.get("/api/v1/ledger/transfers?to=9999-12-31T23:59:59-23:59", headers=headers)
    assert out_of_range.status_code == 422 and out_of_range["Content-Type"] == "application/problem+json"
