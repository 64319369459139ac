"""Which devices automations and scenes may use (automations/access.py): a person's only those in their home — not a
customer's device of a venture they belong to — and an app's only its grant's; checked on saving and at every run."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts.models import User
from makercloud.automations import services
from makercloud.automations.models import Automation, Run, RunStatus, Scene, StopReason
from makercloud.automations.tests.conftest import Home, facts
from makercloud.devices import services as device_services
from makercloud.devices.models import Device, Invocation
from makercloud.notifications.models import Notification

B = "/api/v1"


def _maker_of(device: Device) -> User:
    """A member of the venture that provisioned the device (who may look after it for support)."""
    membership = device.organisation.memberships.select_related("person").first()
    assert membership is not None
    return membership.person


def test_a_venture_member_cannot_put_a_customers_device_in_a_scene_or_an_automation(
    home: Home, bearer_for: Callable[..., dict[str, str]]
) -> None:
    maker = _maker_of(home.lamp)
    headers = bearer_for(maker, ["devices:read", "devices:control"])
    client = Client()
    assert client.get(f"{B}/devices/{home.lamp.pk}", headers=headers).status_code == 200  # support may look at it

    scene = client.post(f"{B}/scenes", {"name": "Blink a customer's lamp", "actions": [
        {"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1}}]},
        content_type="application/json", headers=headers)
    assert scene.status_code == 403
    assert scene["Content-Type"] == "application/problem+json"
    problem = scene.json()
    assert problem["type"].endswith("/device-not-controllable")
    assert problem["detail"] == (f"Device {home.lamp.pk} is not in your home: automations and scenes may use only "
                                 "the devices in your home.")
    assert problem["errors"][0]["loc"] == ["body", "actions", 0, "device"]

    automation = client.post(f"{B}/automations", {
        "name": "Watch a customer's lamp", "trigger": {"kind": "event", "device": home.lamp.pk, "event": "overheated"},
        "actions": [{"kind": "notify", "title": "Their lamp is hot"}]}, content_type="application/json",
        headers=headers)
    assert automation.status_code == 403 and automation.json()["errors"][0]["loc"] == ["body", "trigger", "device"]
    assert not Scene.objects.exists() and not Automation.objects.exists()

    # the owner may, with the very same body
    mine = client.post(f"{B}/scenes", {"name": "Blink", "actions": [
        {"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1}}]},
        content_type="application/json", headers=bearer_for(home.person, ["devices:control"]))
    assert mine.status_code == 201


def test_the_pages_offer_only_the_devices_in_ones_home(
    home: Home, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    maker = _maker_of(home.lamp)
    browser = client_for(maker)
    for path in ("/automations/new/", "/scenes/"):
        page = browser.get(path).content.decode()
        assert home.lamp.pk not in page and "Desk lamp" not in page
    refused = browser.post("/scenes/", {"name": "Blink theirs", "action_count": "1", "action-0-kind": "invoke",
                                        "action-0-device": home.lamp.pk, "action-0-action": "blink"})
    assert refused.status_code == 400 and "Select a valid choice" in refused.content.decode()
    assert not Scene.objects.exists()

    page = client_for(home.person).get("/scenes/").content.decode()
    assert f'value="{home.lamp.pk}"' in page and f'value="{home.thermostat.pk}"' in page


def _alarm(home: Home) -> Automation:
    return services.automation_create(
        actor=home.person, name="Alarm",
        trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm"},
        actions=[{"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 5}},
                 {"kind": "notify", "title": "Alarm in the hall"}],
    )


def test_an_action_on_a_device_that_changed_hands_is_skipped_and_logged(
    home: Home, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    automation = _alarm(home)
    device_services.device_unbind(actor=home.person, device=home.lamp)
    home.lamp.owner = make_person(name="New Owner")  # sold on: the lamp now belongs to someone else
    home.lamp.save(update_fields=["owner"])

    facts(events=[(home.thermostat.pk, "alarm", 99)])
    run = Run.objects.get(automation=automation)
    assert run.status == RunStatus.DONE and run.reason == StopReason.PERMISSION
    assert run.detail == "Desk lamp is no longer in Zhao Lei's home."
    assert [(entry["outcome"], entry.get("error")) for entry in run.log] == [
        ("skipped", "Desk lamp is no longer in Zhao Lei's home."), ("ok", None)]
    assert not Invocation.objects.exists()  # the new owner's lamp did not blink
    assert Notification.objects.filter(person=home.person, title="Alarm in the hall").exists()

    page = client_for(home.person).get(f"/automations/{automation.pk}/").content.decode()
    assert "No longer in your home: Desk lamp." in page
    assert "skipped" in page and f'value="{home.lamp.pk}"' not in page  # not offered for a new choice either


def test_a_scene_whose_only_device_left_the_home_is_stopped(
    home: Home, bearer_for: Callable[..., dict[str, str]]
) -> None:
    scene = services.scene_create(actor=home.person, name="Blink", actions=[
        {"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1}}])
    device_services.device_unbind(actor=home.person, device=home.lamp)
    response = Client().post(f"{B}/scenes/{scene.pk}/run", headers=bearer_for(home.person, ["devices:control"]))
    assert response.status_code == 201
    run = response.json()
    assert (run["status"], run["reason"]) == ("stopped", "permission")
    assert run["log"][0]["outcome"] == "skipped"
    assert not Invocation.objects.exists()


def test_a_trigger_device_that_changed_hands_stops_the_run_and_drops_its_data(home: Home) -> None:
    automation = _alarm(home)
    device_services.device_unbind(actor=home.person, device=home.thermostat)
    facts(events=[(home.thermostat.pk, "alarm", {"room": "the new owner's hall"})])
    run = Run.objects.get(automation=automation)
    assert (run.status, run.reason) == (RunStatus.STOPPED, StopReason.PERMISSION)
    assert run.detail == "Hall thermostat is no longer in Zhao Lei's home."
    assert "data" not in run.cause and run.log == []
    assert not Invocation.objects.exists() and not Notification.objects.exists()


def test_a_venture_members_automation_made_before_the_rule_does_not_act_on_a_customers_device(home: Home) -> None:
    maker = _maker_of(home.lamp)
    # as it could be saved before: an automation of the maker's that starts the customer's lamp
    automation = Automation.objects.create(
        owner=maker, name="Old", trigger_kind="schedule", enabled=True,
        trigger={"kind": "schedule", "cron": "* * * * *", "timezone": "UTC"},
        actions=[{"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1}}],
    )
    run = Run.objects.create(automation=automation, owner=maker, cause={"kind": "schedule"}, actions=[])
    from makercloud.automations import runs

    runs.run_execute(run_id=run.pk)
    run.refresh_from_db()
    assert (run.status, run.reason) == (RunStatus.STOPPED, StopReason.PERMISSION)
    assert run.log[0]["outcome"] == "skipped"
    assert not Invocation.objects.exists()
