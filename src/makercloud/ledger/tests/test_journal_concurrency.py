"""Parallel writers, each in its own committed transaction (threads, real connections): a flagged account is never
overdrawn, and parallel requests with one id move money once. On PostgreSQL (row locks and the chain's advisory
lock) and on SQLite (IMMEDIATE transactions)."""

import threading
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections

from makercloud.accounts.models import Organisation
from makercloud.core.append_only import EVENT_LOG, lifted
from makercloud.ledger import errors
from makercloud.ledger.guards import ACCOUNTS, JOURNAL
from makercloud.ledger.models import Transfer
from makercloud.ledger.selectors.journal import balance_from_journal, balance_of, ledger_verify
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create


@pytest.fixture
def committed_ledger(transactional_db: None) -> Iterator[None]:
    """Committed rows; on SQLite the append-only tables are emptied with their guards lifted (the test run's flush
    DELETEs, which the guards refuse; PostgreSQL's flush TRUNCATEs)."""
    yield
    if connection.vendor == "sqlite":
        with lifted(JOURNAL, ACCOUNTS, EVENT_LOG), connection.cursor() as cursor:
            for table in ("ledger_balancesnapshot", "ledger_checkpoint", "ledger_transfer", "ledger_account",
                          "core_event"):
                cursor.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names


def in_parallel(count: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..count-1) on as many threads at once; each returns its result or the exception it raised."""
    results: list[Any] = [None] * count
    start = threading.Barrier(count)

    def run(n: int) -> None:
        try:
            start.wait()
            results[n] = work(n)
        except Exception as error:
            results[n] = error
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@pytest.fixture
def funded(committed_ledger: None) -> tuple[Any, Any]:
    platform = Organisation.objects.create(kind="platform", name="makercloud", slug="makercloud-test")
    venture = Organisation.objects.create(kind="venture", name="Lamps", slug="lamps")
    clearing = account_open(organisation=platform, purpose="clearing", currency="CNY")
    operating = account_open(organisation=venture, purpose="venture_operating", currency="CNY")
    transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=operating,
                                             amount=1000, code="sale")])
    return clearing, operating


def test_parallel_transfers_never_overdraw_a_flagged_account(funded: tuple[Any, Any]) -> None:
    clearing, operating = funded

    def spend(n: int) -> Any:
        return transfers_create(transfers=[TransferSpec(id=uuid.uuid4(), debit_account=operating,
                                                        credit_account=clearing, amount=300, code="payout")])

    results = in_parallel(8, spend)
    refused = [r for r in results if isinstance(r, errors.ExceedsCredits)]
    assert len(refused) == 5, results  # 1000 covers three payouts of 300, never a fourth
    balance = balance_of(account=operating)
    assert (balance.credits_posted, balance.debits_posted) == (1000, 900)
    assert balance == balance_from_journal(account=operating)
    assert list(Transfer.objects.order_by("seq").values_list("seq", flat=True)) == [1, 2, 3, 4]
    assert ledger_verify() is None


def test_parallel_requests_with_one_id_move_money_once(funded: tuple[Any, Any]) -> None:
    clearing, operating = funded
    same = TransferSpec(id=uuid.uuid4(), debit_account=operating, credit_account=clearing, amount=250,
                        code="payout", reference="payout-7")

    results = in_parallel(8, lambda n: transfers_create(transfers=[same])[0])
    assert not [r for r in results if isinstance(r, Exception)], results
    assert {(r.id, r.seq, r.hash) for r in results} == {(same.id, 2, Transfer.objects.get(id=same.id).hash)}
    assert balance_of(account=operating).debits_posted == 250
    assert ledger_verify() is None


def test_parallel_linked_batches_are_all_or_nothing(funded: tuple[Any, Any]) -> None:
    """Each batch takes 400 then gives back 100, checked after every step: with 1000 in, three fit whole; the
    others leave nothing behind."""
    clearing, operating = funded

    def batch(n: int) -> Any:
        return transfers_create(transfers=[
            TransferSpec(id=uuid.uuid4(), debit_account=operating, credit_account=clearing, amount=400,
                         code="payout"),
            TransferSpec(id=uuid.uuid4(), debit_account=clearing, credit_account=operating, amount=100,
                         code="refund"),
        ])

    results = in_parallel(6, batch)
    done = [r for r in results if isinstance(r, list)]
    assert len(done) == 3 and all(isinstance(r, errors.ExceedsCredits) for r in results if r not in done), results
    balance = balance_of(account=operating)
    assert (balance.credits_posted, balance.debits_posted) == (1300, 1200)
    assert Transfer.objects.count() == 1 + 2 * 3
    assert ledger_verify() is None
