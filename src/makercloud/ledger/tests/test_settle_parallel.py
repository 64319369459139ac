"""On PostgreSQL: parallel settlements of one event, on their own connections and committed, settle it once."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

import threading

import pytest
from django.db import connection, connections

from makercloud.accounts.models import User
from makercloud.core.money import Money
from makercloud.ledger.models import Settlement, SharingRule, Transfer
from makercloud.ledger.services.settlement import settle
from makercloud.ledger.tests.rules_fixtures import parties, rule, venture  # noqa: F401
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL (DATABASE_URL=postgres://…)")
def test_parallel_settlements_of_one_event_settle_once(maker: User, venture: Venture, rule: SharingRule) -> None:
    threads, results, errors = 8, [], []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for event in ("race-1", "race-2", f"solo-{n}"):
                results.append(settle(event_id=event, venture=venture.organisation, kind="sale",
                                      revenue_class="product", amount=Money(12_345, "CNY"), actor=maker).pk)
        except Exception as error:
            errors.append(error)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert errors == []
    assert Settlement.objects.count() == 2 + threads
    assert len(set(results)) == 2 + threads  # every caller of race-1 got the same settlement back
    for event in ("race-1", "race-2"):
        transfers = Transfer.objects.filter(reference=event)
        assert transfers.count() == len(Settlement.objects.get(event_id=event).shares)
        assert sum(t.amount for t in transfers) == 12_345
    assert connection.vendor == "postgresql"


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="needs PostgreSQL (DATABASE_URL=postgres://…)")
def test_parallel_refunds_never_exceed_the_sale(maker: User, venture: Venture, rule: SharingRule) -> None:
    sale = settle(event_id="sale-r", venture=venture.organisation, kind="sale", revenue_class="product",
                  amount=Money(10_000, "CNY"), actor=maker)
    threads, outcomes = 6, []
    barrier = threading.Barrier(threads)

    def work(n: int) -> None:
        try:
            barrier.wait()
            for event in ("refund-same", f"refund-{n}"):  # one refund retried by all, and one each of 3,000
                amount = 1_000 if event == "refund-same" else 3_000
                settle(event_id=event, venture=venture.organisation, kind="refund", revenue_class="product",
                       amount=Money(amount, "CNY"), actor=maker, refund_of="sale-r")
                outcomes.append("ok")
        except Exception as error:
            outcomes.append(type(error).__name__)
        finally:
            connections.close_all()

    workers = [threading.Thread(target=work, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()

    assert outcomes.count("ok") == threads + 3  # every retry of refund-same, and three refunds of 3,000
    assert outcomes.count("RefundTooLarge") == threads - 3
    refunds = Settlement.objects.filter(refund_of=sale)
    assert sum(r.amount for r in refunds) == 10_000
    assert sum(t.amount for t in Transfer.objects.filter(code="refund")) == 10_000
