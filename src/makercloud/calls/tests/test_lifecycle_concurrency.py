"""Several schedulers at once (two workers, a restart overlapping the old process): each overdue call is closed,
evaluated and announced exactly once, never before its deadline. Real threads, committed rows, the database's own
clock."""


import threading
import time
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection

from makercloud.accounts import services as accounts_services
from makercloud.calls.models import Call, CallState
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import engine_only  # noqa: F401
from makercloud.core.models import Event


@pytest.mark.usefixtures("committed_db", "engine_only")
def test_four_schedulers_close_each_overdue_call_once() -> None:
    owner = accounts_services.person_sign_up(email="owner@example.com", name="Owner", password="x-very-long-pass",
                                            intent="maker", send_verification=False)
    bidder = accounts_services.person_sign_up(email="bidder@example.com", name="Bidder", password="x-very-long-pass",
                                             intent="supplier", send_verification=False)
    venture = accounts_services.organisation_create(actor=owner, kind="venture", name="Race Lab")
    deadline = services.database_now() + timedelta(seconds=1)
    calls = []
    for n in range(3):
        call = services.call_create(actor=owner, owner=venture, kind="sourcing", title=f"Race {n}",
                                    responses_until=deadline)
        services.call_publish(actor=owner, call=call)
        services.response_submit(actor=bidder, call=call, content={"price": n + 1})
        calls.append(call)
    assert services.calls_tick()["closed"] == 0  # not yet
    time.sleep(max(0.0, (deadline - services.database_now()).total_seconds()) + 0.05)

    barrier = threading.Barrier(4)
    errors: list[BaseException] = []
    results: list[dict[str, int]] = []

    def scheduler() -> None:
        try:
            barrier.wait()
            results.append(services.calls_tick())
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    assert sum(result["closed"] for result in results) == 3
    assert sum(result["failed"] for result in results) == 0
    for call in calls:
        stored = Call.objects.get(pk=call.pk)
        assert stored.state == CallState.STANDSTILL
        assert stored.closed_at is not None and stored.closed_at >= deadline - timedelta(milliseconds=1)
        closes = Event.objects.filter(subject_type="call", subject_id=str(call.pk), kind="call.closed")
        assert closes.count() == 1
