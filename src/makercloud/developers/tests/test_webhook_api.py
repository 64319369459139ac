"""The webhook API: endpoints (secret shown once, rotation, circuit reset), the delivery log and replay — and who
may do what (the app's venture members write, operators read, everyone else finds nothing)."""

from collections.abc import Callable
from typing import Any

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from makercloud.accounts.models import User
from makercloud.developers.models import App, Delivery, Grant, WebhookEndpoint
from makercloud.developers.services import webhooks
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver
from makercloud.devices import signals
from makercloud.devices.models import Device

pytestmark = pytest.mark.django_db

JSON = "application/json"


def publish_event(device: Device, n: int = 1) -> None:
    with transaction.atomic():
        signals.facts_publish(signals.DeviceFacts(
            events=[signals.Event(device.pk, timezone.now(), "overheated", 70 + i) for i in range(n)]
        ))


def create(client: Client, app: App, **body: Any) -> Any:
    return client.post(f"/api/v1/apps/{app.pk}/webhooks", {"event_types": ["device.event"], **body},
                       content_type=JSON)


def test_a_maker_adds_an_endpoint_and_sees_its_secret_once(
    maker: User, app: App, receiver: Receiver, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    response = create(client, app, url=receiver.url, description="Production")
    assert response.status_code == 201, response.content
    created = response.json()
    assert created["secret"].startswith("whsec_") and created["circuit"]["state"] == "closed"
    assert created["event_types"] == ["device.event"] and created["url"] == receiver.url

    listed = client.get(f"/api/v1/apps/{app.pk}/webhooks").json()
    assert [e["id"] for e in listed] == [created["id"]]
    assert "secret" not in listed[0]
    stored = WebhookEndpoint.objects.get().secret_encrypted
    assert created["secret"] not in stored and webhooks.secret_open(stored) == created["secret"]


@pytest.mark.parametrize(("body", "loc"), [
    ({"url": "http://hooks.example.com/x"}, "url"),
    ({"url": "ftp://example.com/x"}, "url"),
    ({"url": "https://user:pw@example.com/x"}, "url"),
    ({"url": "not a url"}, "url"),
])
def test_unsafe_or_malformed_urls_are_refused_as_problems(
    maker: User, app: App, client_for: Callable[[User], Client], body: dict[str, Any], loc: str
) -> None:
    response = create(client_for(maker), app, **body)
    assert response.status_code == 422
    assert response["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-webhook-endpoint")
    assert problem["errors"][0]["loc"] == ["body", loc]
    assert not WebhookEndpoint.objects.exists()


def test_unknown_event_types_and_unknown_fields_are_refused(
    maker: User, app: App, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    assert create(client, app, url="https://example.com/h", event_types=["device.exploded"]).status_code == 422
    assert create(client, app, url="https://example.com/h", event_types=[]).status_code == 422
    assert create(client, app, url="https://example.com/h", secret="whsec_mine").status_code == 422
    assert create(client, app, url="https://example.com/h\x00").status_code == 422
    assert not WebhookEndpoint.objects.exists()


def test_only_the_ventures_members_write_operators_read_others_find_nothing(
    maker: User, operator: User, app: App, make_person: Callable[..., User], client_for: Callable[[User], Client],
    endpoint: tuple[WebhookEndpoint, str],
) -> None:
    hook = endpoint[0]
    stranger = client_for(make_person("stranger@example.com"))
    assert stranger.get(f"/api/v1/apps/{app.pk}/webhooks").status_code == 404
    assert create(stranger, app, url="https://evil.example.com/").status_code == 404
    assert stranger.get(f"/api/v1/apps/{app.pk}/deliveries").status_code == 404
    assert stranger.delete(f"/api/v1/apps/{app.pk}/webhooks/{hook.pk}").status_code == 404

    staff = client_for(operator)
    assert staff.get(f"/api/v1/apps/{app.pk}/webhooks").status_code == 200
    assert staff.get(f"/api/v1/apps/{app.pk}/deliveries").status_code == 200
    refused = staff.post(f"/api/v1/apps/{app.pk}/webhooks/{hook.pk}/rotate-secret")
    assert refused.status_code == 403 and refused.json()["type"].endswith("/not-app-maker")
    assert staff.delete(f"/api/v1/apps/{app.pk}/webhooks/{hook.pk}").status_code == 403
    assert WebhookEndpoint.objects.filter(pk=hook.pk).exists()


def test_a_token_needs_apps_write_to_change_endpoints(
    maker: User, app: App, bearer_for: Callable[..., dict[str, str]], endpoint: tuple[WebhookEndpoint, str]
) -> None:
    client = Client()
    reader = bearer_for(maker, ["apps:read"])
    assert client.get(f"/api/v1/apps/{app.pk}/webhooks", headers=reader).status_code == 200
    refused = client.post(f"/api/v1/apps/{app.pk}/webhooks", {"url": "https://example.com/h",
                          "event_types": ["device.event"]}, content_type=JSON, headers=reader)
    assert refused.status_code == 403
    writer = bearer_for(maker, ["apps:write"])
    accepted = client.post(f"/api/v1/apps/{app.pk}/webhooks", {"url": "https://example.com/h",
                           "event_types": ["device.event"]}, content_type=JSON, headers=writer)
    assert accepted.status_code == 201


def test_patch_rotate_reset_and_delete(
    maker: User, app: App, client_for: Callable[[User], Client], endpoint: tuple[WebhookEndpoint, str]
) -> None:
    client = client_for(maker)
    hook, secret = endpoint
    base = f"/api/v1/apps/{app.pk}/webhooks/{hook.pk}"
    changed = client.patch(base, {"event_types": ["device.online", "device.offline"], "enabled": False},
                           content_type=JSON)
    assert changed.status_code == 200
    assert changed.json()["event_types"] == ["device.online", "device.offline"] and not changed.json()["enabled"]
    assert client.patch(base, {"url": "http://example.com/"}, content_type=JSON).status_code == 422

    rotated = client.post(f"{base}/rotate-secret")
    assert rotated.status_code == 201
    new = rotated.json()["secret"]
    assert new.startswith("whsec_") and new != secret
    hook.refresh_from_db()
    assert webhooks.secret_open(hook.secret_encrypted) == new

    WebhookEndpoint.objects.filter(pk=hook.pk).update(consecutive_failures=9, circuit_opened_at=timezone.now(),
                                                      circuit_open_until=timezone.now() + webhooks.CIRCUIT_COOLDOWN)
    assert client.get(f"/api/v1/apps/{app.pk}/webhooks").json()[0]["circuit"]["state"] == "open"
    reset = client.post(f"{base}/reset-circuit")
    assert reset.status_code == 200 and reset.json()["circuit"] == {
        "state": "closed", "consecutive_failures": 0, "opened_at": None, "open_until": None}

    assert client.delete(base).status_code == 204
    assert client.delete(base).status_code == 404
    assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_filters_pages_shows_attempts_and_replays(
    maker: User, app: App, grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver,
    device_pair: tuple[Device, Device], client_for: Callable[[User], Client],
) -> None:
    client = client_for(maker)
    lamp = device_pair[0]
    receiver.answers = [500]
    publish_event(lamp, n=3)
    webhooks.deliveries_dispatch()
    base = f"/api/v1/apps/{app.pk}/deliveries"

    page = client.get(base, {"limit": 2}).json()
    assert len(page["items"]) == 2 and page["next_cursor"]
    rest = client.get(base, {"limit": 2, "cursor": page["next_cursor"]}).json()
    assert len(rest["items"]) == 1 and rest["next_cursor"] is None
    pending = client.get(base, {"state": "pending"}).json()["items"]
    assert len(pending) == 1 and pending[0]["last_status"] == 500 and pending[0]["next_attempt_at"]
    assert len(client.get(base, {"state": "succeeded", "device_id": lamp.pk}).json()["items"]) == 2
    assert client.get(base, {"event_type": "device.online"}).json()["items"] == []
    assert client.get(base, {"state": "lost"}).status_code == 422
    assert client.get(base, {"cursor": "!!"}).status_code == 422

    done = client.get(base, {"state": "succeeded"}).json()["items"][0]
    detail = client.get(f"{base}/{done['id']}").json()
    assert detail["payload"]["type"] == "device.event" and detail["payload"]["data"]["device_id"] == lamp.pk
    (attempt,) = detail["log"]
    assert attempt["response"]["status"] == 200 and attempt["request"]["headers"]["webhook-id"] == done["message_id"]
    assert attempt["request"]["url"] == receiver.url

    assert client.post(f"{base}/{pending[0]['id']}/replay").status_code == 409
    replayed = client.post(f"{base}/{done['id']}/replay")
    assert replayed.status_code == 202 and replayed.json()["state"] == "pending"
    webhooks.deliveries_dispatch()
    again = [r for r in receiver.requests if r.headers["webhook-id"] == done["message_id"]]
    assert len(again) == 2
    Webhook(endpoint[1]).verify(again[1].body, again[1].headers)
    assert [a["trigger"] for a in client.get(f"{base}/{done['id']}").json()["log"]] == ["first", "replay"]
    assert client.get(f"{base}/999999").status_code == 404


def test_another_apps_delivery_is_not_found(
    maker: User, app: App, make_app: Callable[..., App], grant: Grant, endpoint: tuple[WebhookEndpoint, str],
    device_pair: tuple[Device, Device], client_for: Callable[[User], Client],
) -> None:
    publish_event(device_pair[0])
    delivery = Delivery.objects.get()
    other = make_app("Other app")
    client = client_for(maker)
    assert client.get(f"/api/v1/apps/{other.pk}/deliveries/{delivery.pk}").status_code == 404
    assert client.post(f"/api/v1/apps/{other.pk}/deliveries/{delivery.pk}/replay").status_code == 404
