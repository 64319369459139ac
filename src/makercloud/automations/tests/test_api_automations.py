"""The automations API: create across ventures, validation against the device models, permission, change, delete."""

from collections.abc import Callable
from typing import Any

from django.test import Client

from makercloud.accounts.models import User
from makercloud.automations.models import Automation
from makercloud.automations.tests.conftest import Home

B = "/api/v1"


def _post(client: Client, path: str, body: Any, headers: dict[str, str]) -> Any:
    return client.post(f"{B}{path}", body, content_type="application/json", headers=headers)


def _event_rule(home: Home, **changes: Any) -> dict[str, Any]:
    rule = {
        "name": "Overheated lamp cools the hall",
        "trigger": {"kind": "event", "device": home.lamp.pk, "event": "overheated"},
        "actions": [
            {"kind": "set_desired", "device": home.thermostat.pk, "state": {"target": 18, "mode": "eco"}},
            {"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 3, "colour": "red"}},
            {"kind": "notify", "title": "The lamp overheated", "body": "The hall was set to 18 °C."},
        ],
    }
    rule.update(changes)
    return rule


def test_an_automation_across_two_ventures_devices_is_created_listed_and_read(
    home: Home, bearer_for: Callable[..., dict[str, str]]
) -> None:
    headers = bearer_for(home.person, ["devices:read", "devices:control"])
    client = Client()
    response = _post(client, "/automations", _event_rule(home), headers)
    assert response.status_code == 201, response.json()
    created = response.json()
    assert created["trigger"] == {"kind": "event", "device": home.lamp.pk, "event": "overheated", "match": None}
    assert [a["kind"] for a in created["actions"]] == ["set_desired", "invoke", "notify"]
    assert created["enabled"] and not created["by_app"]

    listed = client.get(f"{B}/automations", headers=headers).json()
    assert [item["id"] for item in listed["items"]] == [created["id"]]
    assert client.get(f"{B}/automations/{created['id']}", headers=headers).json()["name"] == created["name"]
    assert client.get(f"{B}/automations/{created['id']}/runs", headers=headers).json() == {
        "items": [], "next_cursor": None}


def test_triggers_and_actions_are_checked_against_the_device_models(
    home: Home, bearer_for: Callable[..., dict[str, str]]
) -> None:
    headers = bearer_for(home.person, ["devices:control"])
    body = _event_rule(home, trigger={"kind": "event", "device": home.lamp.pk, "event": "exploded"}, actions=[
        {"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 99}},
        {"kind": "invoke", "device": home.lamp.pk, "action": "dance"},
        {"kind": "set_desired", "device": home.thermostat.pk, "state": {"temperature": 20}},
    ])
    response = _post(Client(), "/automations", body, headers)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    locs = [tuple(error["loc"]) for error in problem["errors"]]
    assert ("body", "trigger", "event") in locs
    assert ("body", "actions", 0, "input", "times") in locs
    assert ("body", "actions", 1, "action") in locs
    assert ("body", "actions", 2, "state", "temperature") in locs
    assert Automation.objects.count() == 0

    threshold = {"kind": "threshold", "device": home.lamp.pk, "property": "on", "direction": "above",
                 "threshold": 1}
    response = _post(Client(), "/automations", _event_rule(home, trigger=threshold), headers)
    assert response.status_code == 422
    assert "not a number" in response.json()["errors"][0]["msg"]

    schedule = {"kind": "schedule", "cron": "61 * * * *"}
    response = _post(Client(), "/automations", _event_rule(home, trigger=schedule), headers)
    assert response.status_code == 422 and "minute" in response.json()["detail"]

    response = _post(Client(), "/automations", _event_rule(home, trigger={"kind": "sometimes"}), headers)
    assert response.status_code == 422 and response.json()["type"].endswith("/validation")


def test_someone_elses_device_is_refused_alike_whether_seen_or_not(
    home: Home, make_home: Callable[..., Home], make_person: Callable[..., User],
    bearer_for: Callable[..., dict[str, str]],
) -> None:
    neighbour = make_home("neighbour@example.com")
    headers = bearer_for(home.person, ["devices:control"])
    rule = _event_rule(home, actions=[{"kind": "invoke", "device": neighbour.lamp.pk, "action": "reboot"}])
    refused = _post(Client(), "/automations", rule, headers)
    assert refused.status_code == 403
    assert refused.json()["type"].endswith("/device-not-controllable")
    assert refused.json()["errors"][0]["loc"] == ["body", "actions", 0, "device"]

    unknown = _post(Client(), "/automations", _event_rule(
        home, actions=[{"kind": "invoke", "device": "dnosuchdevice", "action": "reboot"}]), headers)
    assert unknown.status_code == 403 and unknown.json()["title"] == refused.json()["title"]
    assert Automation.objects.count() == 0

    mine = _post(Client(), "/automations", _event_rule(home), headers).json()
    stranger = bearer_for(make_person(), ["devices:read", "devices:control"])
    assert Client().get(f"{B}/automations/{mine['id']}", headers=stranger).status_code == 404
    assert Client().delete(f"{B}/automations/{mine['id']}", headers=stranger).status_code == 404
    assert Client().get(f"{B}/automations", headers=stranger).json()["items"] == []


def test_writing_needs_the_control_scope(home: Home, bearer_for: Callable[..., dict[str, str]]) -> None:
    reader = bearer_for(home.person, ["devices:read"])
    response = _post(Client(), "/automations", _event_rule(home), reader)
    assert response.status_code == 403 and response.json()["scope"] == "devices:control"


def test_an_automation_is_changed_turned_off_and_deleted(home: Home, bearer_for: Callable[..., dict[str, str]]) -> None:
    headers = bearer_for(home.person, ["devices:read", "devices:control"])
    client = Client()
    created = _post(client, "/automations", _event_rule(home), headers).json()
    path = f"{B}/automations/{created['id']}"
    changed = client.patch(path, {"enabled": False, "name": "Quiet", "trigger": {
        "kind": "threshold", "device": home.thermostat.pk, "property": "temperature", "direction": "above",
        "threshold": 26, "hysteresis": 1}}, content_type="application/json", headers=headers)
    assert changed.status_code == 200, changed.json()
    assert changed.json()["enabled"] is False and changed.json()["name"] == "Quiet"
    assert changed.json()["trigger"]["property"] == "temperature"
    bad = client.patch(path, {"actions": [{"kind": "notify", "title": ""}]}, content_type="application/json",
                       headers=headers)
    assert bad.status_code == 422
    assert client.patch(path, {"colour": "red"}, content_type="application/json", headers=headers).status_code == 422
    assert client.delete(path, headers=headers).status_code == 204
    assert client.get(path, headers=headers).status_code == 404
