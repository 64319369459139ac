"""A property crossing a threshold fires once, and again only after coming back past the hysteresis band."""

from datetime import timedelta

from django.utils import timezone

from makercloud.automations import services
from makercloud.automations.models import Automation, Run
from makercloud.automations.tests.conftest import Home, facts
from makercloud.devices.models import Device
from makercloud.notifications.models import Notification


def _hot(home: Home, **trigger: object) -> Automation:
    return services.automation_create(
        actor=home.person, name="Too hot",
        trigger={"kind": "threshold", "device": home.thermostat.pk, "property": "temperature", "direction": "above",
                 "threshold": 26, "hysteresis": 1, **trigger},
        actions=[{"kind": "notify", "title": "It is hot in the hall"}],
    )


def _reading(home: Home, value: float, seconds: float = 0) -> tuple[str, str, float, object]:
    return (home.thermostat.pk, "temperature", value, timezone.now() + timedelta(seconds=seconds))


def test_a_value_hovering_at_the_threshold_fires_once_until_it_comes_back(home: Home) -> None:
    automation = _hot(home)
    for value in (25, 26.5, 25.5, 26.8, 25.2, 27):  # crosses, then wobbles inside the band: no flapping
        facts(readings=[_reading(home, value)])
    assert Run.objects.filter(automation=automation).count() == 1
    automation.refresh_from_db()
    assert automation.armed is False

    facts(readings=[_reading(home, 24.9)])  # back past 26 - 1: re-armed
    automation.refresh_from_db()
    assert automation.armed is True
    facts(readings=[_reading(home, 26.1)])
    runs = list(Run.objects.filter(automation=automation).order_by("id"))
    assert [run.cause["value"] for run in runs] == [26.5, 26.1]
    assert [run.status for run in runs] == ["done", "done"]
    assert Notification.objects.filter(person=home.person, title="It is hot in the hall").count() == 2


def test_one_batch_is_judged_in_time_order_like_a_stream(home: Home) -> None:
    automation = _hot(home)
    # out of order in the batch; in time order: 27 (fire), 24 (re-arm), 28 (fire), 26.5 (nothing)
    facts(readings=[_reading(home, 28, 3), _reading(home, 27, 1), _reading(home, 26.5, 4), _reading(home, 24, 2)])
    assert [run.cause["value"] for run in Run.objects.filter(automation=automation).order_by("id")] == [27, 28]


def test_reported_state_counts_as_a_value_and_below_works_the_same_way(home: Home) -> None:
    cold = _hot(home, direction="below", threshold=10, hysteresis=2)
    facts(reported={home.thermostat.pk: {"temperature": 12}})
    facts(reported={home.thermostat.pk: {"temperature": 9.5}})
    facts(reported={home.thermostat.pk: {"temperature": 11.9}})  # not yet back above 10 + 2
    facts(reported={home.thermostat.pk: {"temperature": 9}})
    assert Run.objects.filter(automation=cold).count() == 1
    facts(reported={home.thermostat.pk: {"temperature": 12}})
    facts(reported={home.thermostat.pk: {"temperature": 8}})
    assert Run.objects.filter(automation=cold).count() == 2


def test_a_value_already_past_the_threshold_when_created_does_not_fire_until_it_crosses(home: Home) -> None:
    Device.objects.filter(pk=home.thermostat.pk).update(reported={"temperature": 30})  # as the gateway stored it
    automation = _hot(home)
    assert automation.armed is False
    facts(readings=[_reading(home, 31)])
    assert not Run.objects.filter(automation=automation).exists()
    facts(readings=[_reading(home, 24)])
    facts(readings=[_reading(home, 27)])
    assert Run.objects.filter(automation=automation).count() == 1


def test_a_turned_off_automation_watches_nothing(home: Home) -> None:
    automation = _hot(home)
    services.automation_update(actor=home.person, automation=automation, enabled=False)
    facts(readings=[_reading(home, 30)])
    assert not Run.objects.filter(automation=automation).exists()
