"""Runs execute at least once, with idempotent invocation ids: a retried run never invokes twice."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from makercloud.automations import runs, services
from makercloud.automations.models import Automation, Run, RunStatus, StopReason
from makercloud.automations.tests.conftest import Home, facts
from makercloud.devices import services as device_services
from makercloud.devices.models import Invocation
from makercloud.notifications.models import Notification


def _rule(home: Home) -> Automation:
    return services.automation_create(
        actor=home.person, name="Alarm",
        trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm"},
        actions=[{"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 5}},
                 {"kind": "notify", "title": "Alarm in the hall"}],
    )


def test_a_run_retried_after_a_crash_does_not_invoke_or_notify_twice(
    committed_db: None, home: Home, listen: Callable[..., Any]
) -> None:
    automation = _rule(home)
    lamp = listen(f"devices/{home.lamp.pk}/actions/invoke")
    run = Run.objects.create(automation=automation, owner=home.person, cause={"kind": "event"}, actions=[])
    # the first attempt: claimed, its first action done, then the worker dies (its lease runs out)
    claimed = runs._claim(run.pk)
    assert claimed is not None
    claimed.actions = automation.actions
    Run.objects.filter(pk=run.pk).update(actions=automation.actions)
    first = runs._act(claimed, 0, automation.actions[0], home.person, {home.lamp.pk: home.lamp})
    assert runs.run_execute(run_id=run.pk) is None  # leased: nobody else takes it
    Run.objects.filter(pk=run.pk).update(lease_until=timezone.now() - timedelta(seconds=1))

    assert runs.runs_recover() == 1
    run.refresh_from_db()
    assert run.status == RunStatus.DONE and run.attempts == 2
    invocation = Invocation.objects.get(device=home.lamp)
    assert first["invocation"] == run.log[0]["invocation"] == str(invocation.pk)
    assert run.log[0]["sent"] is False  # the retry found the first attempt's invocation
    assert invocation.idempotency_key == f"automation-run-{run.pk}-0"
    assert Notification.objects.filter(person=home.person).count() == 1
    messages = lamp.wait_for(2, timeout=1.5)
    assert [m[1]["id"] for m in messages] == [str(invocation.pk)]  # the lamp heard it once


def test_runs_nobody_dispatched_are_recovered_and_a_crashing_run_is_given_up(home: Home) -> None:
    automation = _rule(home)
    forgotten = Run.objects.create(automation=automation, owner=home.person, cause={"kind": "event"}, actions=[])
    assert runs.runs_recover(now=timezone.now()) == 0  # too fresh: its dispatcher may still be on it
    assert runs.runs_recover(now=timezone.now() + timedelta(seconds=30)) == 1
    forgotten.refresh_from_db()
    assert forgotten.status == RunStatus.DONE

    doomed = Run.objects.create(automation=automation, owner=home.person, cause={}, actions=[],
                                status=RunStatus.RUNNING, attempts=runs.MAX_ATTEMPTS,
                                lease_until=timezone.now() - timedelta(seconds=1))
    runs.runs_recover()
    doomed.refresh_from_db()
    assert (doomed.status, doomed.reason) == (RunStatus.FAILED, StopReason.GAVE_UP)


def test_a_device_no_longer_the_persons_is_skipped_and_the_rest_still_runs(home: Home) -> None:
    automation = _rule(home)
    device_services.device_unbind(actor=home.person, device=home.lamp)
    facts(events=[(home.thermostat.pk, "alarm", 99)])
    run = Run.objects.get(automation=automation)
    assert (run.status, run.reason) == (RunStatus.DONE, StopReason.PERMISSION)
    assert "Desk lamp" in run.detail
    assert [entry["outcome"] for entry in run.log] == ["skipped", "ok"]
    assert not Invocation.objects.exists()
    assert Notification.objects.filter(person=home.person, title="Alarm in the hall").exists()


def test_a_failing_action_is_logged_and_the_others_still_run(home: Home) -> None:
    automation = _rule(home)
    device_services.device_set_enabled(actor=home.lamp.organisation.memberships.first().person,  # type: ignore[union-attr]
                                       device=home.lamp, enabled=False)
    facts(events=[(home.thermostat.pk, "alarm", 1)])
    run = Run.objects.get(automation=automation)
    assert run.status == RunStatus.FAILED
    assert [(e["outcome"], e.get("type")) for e in run.log] == [("error", "device-disabled"), ("ok", None)]
    assert Notification.objects.filter(person=home.person, title="Alarm in the hall").exists()


def test_a_run_that_crashes_midway_leaves_nothing_and_is_done_on_retry(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    automation = _rule(home)
    import makercloud.notifications.services as notifications

    real_notify = notifications.notify

    def crash(**kwargs: Any) -> Any:
        raise RuntimeError("the worker died")

    monkeypatch.setattr(notifications, "notify", crash)
    facts(events=[(home.thermostat.pk, "alarm", 1)])  # the blink is requested, then the notification crashes
    run = Run.objects.get(automation=automation)
    assert run.status == RunStatus.RUNNING and run.attempts == 1
    assert not Invocation.objects.exists()  # rolled back with the run: nothing was sent

    monkeypatch.setattr(notifications, "notify", real_notify)
    assert runs.runs_recover(now=timezone.now() + runs.LEASE + timedelta(seconds=1)) == 1
    run.refresh_from_db()
    assert (run.status, run.attempts) == (RunStatus.DONE, 2)
    assert Invocation.objects.filter(device=home.lamp).count() == 1
    assert Notification.objects.filter(person=home.person).count() == 1
