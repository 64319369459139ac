"""Supports arriving at the same moment from many threads (committed rows, real connections): none is lost, none is
counted twice, a person's second try at the same moment is refused, and the stages advance exactly once each.
bench/idea_supports.py does the same with 10,000 supports on PostgreSQL."""

import threading
from datetime import timedelta

import pytest
from django.db import close_old_connections, connection
from django.utils import timezone

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.calls.kinds.errors import AlreadySupported
from makercloud.calls.models import IdeaProgress, IdeaState, Support
from makercloud.calls.services import engine as services
from makercloud.calls.services import kinds as kind_services
from makercloud.core.models import Event

PEOPLE, THREADS = 24, 8
TWICE = THREADS  # one second try per thread



@pytest.mark.usefixtures("committed_db")
def test_a_burst_of_supports_loses_and_doubles_none() -> None:
    owner = accounts_services.person_sign_up(email="owner@example.com", name="Owner", password="x-very-long-pass",
                                            intent="maker", send_verification=False)
    venture = accounts_services.organisation_create(actor=owner, kind="venture", name="Burst Lab")
    idea = services.call_create(actor=owner, owner=venture, kind="idea", title="Burst",
                                responses_until=services.database_now() + timedelta(days=5),
                                selection={"stages": [{"supports": 10, "days": 10}, {"supports": 24, "days": 10}]})
    idea = services.call_publish(actor=owner, call=idea)
    people = User.objects.bulk_create([User(email=f"fan{n}@example.com", name=f"Fan {n}",
                                            email_verified_at=timezone.now()) for n in range(PEOPLE)])
    barrier = threading.Barrier(THREADS)
    lock = threading.Lock()
    outcome = {"added": 0, "refused": 0}
    errors: list[BaseException] = []

    def supporter(share: list[User]) -> None:
        try:
            barrier.wait()
            for person in share:
                try:
                    kind_services.support_add(actor=person, call=idea)
                    with lock:
                        outcome["added"] += 1
                except AlreadySupported:
                    with lock:
                        outcome["refused"] += 1
        except BaseException as error:  # reported to the test below
            errors.append(error)
        finally:
            close_old_connections()
            connection.close()

    # Thread n starts with its neighbour's first person, whom thread n + 1 supports first too: the same person's two
    # supports are in flight at the same moment on two connections.
    shares = [[people[(n + 1) % THREADS], *people[n::THREADS]] for n in range(THREADS)]
    threads = [threading.Thread(target=supporter, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    progress = IdeaProgress.objects.get(call=idea)
    assert outcome == {"added": PEOPLE, "refused": TWICE}
    assert Support.objects.filter(call=idea).count() == PEOPLE == progress.supports
    assert (progress.stage, progress.state) == (2, IdeaState.REACHED)
    reached = Event.objects.filter(subject_type="call", subject_id=str(idea.pk), kind="idea.stage_reached")
    assert sorted(e.data["stage"] for e in reached) == [1, 2]
