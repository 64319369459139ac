"""Deliveries to a real local HTTP receiver, verified with the third-party `standardwebhooks` verifier:
fan-out by grant and subscription, retries with back-off, the circuit breaker, crash recovery and replay."""

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone
from standardwebhooks import Webhook

from makercloud.accounts.models import User
from makercloud.developers.models import (
    App,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    Grant,
    WebhookEndpoint,
)
from makercloud.developers.services import clients as app_services
from makercloud.developers.services import webhooks
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver, make_due
from makercloud.devices import signals
from makercloud.devices.models import Device

pytestmark = pytest.mark.django_db


def publish(**facts: Any) -> None:
    """As the gateway does: inside the transaction that stores the facts."""
    with transaction.atomic():
        signals.facts_publish(signals.DeviceFacts(at=timezone.now(), **facts))


def event(device: Device, name: str = "overheated", data: Any = 71.5) -> signals.Event:
    return signals.Event(device.pk, timezone.now(), name, data)


def test_a_granted_devices_event_arrives_signed_and_verifiable(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    lamp, _other = device_pair
    publish(events=[event(lamp)])
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.message_id.startswith("msg_")

    assert webhooks.deliveries_dispatch() == 1

    (request,) = receiver.wait_for(1)
    payload = Webhook(endpoint[1]).verify(request.body, request.headers)  # raises unless the signature holds
    assert payload["type"] == "device.event"
    assert payload["data"] == {"device_id": lamp.pk, "event": "overheated", "data": 71.5,
                               "ts": payload["data"]["ts"]}
    assert request.headers["webhook-id"] == delivery.message_id
    assert request.headers["webhook-signature"].startswith("v1,")
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.last_status == 200
    (attempt,) = delivery.attempt_log.all()
    assert attempt.succeeded and attempt.response_status == 200 and attempt.trigger == "first"
    assert json.loads(attempt.request_body) == payload
    assert attempt.request_headers["webhook-id"] == delivery.message_id
    assert json.loads(attempt.response_body) == {"status": 200}


def test_a_wrong_secret_does_not_verify(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    (request,) = receiver.wait_for(1)
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(webhooks.secret_new()).verify(request.body, request.headers)


def test_only_granted_devices_subscribed_types_and_the_subscribe_scope_are_delivered(
    maker: User, make_app: Callable[..., App], make_grant: Callable[..., Grant], grant: Grant,
    endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device],
) -> None:
    lamp, other = device_pair
    # A second app of the venture: granted the lamp but without events:subscribe.
    silent = make_app("Silent app")
    make_grant(silent, [lamp], scopes=["devices:read"])
    webhooks.webhook_endpoint_create(actor=maker, app=silent, url=receiver.url, event_types=["device.event"])
    # A third endpoint of the first app that only wants presence.
    webhooks.webhook_endpoint_create(actor=maker, app=grant.app, url=receiver.url + "/presence",
                                     event_types=["device.online", "device.offline"])
    publish(events=[event(lamp), event(other)], reported={lamp.pk: {"on": True}, other.pk: {"on": False}},
            presence={lamp.pk: True, other.pk: True},
            completions=[signals.Completion(lamp.pk, "00000000-0000-7000-8000-000000000001", "ok")])

    webhooks.deliveries_dispatch()

    received = receiver.wait_for(5)
    secret = endpoint[1]
    everything = [(r.path, json.loads(r.body)) for r in received]
    assert all(payload["data"]["device_id"] == lamp.pk for _path, payload in everything)
    on_main = sorted(p["type"] for path, p in everything if path == "/hooks")
    assert on_main == ["device.event", "device.online", "device.reported", "invocation.completed"]
    assert [p["type"] for path, p in everything if path == "/hooks/presence"] == ["device.online"]
    for r in received:
        if r.path == "/hooks":
            Webhook(secret).verify(r.body, r.headers)
    assert not Delivery.objects.filter(app=silent).exists()
    # One event to two endpoints of the app: one message id, two deliveries.
    online = Delivery.objects.filter(event_type="device.online")
    assert online.count() == 2 and len({d.message_id for d in online}) == 1


def test_500s_are_retried_with_back_off_and_the_same_webhook_id_until_it_succeeds(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    receiver.answers = [500, 503]
    publish(events=[event(device_pair[0])])
    delivery = Delivery.objects.get()

    before = timezone.now()
    webhooks.deliveries_dispatch()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.retries == 1 and delivery.last_status == 500
    assert before + timedelta(seconds=1) <= delivery.next_attempt_at <= timezone.now() + timedelta(seconds=5)
    assert webhooks.deliveries_dispatch() == 0, "not due yet: nothing is sent"

    make_due(delivery)
    before = timezone.now()
    webhooks.deliveries_dispatch()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.PENDING and delivery.retries == 2 and delivery.last_status == 503
    assert delivery.next_attempt_at <= timezone.now() + timedelta(seconds=30)

    make_due(delivery)
    webhooks.deliveries_dispatch()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    requests = receiver.wait_for(3)
    assert len(requests) == 3
    assert {r.headers["webhook-id"] for r in requests} == {delivery.message_id}
    for r in requests:
        Webhook(endpoint[1]).verify(r.body, r.headers)
    attempts = list(delivery.attempt_log.values_list("number", "trigger", "response_status", "succeeded"))
    assert attempts == [(1, "first", 500, False), (2, "retry", 503, False), (3, "retry", 200, True)]


def test_after_a_day_of_failures_the_delivery_has_failed(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    receiver.default = 500
    publish(events=[event(device_pair[0])])
    delivery = Delivery.objects.get()
    Delivery.objects.filter(pk=delivery.pk).update(round_started_at=timezone.now() - timedelta(hours=23, minutes=59,
                                                                                                 seconds=59))
    webhooks.deliveries_dispatch()
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.FAILED and delivery.completed_at is not None
    assert delivery.last_error == "HTTP 500"


def test_an_unreachable_endpoint_is_a_failed_attempt_with_the_error(
    maker: User, grant: Grant, device_pair: tuple[Device, Device]
) -> None:
    webhooks.webhook_endpoint_create(actor=maker, app=grant.app, url="http://127.0.0.1:9/nothing-listens",
                                     event_types=["device.event"])
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.retries == 1
    (attempt,) = delivery.attempt_log.all()
    assert attempt.response_status is None and "ConnectError" in attempt.error


def test_redirects_are_not_followed(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    receiver.answers = [302]
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.last_status == 302
    assert len(receiver.wait_for(1)) == 1


def test_the_circuit_opens_after_consecutive_failures_then_one_probe_closes_it(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    hook = endpoint[0]
    receiver.default = 500
    publish(events=[event(device_pair[0], data=n) for n in range(webhooks.CIRCUIT_THRESHOLD + 3)])
    webhooks.deliveries_dispatch()
    hook.refresh_from_db()
    sent = len(receiver.requests)
    assert sent == webhooks.CIRCUIT_THRESHOLD + 3  # one batch was in flight when it opened
    assert hook.circuit_state() == "open" and hook.consecutive_failures == sent

    # While open, due deliveries wait: nothing is sent.
    make_due(*Delivery.objects.all())
    assert webhooks.deliveries_dispatch() == 0
    assert len(receiver.requests) == sent

    # The cool-down is over: exactly one probe goes, even though all are due. It fails: open again.
    WebhookEndpoint.objects.filter(pk=hook.pk).update(circuit_open_until=timezone.now() - timedelta(seconds=1))
    hook.refresh_from_db()
    assert hook.circuit_state() == "half_open"
    assert webhooks.deliveries_dispatch() == 1
    hook.refresh_from_db()
    assert hook.circuit_state() == "open"
    assert DeliveryAttempt.objects.filter(trigger="probe").count() == 1

    # Next probe succeeds: the circuit closes and everything waiting goes out.
    receiver.default = 200
    WebhookEndpoint.objects.filter(pk=hook.pk).update(circuit_open_until=timezone.now() - timedelta(seconds=1))
    make_due(*Delivery.objects.all())
    assert webhooks.deliveries_dispatch() == 1  # the probe alone
    hook.refresh_from_db()
    assert hook.circuit_state() == "closed" and hook.consecutive_failures == 0
    webhooks.deliveries_dispatch()
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}


def test_a_delivery_whose_dispatcher_died_is_sent_again_after_its_lease(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    publish(events=[event(device_pair[0])])
    # A dispatcher claims it, and dies before sending or recording anything.
    (job,) = webhooks._claim(limit=10)
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SENDING and delivery.lease_until is not None

    # While the lease holds nobody else touches it: never two attempts at once.
    assert webhooks.deliveries_dispatch() == 0
    assert receiver.requests == []

    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert webhooks.deliveries_dispatch() == 1
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempts == 2
    (attempt,) = delivery.attempt_log.all()
    assert attempt.trigger == "recovered"
    (request,) = receiver.wait_for(1)
    Webhook(endpoint[1]).verify(request.body, request.headers)

    # The dead dispatcher's late result cannot overwrite what happened since (its lease token is stale).
    webhooks._record([webhooks._Outcome(job=job, started_at=timezone.now(), status=500, error="HTTP 500")])
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED and delivery.attempt_log.count() == 1


def test_a_revoked_grant_cancels_pending_device_deliveries_and_grant_revoked_is_delivered(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    lamp = device_pair[0]
    publish(events=[event(lamp)])
    app_services.grant_revoke(actor=grant.person, grant=grant)  # enqueues grant.revoked in its transaction
    webhooks.deliveries_dispatch()

    (request,) = receiver.wait_for(1)
    payload = Webhook(endpoint[1]).verify(request.body, request.headers)
    assert payload["type"] == "grant.revoked" and payload["data"]["grant"] == grant.pk
    assert payload["data"]["devices"] == [lamp.pk]
    device_delivery = Delivery.objects.get(event_type="device.event")
    assert device_delivery.state == DeliveryState.CANCELLED and "revoked" in device_delivery.cancel_reason

    publish(events=[event(lamp)], presence={lamp.pk: False})
    assert Delivery.objects.filter(event_type__startswith="device.").count() == 1  # nothing new
    webhooks.deliveries_dispatch()
    assert len(receiver.wait_for(2, timeout=0.5)) == 1


def test_a_disabled_endpoint_gets_nothing(
    maker: User, grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver,
    device_pair: tuple[Device, Device],
) -> None:
    publish(events=[event(device_pair[0])])
    webhooks.webhook_endpoint_update(actor=maker, endpoint=endpoint[0], enabled=False)
    assert Delivery.objects.get().state == DeliveryState.CANCELLED  # at once, not only when it comes due
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    assert receiver.requests == []
    assert list(Delivery.objects.values_list("state", flat=True)) == [DeliveryState.CANCELLED]


def test_replay_sends_the_same_message_again(
    maker: User, grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver,
    device_pair: tuple[Device, Device],
) -> None:
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    delivery = Delivery.objects.get()
    webhooks.delivery_replay(actor=maker, delivery=delivery)
    webhooks.deliveries_dispatch()
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    assert first.body == second.body
    Webhook(endpoint[1]).verify(second.body, second.headers)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert list(delivery.attempt_log.values_list("trigger", flat=True)) == ["first", "replay"]


def test_after_rotation_both_secrets_sign_for_a_day(
    maker: User, grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver,
    device_pair: tuple[Device, Device],
) -> None:
    hook, old = endpoint
    new = webhooks.webhook_endpoint_rotate_secret(actor=maker, endpoint=hook)
    assert new != old and new.startswith("whsec_")
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    (request,) = receiver.wait_for(1)
    Webhook(new).verify(request.body, request.headers)
    Webhook(old).verify(request.body, request.headers)
    assert len(request.headers["webhook-signature"].split(" ")) == 2

    WebhookEndpoint.objects.filter(pk=hook.pk).update(previous_secret_until=timezone.now())
    publish(events=[event(device_pair[0])])
    webhooks.deliveries_dispatch()
    later = receiver.wait_for(2)[1]
    Webhook(new).verify(later.body, later.headers)
    from standardwebhooks.webhooks import WebhookVerificationError

    with pytest.raises(WebhookVerificationError):
        Webhook(old).verify(later.body, later.headers)


def test_the_secret_is_stored_encrypted(endpoint: tuple[WebhookEndpoint, str]) -> None:
    hook, secret = endpoint
    stored = WebhookEndpoint.objects.values_list("secret_encrypted", flat=True).get(pk=hook.pk)
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert webhooks.secret_open(stored) == secret


def test_finished_deliveries_older_than_thirty_days_are_deleted_with_their_attempts(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    publish(events=[event(device_pair[0]), event(device_pair[0])])
    webhooks.deliveries_dispatch()
    old, recent = Delivery.objects.order_by("id")
    Delivery.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=31))
    publish(events=[event(device_pair[0])])  # pending: kept whatever its age
    Delivery.objects.filter(state=DeliveryState.PENDING).update(created_at=timezone.now() - timedelta(days=40))

    assert webhooks.deliveries_expire() == 1
    assert not Delivery.objects.filter(pk=old.pk).exists()
    assert not DeliveryAttempt.objects.filter(delivery_id=old.pk).exists()
    assert Delivery.objects.count() == 2 and recent.attempt_log.count() == 1


def test_the_periodic_sweep_dispatches_now_and_every_five_seconds_of_the_minute(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    from huey.contrib.djhuey import HUEY

    from makercloud.developers import jobs

    publish(events=[event(device_pair[0])])  # written, but its nudge was lost (never committed here)
    HUEY.storage.flush_schedule()
    jobs.webhooks_sweep()
    assert Delivery.objects.get().state == DeliveryState.SUCCEEDED  # the sweep's first dispatch (huey runs inline)
    delays = sorted(round((task.eta - timezone.now().replace(tzinfo=None)).total_seconds())
                    for task in HUEY.scheduled())
    HUEY.storage.flush_schedule()
    assert len(delays) == 11 and all(abs(d - want) <= 1 for d, want in zip(delays, range(5, 60, 5), strict=True))
