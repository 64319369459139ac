"""Scenes: one tap runs a list of actions; the same Idempotency-Key runs it once."""

from collections.abc import Callable

from django.test import Client

from makercloud.automations.models import Run
from makercloud.automations.tests.conftest import Home
from makercloud.devices.models import Invocation

B = "/api/v1"


def test_a_scene_runs_once_per_idempotency_key(home: Home, bearer_for: Callable[..., dict[str, str]]) -> None:
    headers = bearer_for(home.person, ["devices:read", "devices:control"])
    client = Client()
    scene = client.post(f"{B}/scenes", {"name": "Evening", "actions": [
        {"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 1, "colour": "blue"}},
        {"kind": "set_desired", "device": home.thermostat.pk, "state": {"mode": "eco"}},
    ]}, content_type="application/json", headers=headers)
    assert scene.status_code == 201, scene.json()
    path = f"{B}/scenes/{scene.json()['id']}/run"

    first = client.post(path, headers={**headers, "Idempotency-Key": "tap-1"})
    assert first.status_code == 201
    run = first.json()
    assert run["status"] == "done" and [e["outcome"] for e in run["log"]] == ["ok", "ok"]
    again = client.post(path, headers={**headers, "Idempotency-Key": "tap-1"})
    assert again.status_code == 200 and again.json()["id"] == run["id"]
    assert Invocation.objects.filter(device=home.lamp).count() == 1
    assert client.post(path, headers={**headers, "Idempotency-Key": "tap-2"}).status_code == 201
    assert Invocation.objects.filter(device=home.lamp).count() == 2
    home.thermostat.refresh_from_db()
    assert home.thermostat.desired == {"mode": "eco"}
    assert [s["name"] for s in client.get(f"{B}/scenes", headers=headers).json()["items"]] == ["Evening"]


def test_someone_elses_scene_does_not_exist_for_you(
    home: Home, make_person: Callable[..., object], bearer_for: Callable[..., dict[str, str]]
) -> None:
    headers = bearer_for(home.person, ["devices:control"])
    scene = Client().post(f"{B}/scenes", {"name": "Mine", "actions": [{"kind": "notify", "title": "Hi"}]},
                          content_type="application/json", headers=headers).json()
    stranger = bearer_for(make_person(), ["devices:control"])
    response = Client().post(f"{B}/scenes/{scene['id']}/run", headers=stranger)
    assert response.status_code == 404 and response.json()["type"].endswith("/scene-not-found")
    assert not Run.objects.exists()


def test_the_scenes_page_runs_a_scene_with_one_tap(home: Home, client_for: Callable[..., Client]) -> None:
    browser = client_for(home.person)
    created = browser.post("/scenes/", {
        "name": "Movie night", "action_count": "3",
        "action-0-kind": "invoke", "action-0-device": home.lamp.pk, "action-0-action": "blink",
        "action-0-input": '{"times": 2}',
        "action-1-kind": "notify", "action-1-title": "Enjoy the film",
        "action-2-kind": "",
    })
    assert created.status_code == 302, created.content.decode()[:3000]
    page = browser.get("/scenes/").content.decode()
    assert "Movie night" in page and "Run Movie night" in page
    scene_id = Run._meta.apps.get_model("automations", "Scene").objects.get(name="Movie night").pk
    tapped = browser.post(f"/scenes/{scene_id}/run/", {"idempotency_key": "k1"}, follow=True)
    assert "“Movie night” ran." in tapped.content.decode()
    browser.post(f"/scenes/{scene_id}/run/", {"idempotency_key": "k1"})  # a double tap
    assert Invocation.objects.filter(device=home.lamp).count() == 1

    bad = browser.post("/scenes/", {"name": "Broken", "action_count": "1", "action-0-kind": "invoke",
                                    "action-0-device": home.lamp.pk, "action-0-action": "blink",
                                    "action-0-input": '{"times": 50}'})
    assert bad.status_code == 400 and "actions.0.input.times" in bad.content.decode()
