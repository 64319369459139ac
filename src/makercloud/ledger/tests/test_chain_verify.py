"""The hash chain: `ledger_verify` and `makercloud ledger verify` name the first broken link after a tamper."""

# ruff: noqa: F811  (fixtures imported from journal_fixtures)

import json
import uuid

import pytest
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from makercloud.cli import main
from makercloud.core.append_only import lifted
from makercloud.ledger import chain
from makercloud.ledger.guards import JOURNAL
from makercloud.ledger.models import Account, Transfer
from makercloud.ledger.selectors.journal import ledger_report, ledger_verify
from makercloud.ledger.services.journal import TransferSpec, checkpoint_publish, transfers_create
from makercloud.ledger.tests.journal_fixtures import accounts, venture_org  # noqa: F401

pytestmark = pytest.mark.django_db


@pytest.fixture
def journal(accounts: dict[str, Account]) -> list[Transfer]:
    clearing, wallet = accounts["clearing"], accounts["wallet"]
    return transfers_create(transfers=[
        TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=wallet, amount=100 + n, code="sale",
                     reference=f"sale-{n}", metadata={"n": n, "note": "ünïcode"})
        for n in range(5)
    ])


def tamper(sql: str, params: list[object]) -> None:
    """Lift the append-only guard (as only someone with the database's owner rights could), change a row."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks may wait on the table
    with lifted(JOURNAL), connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_an_intact_chain_verifies(journal: list[Transfer], capsys: pytest.CaptureFixture[str]) -> None:
    assert ledger_verify() is None
    assert journal[0].prev_hash == chain.GENESIS
    assert [t.prev_hash for t in journal[1:]] == [t.hash for t in journal[:-1]]
    assert main(["ledger", "verify"]) == 0
    assert capsys.readouterr().out.strip() == f"OK: 5 transfers, head {journal[-1].hash}"


def test_an_empty_journal_verifies(db: None, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["ledger", "verify"]) == 0
    assert capsys.readouterr().out.strip() == f"OK: 0 transfers, head {chain.GENESIS}"


def test_a_changed_amount_is_named(journal: list[Transfer], capsys: pytest.CaptureFixture[str]) -> None:
    tamper("UPDATE ledger_transfer SET amount = 1 WHERE seq = %s", [3])
    assert ledger_verify() == 3
    assert main(["ledger", "verify"]) == 1
    err = capsys.readouterr().err
    assert "BROKEN at transfer #3: its content does not match its hash" in err
    assert "(2 transfers check out before it" in err


def test_changed_metadata_is_named(journal: list[Transfer]) -> None:
    tamper("UPDATE ledger_transfer SET metadata = %s WHERE seq = %s", ['{"n": 1, "note": "changed"}', 2])
    assert ledger_verify() == 2


def test_a_deleted_transfer_is_named(journal: list[Transfer]) -> None:
    tamper("DELETE FROM ledger_transfer WHERE seq = %s", [4])
    report = ledger_report()
    assert (report.broken_seq, report.reason) == (4, "transfer #4 is missing")


def test_a_rewritten_history_is_caught_by_the_published_checkpoint(
    journal: list[Transfer], accounts: dict[str, Account]
) -> None:
    """Someone who rewrites a transfer and recomputes every hash after it still contradicts the checkpoint."""
    checkpoint = checkpoint_publish()
    assert checkpoint is not None and (checkpoint.seq, checkpoint.hash) == (5, journal[-1].hash)
    transfers = list(Transfer.objects.order_by("seq"))
    transfers[1].amount = 1
    prev = transfers[0].hash
    for transfer in transfers[1:]:
        transfer.prev_hash = prev
        transfer.hash = chain.transfer_hash(transfer, prev)
        prev = transfer.hash
        tamper("UPDATE ledger_transfer SET amount = %s, prev_hash = %s, hash = %s WHERE seq = %s",
               [transfer.amount, transfer.prev_hash, transfer.hash, transfer.seq])
    report = ledger_report()
    assert (report.broken_seq, report.reason) == (5, "the chain no longer matches the checkpoint published here")


def test_awkward_text_is_stored_and_hashed_exactly(accounts: dict[str, Account]) -> None:
    reference = 'tab\there, "quotes", back\\slash, new\nline, 中文, \\N'
    metadata = {"path": "C:\\new\\table", "note": "line\r\nbreak\t", "nested": {"b": [1, True, None], "a": "ü"}}
    [stored] = transfers_create(transfers=[TransferSpec(
        id=uuid.uuid4(), debit_account=accounts["clearing"], credit_account=accounts["wallet"], amount=1,
        code="adjustment", reference=reference, metadata=metadata)])
    again = Transfer.objects.get(id=stored.id)
    assert (again.reference, again.metadata) == (reference, metadata)
    assert chain.transfer_hash(again, again.prev_hash) == again.hash == stored.hash
    assert ledger_verify() is None


@given(st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers(), st.booleans(), st.none(),
                                                      st.lists(st.integers(), max_size=3)), max_size=6))
def test_metadata_is_encoded_as_json_dumps_writes_it(metadata: dict[str, object]) -> None:
    """The hand-written fast path of the canonical encoding never differs from json.dumps."""
    assert chain.encode_metadata(metadata) == (
        json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=False) if metadata else "{}"
    )
