"""The journal's pages: my accounts, transfer history with filters and pages, the public checkpoints, the admin."""

# ruff: noqa: F811  (fixtures imported from journal_fixtures)

import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from makercloud.accounts.models import Organisation, User
from makercloud.ledger.models import Account
from makercloud.ledger.services import journal as journal_services
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create
from makercloud.ledger.tests.journal_fixtures import accounts, venture_org  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(accounts: dict[str, Account], venture_org: Organisation) -> dict[str, Account]:
    clearing, venture, wallet = accounts["clearing"], accounts["venture"], accounts["wallet"]
    transfers_create(transfers=[
        TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=venture, amount=123456, code="sale",
                     venture=venture_org, reference="sale-lamp-1"),
        TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=wallet, amount=500, code="reward",
                     reference="idea-7"),
    ])
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=venture, credit_account=clearing,
                                             amount=2000, code="payout", kind="pending")])
    return accounts


def test_my_accounts_show_posted_and_pending_per_owner(
    client_for: Callable[[User], Client], maker: User, history: dict[str, Account]
) -> None:
    page = client_for(maker).get("/ledger/accounts/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Bright Home" in text and "Venture operating" in text and "User wallet" in text
    assert "CN¥1,234.56" in text  # the venture's posted balance
    assert "CN¥1,214.56" in text  # available: less the 20.00 held for a payout
    assert "CN¥5.00" in text  # the maker's own reward
    assert 'aria-current="page"' in text and ">Ledger<" in text


def test_a_stranger_sees_none_of_it(
    client_for: Callable[[User], Client], make_person: Callable[..., User], history: dict[str, Account]
) -> None:
    stranger = client_for(make_person("nosy@example.com"))
    assert "Bright Home" not in stranger.get("/ledger/accounts/").content.decode()
    text = stranger.get("/ledger/transfers/").content.decode()
    assert "sale-lamp-1" not in text and "No transfers match." in text
    other = stranger.get(f"/ledger/transfers/?account={history['venture'].pk}")
    assert other.status_code == 200 and "sale-lamp-1" not in other.content.decode()  # not a choice: refused


def test_history_filters_by_account_code_and_period(
    client_for: Callable[[User], Client], maker: User, history: dict[str, Account]
) -> None:
    client = client_for(maker)
    everything = client.get("/ledger/transfers/").content.decode()
    assert "sale-lamp-1" in everything and "idea-7" in everything
    wallet_only = client.get(f"/ledger/transfers/?account={history['wallet'].pk}").content.decode()
    assert "idea-7" in wallet_only and "sale-lamp-1" not in wallet_only
    payouts = client.get("/ledger/transfers/?code=payout").content.decode()
    assert "Payout" in payouts and "sale-lamp-1" not in payouts
    assert "No transfers match." in client.get("/ledger/transfers/?since=2001-01-01&until=2001-01-31").content.decode()
    backwards = client.get("/ledger/transfers/?since=2030-01-02&until=2030-01-01")
    assert backwards.status_code == 200 and "The period ends before it starts." in backwards.content.decode()
    assert client.get("/ledger/transfers/?code=bogus").status_code == 200  # a readable error, never a 500


def test_history_pages(client_for: Callable[[User], Client], maker: User, history: dict[str, Account],
                       monkeypatch: pytest.MonkeyPatch) -> None:
    from makercloud.ledger.views import journal as views

    monkeypatch.setattr(views, "PAGE", 2)
    client = client_for(maker)
    first = client.get("/ledger/transfers/").content.decode()
    assert "Older transfers" in first and "sale-lamp-1" not in first  # newest first: #3, #2
    second = client.get("/ledger/transfers/?before=2").content.decode()
    assert "sale-lamp-1" in second and "Older transfers" not in second


def test_checkpoints_and_figures_are_public_and_name_no_one(client: Client, history: dict[str, Account]) -> None:
    checkpoint = journal_services.checkpoint_publish()
    assert checkpoint is not None
    page = client.get("/ledger/checkpoints/")
    assert page.status_code == 200
    text = page.content.decode()
    assert checkpoint.hash in text
    assert "CN¥1,239.56" in text  # posted volume: 1234.56 + 5.00 (the pending payout moved nothing yet)
    assert "Bright Home" not in text and "sale-lamp-1" not in text


def test_my_pages_need_signing_in(client: Client) -> None:
    assert client.get("/ledger/accounts/").status_code == 302
    assert client.get("/ledger/transfers/").status_code == 302


def test_the_admin_shows_the_journal_read_only(
    client_for: Callable[[User], Client], make_person: Callable[..., User], history: dict[str, Account]
) -> None:
    staff = make_person("staff@example.com", operator=True)
    staff.is_staff = True
    staff.is_superuser = True
    staff.save()
    client = client_for(staff)
    listing = client.get("/admin/ledger/transfer/")
    assert listing.status_code == 200 and "sale-lamp-1" in listing.content.decode()
    assert "Add transfer" not in listing.content.decode()
    account = account_open(organisation=Organisation.objects.get(slug="bright-home"), purpose="venture_operating",
                           currency="CNY")
    detail = client.get(f"/admin/ledger/account/{account.pk}/change/")
    assert detail.status_code == 200 and "Save" not in detail.content.decode()
    assert client.post(f"/admin/ledger/account/{account.pk}/delete/").status_code == 403


def test_the_admin_search_takes_any_text(
    client_for: Callable[[User], Client], make_person: Callable[..., User], history: dict[str, Account]
) -> None:
    staff = make_person("staff2@example.com", operator=True)
    staff.is_staff = staff.is_superuser = True
    staff.save()
    client = client_for(staff)
    for term in ("sale-lamp-1", "abc", "1", "not-a-uuid"):
        assert client.get("/admin/ledger/transfer/", {"q": term}).status_code == 200, term
    assert "sale-lamp-1" in client.get("/admin/ledger/transfer/", {"q": "sale-lamp"}).content.decode()
    assert client.get("/admin/ledger/balancesnapshot/", {"q": "x"}).status_code == 200
