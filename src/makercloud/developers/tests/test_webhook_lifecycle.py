"""The issue's "done when", for webhooks: an app registered, approved by the operator and authorised by a user for
one of two devices receives signed webhooks for that device only, and the moment the user revokes it gets
grant.revoked and nothing more. Committed transactions: the rows commit with the facts and the commit nudges the
dispatcher (huey runs inline in tests), as in production."""

import json
from collections.abc import Callable

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from standardwebhooks import Webhook

from makercloud.accounts.models import User
from makercloud.developers.models import Delivery, DeliveryState
from makercloud.developers.services import clients as app_services
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver
from makercloud.devices import services as devices_services
from makercloud.devices import signals
from makercloud.devices.models import Device, DeviceModel
from makercloud.ventures.models import Venture


def stored_facts(*devices: Device) -> None:
    """What the gateway does with a batch: store it and publish its facts in the same transaction."""
    with transaction.atomic():
        signals.facts_publish(signals.DeviceFacts(
            events=[signals.Event(d.pk, timezone.now(), "overheated", 90) for d in devices],
            presence={d.pk: True for d in devices}, at=timezone.now(),
        ))


@pytest.mark.usefixtures("committed_db")
def test_an_authorised_app_hears_its_one_device_until_the_user_revokes(
    maker: User, operator: User, owner: User, venture: Venture, lamp_model: DeviceModel, receiver: Receiver,
    client_for: Callable[[User], Client],
) -> None:
    granted, other = (devices_services.device_provision(actor=maker, organisation=venture.organisation,
                                                        model=lamp_model, name=f"Lamp {n}") for n in (1, 2))
    for _device, _secret, code in (granted, other):
        devices_services.device_claim(actor=owner, code=code)
    lamp, lamp2 = granted[0], other[0]

    app, _client_secret = app_services.app_register(
        actor=maker, venture=venture.organisation, name="Lamp watcher", client_type="confidential",
        redirect_uris=["https://watcher.example.com/callback"], scopes=["devices:read", "events:subscribe"],
    )
    app_services.app_submit(actor=maker, app=app)
    app_services.app_review(actor=operator, app=app, decision="approve")
    created = client_for(maker).post(
        f"/api/v1/apps/{app.pk}/webhooks",
        {"url": receiver.url, "event_types": ["device.event", "device.online", "grant.revoked"]},
        content_type="application/json",
    )
    assert created.status_code == 201
    secret = created.json()["secret"]
    grant = app_services.grant_consent(person=owner, app=app, scopes=["devices:read", "events:subscribe"],
                                       device_ids=[lamp.pk])

    stored_facts(lamp, lamp2)
    received = receiver.wait_for(2)
    payloads = [Webhook(secret).verify(r.body, r.headers) for r in received]
    assert sorted(p["type"] for p in payloads) == ["device.event", "device.online"]
    assert {p["data"]["device_id"] for p in payloads} == {lamp.pk}

    revoked = client_for(owner).post(f"/connected-apps/{grant.pk}/revoke")
    assert revoked.status_code == 302
    notice = receiver.wait_for(3)[2]
    payload = Webhook(secret).verify(notice.body, notice.headers)
    assert payload["type"] == "grant.revoked"
    assert payload["data"]["grant"] == grant.pk and payload["data"]["devices"] == [lamp.pk]

    stored_facts(lamp, lamp2)
    assert len(receiver.wait_for(4, timeout=1.0)) == 3, "device events went on after the grant was revoked"
    assert Delivery.objects.filter(event_type__startswith="device.").count() == 2
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED}
    assert all(json.loads(r.body).get("data", {}).get("device_id") in {lamp.pk, None} for r in receiver.requests)
