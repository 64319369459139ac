"""Deadlines: never early (by the database's clock), on time with the scheduler, and across a restart."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest
from django.core import mail

from makercloud.calls import jobs
from makercloud.calls.errors import CallNotDue, ComplaintsPending, DeadlinePassed
from makercloud.calls.models import Call, CallState, Response
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import (  # noqa: F401
    Clock,
    clock,
    engine_only,
    make_supplier,
    publish,
    venture,
)
from makercloud.notifications.models import Notification

pytestmark = pytest.mark.usefixtures("engine_only")


def test_a_close_before_the_deadline_is_refused_by_the_real_database_clock(maker: Any, venture: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1)  # no clock patched: the database's own time
    with pytest.raises(CallNotDue):
        services.call_close(call=call)
    assert services.calls_tick()["closed"] == 0
    call.refresh_from_db()
    assert call.state == CallState.OPEN and call.closed_at is None


def test_the_database_clock_is_the_judge_not_the_process_clock(maker: Any, venture: Any, monkeypatch: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1)
    # A web process whose clock runs two hours fast must not close the call.
    fast = services.database_now() + timedelta(hours=2)
    monkeypatch.setattr("django.utils.timezone.now", lambda: fast)
    with pytest.raises(CallNotDue):
        services.call_close(call=call)
    assert Call.objects.get(pk=call.pk).state == CallState.OPEN


def test_the_scheduler_closes_at_the_deadline_to_the_second(clock: Clock, maker: Any, venture: Any,
                                                           make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=10)
    services.response_submit(actor=make_person(), call=call, content={"idea": "a fan"})
    clock.advance(hours=10, seconds=-1)
    assert services.calls_tick()["closed"] == 0
    assert Call.objects.get(pk=call.pk).state == CallState.OPEN
    clock.advance(seconds=1)
    summary = services.calls_tick()
    assert summary["closed"] == 1 and summary["evaluated"] == 1
    call.refresh_from_db()
    assert call.state == CallState.EVALUATED  # a challenge: the owner picks
    assert call.closed_at == clock.now


def test_responses_at_or_after_the_deadline_are_refused(clock: Clock, maker: Any, venture: Any,
                                                        make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1)
    clock.advance(hours=1)
    with pytest.raises(DeadlinePassed):
        services.response_submit(actor=make_person(), call=call, content={"x": 1})
    assert not Response.objects.filter(call=call).exists()


def test_a_call_that_fell_due_while_nothing_ran_is_closed_on_the_first_run(
        clock: Clock, maker: Any, venture: Any, make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=2, kind="sourcing")
    response = services.response_submit(actor=make_person(), call=call, content={"price": 10})
    clock.advance(days=3)  # the platform was down over the deadline
    # A worker starting up schedules a tick at once (huey runs it immediately in tests).
    jobs.calls_catch_up()
    jobs.calls_tick.call_local()
    call.refresh_from_db()
    assert call.state == CallState.STANDSTILL  # sourcing: closed, opened, ranked, the top bid selected
    assert call.winner_id == response.pk
    assert call.standstill_until == clock.now + timedelta(days=call.standstill_days)


def test_the_standstill_ends_in_an_award_not_before_and_not_with_a_complaint_open(
        clock: Clock, maker: Any, venture: Any, make_supplier: Any, operator: Any,
        django_capture_on_commit_callbacks: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1, kind="sourcing", standstill_days=3)
    (alice, alice_co), (bob, bob_co) = make_supplier("Alice Motors"), make_supplier("Bob Drives")
    services.response_submit(actor=alice, call=call, content={"price": 9}, organisation=alice_co)
    services.response_submit(actor=bob, call=call, content={"price": 8}, organisation=bob_co)
    clock.advance(hours=1)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state == CallState.STANDSTILL
    with pytest.raises(CallNotDue):
        services.call_award(call=call)
    complaint = services.complaint_submit(actor=bob, call=call, reasons="The price was misread.")
    clock.advance(days=3)
    assert services.calls_tick()["awarded"] == 0
    with pytest.raises(ComplaintsPending):
        services.call_award(call=call)
    services.complaint_decide(actor=operator, complaint=complaint, upheld=False, reasons="The price was read right.")
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        assert services.calls_tick()["awarded"] == 1
    call.refresh_from_db()
    assert call.state in {CallState.AWARDED, CallState.CONTRACTED}
    assert Notification.objects.filter(person=alice, title__contains="You won").exists()
    assert any(alice.email in message.to for message in mail.outbox)


def test_a_reminder_goes_out_once_a_day_before_the_deadline(clock: Clock, maker: Any, venture: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=30)
    assert services.calls_tick()["reminded"] == 0
    clock.advance(hours=7)
    assert services.calls_tick()["reminded"] == 1
    assert services.calls_tick()["reminded"] == 0
    reminders = Notification.objects.filter(person=maker, title__contains="closes soon", url__contains=str(call.pk))
    assert reminders.count() == 1


def test_the_periodic_job_ticks_every_few_seconds(monkeypatch: Any) -> None:
    scheduled: list[float] = []
    monkeypatch.setattr(jobs.calls_tick, "schedule", lambda delay: scheduled.append(delay))
    jobs.calls_deadlines.call_local()
    assert scheduled == list(range(0, 60, jobs.TICK_EVERY)) and jobs.TICK_EVERY <= 5


def test_many_respondents_are_notified_by_a_job_after_the_commit(clock: Clock, maker: Any, venture: Any,
                                                                 make_person: Any,
                                                                 django_capture_on_commit_callbacks: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1)
    people = [make_person() for _ in range(services.FANOUT_AT + 5)]
    for person in people:
        services.response_submit(actor=person, call=call, content={"idea": person.name})
    clock.advance(hours=1)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.calls_tick()
    closed = Notification.objects.filter(title__endswith="is closed", url__contains=str(call.pk))
    assert closed.filter(person__in=people).count() == 0  # not in the closing transaction
    for callback in callbacks:
        callback()
    assert closed.filter(person__in=people).count() == len(people)
    for callback in callbacks:  # a retried job notifies nobody twice
        callback()
    assert closed.filter(person__in=people).count() == len(people)


def test_an_awarded_call_gets_its_contract_from_the_contracts_app(
        clock: Clock, maker: Any, venture: Any, make_supplier: Any) -> None:
    from makercloud.contracts.models import Contract

    call = publish(actor=maker, owner=venture, hours=1, kind="sourcing", standstill_days=1)
    person, company = make_supplier("Winner Motors")
    services.response_submit(actor=person, call=call, content={"price": 5}, organisation=company)
    clock.advance(hours=1)
    services.calls_tick()
    clock.advance(days=1)
    summary = services.calls_tick()
    call.refresh_from_db()
    assert summary["awarded"] == 1 and summary["contracted"] == 1 and summary["failed"] == 0
    assert call.state == CallState.CONTRACTED
    assert Contract.objects.filter(call=call).count() == 1
    assert services.calls_tick()["contracted"] == 0  # once
