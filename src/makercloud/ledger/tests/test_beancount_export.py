"""The beancount export: bean-check accepts it and beancount's balances equal the ledger's."""

# ruff: noqa: F811  (fixtures imported from journal_fixtures)

import subprocess
import sys
import uuid
from decimal import Decimal
from pathlib import Path

import pytest
from beancount import loader
from beancount.core import realization

from makercloud.accounts.models import Organisation
from makercloud.cli import main
from makercloud.core.money import Money
from makercloud.ledger import beancount
from makercloud.ledger.models import Account, AccountPurpose
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.services.journal import (
    TransferSpec,
    account_open,
    transfer_post,
    transfer_void,
    transfers_create,
)
from makercloud.ledger.tests.journal_fixtures import accounts, venture_org  # noqa: F401

pytestmark = pytest.mark.django_db
BEAN_CHECK = Path(sys.executable).parent / "bean-check"


def spec(debit: Account, credit: Account, amount: int, **extra: object) -> TransferSpec:
    return TransferSpec(id=uuid.uuid4(), debit_account=debit, credit_account=credit, amount=amount,
                        code=str(extra.pop("code", "sale")), **extra)  # type: ignore[arg-type]


@pytest.fixture
def busy_ledger(accounts: dict[str, Account], venture_org: Organisation) -> dict[str, Account]:
    clearing, revenue, venture, wallet = (accounts[k] for k in ("clearing", "revenue", "venture", "wallet"))
    transfers_create(transfers=[
        spec(clearing, venture, 8000, venture=venture_org, reference='sale "42"', metadata={"rule": 1}),
        spec(clearing, revenue, 1999, venture=venture_org, reference="sale 42"),
        spec(clearing, wallet, 1, code="reward", reference="一分钱"),
    ])
    [held] = transfers_create(transfers=[spec(venture, wallet, 3000, kind="pending", code="payout")])
    transfer_post(id=uuid.uuid4(), pending_id=held.id, amount=2500)
    [dropped] = transfers_create(transfers=[spec(venture, wallet, 100, kind="pending", code="payout")])
    transfer_void(id=uuid.uuid4(), pending_id=dropped.id)
    transfers_create(transfers=[spec(clearing, venture, 7, kind="pending")])  # still pending: not in beancount
    return accounts


def beancount_balances(path: Path) -> dict[str, Decimal]:
    entries, errors, _options = loader.load_file(str(path))
    assert not errors, errors
    root = realization.realize(entries)
    balances = {}
    for real in realization.iter_children(root):
        if real.txn_postings:
            balances[real.account] = real.balance.get_currency_units("CNY").number
    return balances


def test_bean_check_accepts_the_whole_ledger_and_its_balances_are_ours(
    busy_ledger: dict[str, Account], tmp_path: Path
) -> None:
    path = tmp_path / "ledger.beancount"
    assert main(["ledger", "export", "--format", "beancount", "--output", str(path)]) == 0
    text = path.read_text()
    assert "open Assets:Makercloud:Clearing:CNY CNY" in text
    assert "open Liabilities:Ventures:Bright-Home:Operating:CNY CNY" in text
    checked = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    ours = {}
    for account in busy_ledger.values():
        balance = balance_of(account=account)
        ours[beancount.account_name(account)] = Money(balance.debits_posted - balance.credits_posted, "CNY").decimal
    assert beancount_balances(path) == ours
    assert ours["Liabilities:Ventures:Bright-Home:Operating:CNY"] == Decimal("-55.00")  # 80.00 in, 25.00 paid out
    assert ours[f"Liabilities:Users:U{busy_ledger['wallet'].person_id}:Wallet:CNY"] == Decimal("-25.01")


def test_one_ventures_books(busy_ledger: dict[str, Account], venture_org: Organisation, tmp_path: Path) -> None:
    other = account_open(organisation=Organisation.objects.create(kind="venture", name="Other", slug="other"),
                         purpose=AccountPurpose.VENTURE_OPERATING, currency="CNY")
    transfers_create(transfers=[spec(busy_ledger["clearing"], other, 999, reference="elsewhere")])
    path = tmp_path / "venture.beancount"
    assert main(["ledger", "export", "--venture", venture_org.slug, "--output", str(path)]) == 0
    text = path.read_text()
    assert "elsewhere" not in text and "Other" not in text
    checked = subprocess.run([str(BEAN_CHECK), str(path)], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    balance = balance_of(account=busy_ledger["venture"])
    assert beancount_balances(path)["Liabilities:Ventures:Bright-Home:Operating:CNY"] == Money(
        balance.debits_posted - balance.credits_posted, "CNY"
    ).decimal


def test_export_of_an_unknown_venture_is_refused(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "export", "--venture", "nobody"]) == 2
    assert "no venture has the short name 'nobody'" in capsys.readouterr().err
