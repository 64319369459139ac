"""An app acting for a person with an OAuth token (devices:control): it may use only its grant's devices, sees only
the automations it created, and its automations stop acting the moment the person revokes the grant."""

from collections.abc import Callable
from datetime import timedelta

from django.db.models import F
from django.test import Client

from makercloud.accounts.models import User
from makercloud.automations.models import Effect, Run, RunStatus, StopReason
from makercloud.automations.tests.conftest import facts
from makercloud.developers.models import Grant
from makercloud.developers.services import clients as developers_services
from makercloud.developers.tests.test_oauth_support import World, register, token_for, world  # noqa: F401
from makercloud.devices.models import Invocation

B = "/api/v1"


def _rule(device_id: str, action_device: str) -> dict[str, object]:
    return {"name": "Blink when hot", "trigger": {"kind": "event", "device": device_id, "event": "overheated"},
            "actions": [{"kind": "invoke", "device": action_device, "action": "blink", "input": {"times": 1}}]}


def test_an_app_token_is_limited_to_its_grant(
    world: World, client_for: Callable[[User], Client], bearer_for: Callable[..., dict[str, str]]  # noqa: F811
) -> None:
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["devices:read", "devices:control"],
                      devices=[world.lamp])["access_token"]
    as_app = {"Authorization": f"Bearer {token}"}
    client = Client()

    refused = client.post(f"{B}/automations", _rule(world.lamp.pk, world.other.pk), content_type="application/json",
                          headers=as_app)
    assert refused.status_code == 403 and refused.json()["type"].endswith("/device-not-controllable")
    created = client.post(f"{B}/automations", _rule(world.lamp.pk, world.lamp.pk), content_type="application/json",
                          headers=as_app)
    assert created.status_code == 201, created.json()
    assert created.json()["by_app"] is True

    # the person's own automation is not the app's to see
    person = bearer_for(world.user, ["devices:read", "devices:control"])
    own = client.post(f"{B}/automations", _rule(world.other.pk, world.other.pk), content_type="application/json",
                      headers=person).json()
    assert [a["id"] for a in client.get(f"{B}/automations", headers=as_app).json()["items"]] == [created.json()["id"]]
    assert client.get(f"{B}/automations/{own['id']}", headers=as_app).status_code == 404
    assert len(client.get(f"{B}/automations", headers=person).json()["items"]) == 2

    facts(events=[(world.lamp.pk, "overheated", 70)])
    assert Invocation.objects.filter(device=world.lamp).count() == 1

    grant = Grant.objects.get(app=app, person=world.user)
    developers_services.grant_revoke(actor=world.user, grant=grant)
    # two minutes later (the blink is long forgotten: this overheating is not taken as its echo)
    Effect.objects.update(at=F("at") - timedelta(minutes=2))
    facts(events=[(world.lamp.pk, "overheated", 71)])
    latest = Run.objects.filter(automation_id=created.json()["id"]).order_by("-id").first()
    assert latest is not None
    assert (latest.status, latest.reason) == (RunStatus.STOPPED, StopReason.PERMISSION)
    assert latest.detail == "The app's access was revoked."
    assert Invocation.objects.filter(device=world.lamp).count() == 1
    assert client.get(f"{B}/automations", headers=as_app).status_code == 401  # the token went with the grant


def test_an_apps_action_on_a_device_taken_out_of_its_grant_is_skipped(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["devices:read", "devices:control"],
                      devices=[world.lamp, world.other])["access_token"]
    rule = {"name": "Blink the kitchen when the bedroom is hot",
            "trigger": {"kind": "event", "device": world.other.pk, "event": "overheated"},
            "actions": [{"kind": "invoke", "device": world.lamp.pk, "action": "blink", "input": {"times": 1}},
                        {"kind": "notify", "title": "The bedroom lamp is hot"}]}
    created = Client().post(f"{B}/automations", rule, content_type="application/json",
                            headers={"Authorization": f"Bearer {token}"})
    assert created.status_code == 201, created.json()

    Grant.objects.get(app=app, person=world.user).devices.set([world.other])  # the person narrowed the grant
    facts(events=[(world.other.pk, "overheated", 70)])
    run = Run.objects.get(automation_id=created.json()["id"])
    assert [(entry["outcome"], entry.get("error")) for entry in run.log] == [
        ("skipped", "The app may no longer control Kitchen lamp."), ("ok", None)]
    assert run.reason == StopReason.PERMISSION
    assert not Invocation.objects.filter(device=world.lamp).exists()
