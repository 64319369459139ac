"""Loops between automations are detected through the chain of runs and stopped, with the reason on the run."""

from collections.abc import Callable

from django.test import Client, override_settings

from makercloud.automations import services
from makercloud.automations.models import Run, RunStatus, StopReason
from makercloud.automations.tests.conftest import Home, facts
from makercloud.devices.models import Invocation


def test_two_automations_triggering_each_other_are_stopped_at_the_loop(
    home: Home, client_for: Callable[..., Client]
) -> None:
    a = services.automation_create(
        actor=home.person, name="Lamp overheats: reboot the thermostat",
        trigger={"kind": "event", "device": home.lamp.pk, "event": "overheated"},
        actions=[{"kind": "invoke", "device": home.thermostat.pk, "action": "reboot"}],
    )
    b = services.automation_create(
        actor=home.person, name="Thermostat alarm: blink the lamp",
        trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm"},
        actions=[{"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1}}],
    )
    facts(events=[(home.lamp.pk, "overheated", 80)])  # a person's hand on the lamp
    facts(events=[(home.thermostat.pk, "alarm", 1)])  # the thermostat, rebooted by A, raises an alarm
    facts(events=[(home.lamp.pk, "overheated", 81)])  # the lamp, blinked by B, overheats again: A would go round

    first_a, second_a = Run.objects.filter(automation=a).order_by("id")
    assert first_a.status == RunStatus.DONE and first_a.chain == []
    first_b = Run.objects.filter(automation=b).order_by("id").first()
    assert first_b is not None and first_b.status == RunStatus.DONE and first_b.chain == [a.pk]
    assert (second_a.status, second_a.reason) == (RunStatus.STOPPED, StopReason.LOOP)
    assert second_a.detail == f"Loop: #{a.pk} → #{b.pk} → #{a.pk}"
    # the loop went round once and no further: the thermostat is not rebooted again, so it raises no new alarm
    assert Invocation.objects.count() == 2

    page = client_for(home.person).get(f"/automations/{a.pk}/").content.decode()
    assert f"Loop: #{a.pk} → #{b.pk} → #{a.pk}" in page and "A loop between automations" in page


def test_an_automation_acting_on_its_own_trigger_device_stops_itself(home: Home) -> None:
    echo = services.automation_create(
        actor=home.person, name="Blink on overheating",
        trigger={"kind": "event", "device": home.lamp.pk, "event": "overheated"},
        actions=[{"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1}}],
    )
    facts(events=[(home.lamp.pk, "overheated", 80)])
    facts(events=[(home.lamp.pk, "overheated", 80)])
    statuses = list(Run.objects.filter(automation=echo).order_by("id").values_list("status", "reason"))
    assert statuses == [(RunStatus.DONE, ""), (RunStatus.STOPPED, StopReason.LOOP)]


@override_settings(AUTOMATIONS_RATE_CAP=5)
def test_a_flood_of_triggers_is_capped_per_automation(home: Home) -> None:
    noisy = services.automation_create(
        actor=home.person, name="Every alarm",
        trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm"},
        actions=[{"kind": "notify", "title": "Alarm"}],
    )
    facts(events=[(home.thermostat.pk, "alarm", n) for n in range(8)])
    facts(events=[(home.thermostat.pk, "alarm", 9)])
    statuses = list(Run.objects.filter(automation=noisy).order_by("id").values_list("status", flat=True))
    assert statuses == ["done"] * 5 + ["stopped"] * 4
    assert set(Run.objects.filter(automation=noisy, status="stopped").values_list("reason", flat=True)) == {"rate"}
