"""The automation pages: create from My home's devices, a readable refusal, the list, the run log, delete."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts.models import User
from makercloud.automations.models import Automation
from makercloud.automations.tests.conftest import Home, facts


def test_an_automation_is_made_on_the_page_and_its_runs_are_shown(
    home: Home, client_for: Callable[[User], Client]
) -> None:
    browser = client_for(home.person)
    form = browser.get("/automations/new/").content.decode()
    assert "Desk lamp · Smart lamp" in form and "overheated" in form  # My home's devices and what they offer
    response = browser.post("/automations/new/", {
        "name": "Hot hall", "enabled": "on", "kind": "threshold", "device": home.thermostat.pk,
        "property": "temperature", "direction": "above", "threshold": "26", "hysteresis": "1",
        "timezone": "Asia/Shanghai", "action_count": "2",
        "action-0-kind": "set_desired", "action-0-device": home.lamp.pk, "action-0-state": '{"brightness": 10}',
        "action-1-kind": "notify", "action-1-title": "The hall is hot",
    })
    assert response.status_code == 302, response.content.decode()[-3000:]
    automation = Automation.objects.get(name="Hot hall")
    assert automation.trigger["threshold"] == 26 and len(automation.actions) == 2

    facts(readings=[(home.thermostat.pk, "temperature", 27.5, None)])
    listing = browser.get("/automations/").content.decode()
    assert "Hot hall" in listing and "When temperature of Hall thermostat rises above 26" in listing
    detail = browser.get(f"/automations/{automation.pk}/").content.decode()
    assert "temperature reached 27.5" in detail and "Set brightness = 10 on Desk lamp" in detail
    assert "waiting for the value to come back" in detail

    browser.post(f"/automations/{automation.pk}/delete/")
    assert not Automation.objects.filter(pk=automation.pk).exists()


def test_a_refused_automation_says_why_on_the_page(
    home: Home, make_home: Callable[..., Home], client_for: Callable[[User], Client]
) -> None:
    neighbour = make_home("neighbour@example.com")
    browser = client_for(home.person)
    response = browser.post("/automations/new/", {
        "name": "Sneaky", "enabled": "on", "kind": "schedule", "time": "07:30", "timezone": "Asia/Shanghai",
        "action_count": "1", "action-0-kind": "invoke", "action-0-device": neighbour.lamp.pk,
        "action-0-action": "reboot",
    })
    assert response.status_code == 400
    page = response.content.decode()
    assert "Select a valid choice" in page  # the neighbour's lamp is not in this home's list at all
    assert not Automation.objects.exists()

    response = browser.post("/automations/new/", {
        "name": "Typo", "enabled": "on", "kind": "event", "device": home.lamp.pk, "event": "overheat",
        "timezone": "UTC", "action_count": "1", "action-0-kind": "notify", "action-0-title": "Hot",
    })
    assert response.status_code == 400 and "trigger.event: Smart lamp has no event &#x27;overheat&#x27;" in (
        response.content.decode())


def test_someone_elses_automation_page_is_not_found(
    home: Home, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    browser = client_for(home.person)
    browser.post("/automations/new/", {
        "name": "Mine", "enabled": "on", "kind": "event", "device": home.lamp.pk, "event": "overheated",
        "timezone": "UTC", "action_count": "1", "action-0-kind": "notify", "action-0-title": "Hot",
    })
    automation = Automation.objects.get(name="Mine")
    assert client_for(make_person()).get(f"/automations/{automation.pk}/").status_code == 404


def test_a_weekday_schedule_reads_as_such_in_the_list(home: Home, client_for: Callable[[User], Client]) -> None:
    browser = client_for(home.person)
    response = browser.post("/automations/new/", {
        "name": "Workday light", "enabled": "on", "kind": "schedule", "time": "07:30", "weekdays": ["mon", "fri"],
        "timezone": "Asia/Shanghai", "action_count": "1", "action-0-kind": "invoke", "action-0-device": home.lamp.pk,
        "action-0-action": "blink", "action-0-input": '{"times": 1}',
    })
    assert response.status_code == 302
    assert "At 07:30 on Monday, Friday (Asia/Shanghai)" in browser.get("/automations/").content.decode()
