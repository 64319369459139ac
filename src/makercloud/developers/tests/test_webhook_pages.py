"""The webhook pages: add an endpoint and see its secret once, rotate it, see and reset the circuit, read the
delivery log with each attempt's request and response, replay — members act, operators look, others get nothing."""

from collections.abc import Callable

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from makercloud.accounts.models import User
from makercloud.developers.models import App, Delivery, DeliveryState, Grant, WebhookEndpoint
from makercloud.developers.services import webhooks
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver
from makercloud.devices import signals
from makercloud.devices.models import Device

pytestmark = pytest.mark.django_db


def publish_event(device: Device) -> None:
    with transaction.atomic():
        signals.facts_publish(signals.DeviceFacts(events=[signals.Event(device.pk, timezone.now(), "overheated", 80)]))


def test_a_maker_adds_an_endpoint_sees_the_secret_once_and_rotates_it(
    maker: User, app: App, receiver: Receiver, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    page = f"/developers/apps/{app.pk}/webhooks/"
    assert "Add an endpoint" in client.get(page).content.decode()

    response = client.post(page, {"url": receiver.url, "event_types": ["device.event", "grant.revoked"],
                                  "description": "Staging"})
    assert response.status_code == 200
    html = response.content.decode()
    endpoint = WebhookEndpoint.objects.get()
    secret = webhooks.secret_open(endpoint.secret_encrypted)
    assert secret in html and "shown this once" in html
    assert endpoint.event_types == ["device.event", "grant.revoked"]

    again = client.get(page).content.decode()
    assert secret not in again and receiver.url in again and "delivering" in again

    rotated = client.post(f"/developers/apps/{app.pk}/webhooks/{endpoint.pk}/rotate")
    endpoint.refresh_from_db()
    new = webhooks.secret_open(endpoint.secret_encrypted)
    assert new != secret and new in rotated.content.decode()


def test_bad_input_is_a_readable_message_not_an_error_page(
    maker: User, app: App, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    page = f"/developers/apps/{app.pk}/webhooks/"
    response = client.post(page, {"url": "http://example.com/hook", "event_types": ["device.event"]})
    assert response.status_code == 400
    assert "plain http:// is allowed only for localhost" in response.content.decode()
    response = client.post(page, {"url": "https://example.com/hook"})
    assert response.status_code == 400 and not WebhookEndpoint.objects.exists()


def test_the_circuit_state_shows_and_the_maker_resets_it(
    maker: User, app: App, client_for: Callable[[User], Client], endpoint: tuple[WebhookEndpoint, str]
) -> None:
    hook = endpoint[0]
    WebhookEndpoint.objects.filter(pk=hook.pk).update(
        consecutive_failures=7, circuit_opened_at=timezone.now(),
        circuit_open_until=timezone.now() + webhooks.CIRCUIT_COOLDOWN,
    )
    client = client_for(maker)
    html = client.get(f"/developers/apps/{app.pk}/webhooks/").content.decode()
    assert "circuit open" in html and "7 failures in a row" in html
    response = client.post(f"/developers/apps/{app.pk}/webhooks/{hook.pk}/reset", follow=True)
    assert "The circuit is closed" in response.content.decode()
    hook.refresh_from_db()
    assert hook.circuit_state() == "closed" and hook.consecutive_failures == 0


def test_the_delivery_log_shows_attempts_and_the_maker_replays(
    maker: User, app: App, grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver,
    device_pair: tuple[Device, Device], client_for: Callable[[User], Client],
) -> None:
    receiver.answers = [500]
    publish_event(device_pair[0])
    webhooks.deliveries_dispatch()
    delivery = Delivery.objects.get()
    client = client_for(maker)

    log = client.get(f"/developers/apps/{app.pk}/deliveries/").content.decode()
    assert delivery.message_id in log and "HTTP 500" in log
    assert delivery.message_id not in client.get(
        f"/developers/apps/{app.pk}/deliveries/", {"state": "succeeded"}).content.decode()
    assert client.get(f"/developers/apps/{app.pk}/deliveries/", {"state": "nonsense"}).status_code == 400

    detail = client.get(f"/developers/apps/{app.pk}/deliveries/{delivery.pk}/").content.decode()
    assert "webhook-signature" in detail and "HTTP 500" in detail and device_pair[0].pk in detail
    assert "Replay" not in detail  # still pending: a retry is scheduled

    Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    webhooks.deliveries_dispatch()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    detail = client.get(f"/developers/apps/{app.pk}/deliveries/{delivery.pk}/").content.decode()
    assert "Replay" in detail and "HTTP 200" in detail

    replayed = client.post(f"/developers/apps/{app.pk}/deliveries/{delivery.pk}/", follow=True)
    assert "queued to be sent again" in replayed.content.decode()
    webhooks.deliveries_dispatch()
    last = receiver.wait_for(3)[-1]
    assert last.headers["webhook-id"] == delivery.message_id
    Webhook(endpoint[1]).verify(last.body, last.headers)


def test_operators_look_but_do_not_touch_and_strangers_see_nothing(
    maker: User, operator: User, app: App, grant: Grant, endpoint: tuple[WebhookEndpoint, str],
    device_pair: tuple[Device, Device], make_person: Callable[..., User], client_for: Callable[[User], Client],
) -> None:
    publish_event(device_pair[0])
    delivery = Delivery.objects.get()
    hook = endpoint[0]
    staff = client_for(operator)
    page = staff.get(f"/developers/apps/{app.pk}/webhooks/").content.decode()
    assert hook.url in page and "Add an endpoint" not in page and "Rotate secret" not in page
    assert staff.get(f"/developers/apps/{app.pk}/deliveries/{delivery.pk}/").status_code == 200
    assert staff.post(f"/developers/apps/{app.pk}/webhooks/{hook.pk}/delete").status_code == 403
    assert staff.post(f"/developers/apps/{app.pk}/deliveries/{delivery.pk}/").status_code == 403
    assert staff.post(f"/developers/apps/{app.pk}/webhooks/", {"url": "https://x.example.com/",
                                                               "event_types": ["device.event"]}).status_code == 403
    assert WebhookEndpoint.objects.filter(pk=hook.pk).exists()

    stranger = client_for(make_person("stranger@example.com"))
    for url in (f"/developers/apps/{app.pk}/webhooks/", f"/developers/apps/{app.pk}/deliveries/",
                f"/developers/apps/{app.pk}/deliveries/{delivery.pk}/"):
        assert stranger.get(url).status_code == 404
    assert stranger.post(f"/developers/apps/{app.pk}/webhooks/{hook.pk}/delete").status_code == 404
    assert Client().get(f"/developers/apps/{app.pk}/webhooks/").status_code == 302  # to sign in


def test_the_pages_speak_chinese(
    maker: User, app: App, endpoint: tuple[WebhookEndpoint, str], client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    html = client.get(f"/developers/apps/{app.pk}/webhooks/", headers={"accept-language": "zh-hans"}).content.decode()
    assert "添加" in html and "Add an endpoint" not in html
