"""The device_facts receiver is cheap: a batch costs at most a handful of queries however many facts it holds, and
none when no automation watches its devices and the index is cached."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from makercloud.automations import matching, services
from makercloud.automations.models import Run
from makercloud.automations.tests.conftest import Home
from makercloud.devices import signals
from makercloud.devices.models import DeviceEvent


def _batch(device_ids: list[str], *, per_device: int, value: float) -> signals.DeviceFacts:
    now = timezone.now()
    return signals.DeviceFacts(
        readings=[signals.Reading(d, now + timedelta(milliseconds=n), "temperature", value + n % 2)
                  for d in device_ids for n in range(per_device)],
        events=[signals.Event(d, now, "alarm", 1) for d in device_ids],
        at=now,
    )


def _queries(facts: signals.DeviceFacts) -> int:
    with CaptureQueriesContext(connection) as captured:
        matching.on_device_facts(signals.DeviceFacts, facts=facts)
    return len(captured.captured_queries)


def test_a_batch_of_unwatched_devices_costs_one_query_then_none(db: None) -> None:
    strangers = [f"d{n:020d}" for n in range(300)]
    batch = _batch(strangers, per_device=10, value=20)  # 3,000 readings and 300 events
    assert _queries(batch) == 1  # which automations watch these 300 devices: none
    assert _queries(batch) == 0  # cached for a few seconds


def test_a_batch_that_triggers_costs_a_bounded_number_of_queries(home: Home) -> None:
    for n in range(5):
        services.automation_create(
            actor=home.person, name=f"Hot {n}",
            trigger={"kind": "threshold", "device": home.thermostat.pk, "property": "temperature",
                     "direction": "above", "threshold": 25, "hysteresis": 1},
            actions=[{"kind": "notify", "title": "Hot"}],
        )
        services.automation_create(
            actor=home.person, name=f"Alarm {n}",
            trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm"},
            actions=[{"kind": "notify", "title": "Alarm"}],
        )
    others = [f"d{n:020d}" for n in range(200)]
    batch = _batch([home.thermostat.pk, *others], per_device=20, value=30)
    # index, armed states (locked), disarm, owners, recent effects, recent runs, one insert of the runs, and the
    # savepoint around them (so that a failure here cannot undo the gateway's batch)
    assert _queries(batch) <= 9
    assert Run.objects.count() == 10  # 5 thresholds crossed once each (no flapping in the batch), 5 alarms


def test_a_failure_in_matching_never_undoes_the_facts_being_stored(
    home: Home, monkeypatch: pytest.MonkeyPatch
) -> None:
    services.automation_create(
        actor=home.person, name="Alarm", trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm"},
        actions=[{"kind": "notify", "title": "Alarm"}],
    )

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a bug in matching")

    monkeypatch.setattr(matching, "runs_create", broken)
    with transaction.atomic():  # as the gateway stores a batch
        DeviceEvent.objects.create(device=home.thermostat, ts=timezone.now(), name="alarm", data=1)
        signals.facts_publish(_batch([home.thermostat.pk], per_device=1, value=20))
        DeviceEvent.objects.create(device=home.thermostat, ts=timezone.now(), name="alarm", data=2)
    assert DeviceEvent.objects.filter(device=home.thermostat).count() == 2
    assert not Run.objects.exists()
