"""Facts from the real gateway path: a real device publishes over a real Mosquitto broker, the gateway stores the
batch, the webhook rows commit with it, the commit nudges the dispatcher (huey runs inline in tests), and the local
receiver gets signed deliveries — for the granted device only."""

import json
from collections.abc import Callable
from typing import Any

import pytest
from standardwebhooks import Webhook

from makercloud.accounts.models import User
from makercloud.developers.models import App, Delivery, DeliveryState, Grant
from makercloud.developers.services import webhooks
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver
from makercloud.devices import services as devices_services
from makercloud.devices.models import DeviceModel
from makercloud.gateway.tests.conftest import client, dumps, publish_all, wait_for
from makercloud.gateway.tests.conftest import run_gateway as run_gateway  # a fixture
from makercloud.gateway.tests.conftest import start_mosquitto as start_mosquitto  # a fixture
from makercloud.ventures.models import Venture


@pytest.mark.usefixtures("committed_db")
def test_a_devices_event_through_the_gateway_reaches_the_apps_endpoint_signed(
    maker: User, venture: Venture, lamp_model: DeviceModel, app: App, make_grant: Callable[..., Grant],
    receiver: Receiver, request: pytest.FixtureRequest,
) -> None:
    start_mosquitto: Any = request.getfixturevalue("start_mosquitto")
    run_gateway: Any = request.getfixturevalue("run_gateway")
    lamp, lamp_secret, _ = devices_services.device_provision(actor=maker, organisation=venture.organisation,
                                                             model=lamp_model, name="Granted lamp")
    other, other_secret, _ = devices_services.device_provision(actor=maker, organisation=venture.organisation,
                                                               model=lamp_model, name="Other lamp")
    make_grant(app, [lamp])
    _endpoint, secret = webhooks.webhook_endpoint_create(
        actor=maker, app=app, url=receiver.url, event_types=["device.event", "device.reported"]
    )
    broker = start_mosquitto()
    run_gateway(broker.url)
    for device, device_secret in ((lamp, lamp_secret), (other, other_secret)):
        c = client(broker.port, client_id=device.pk, username=device.pk, password=device_secret)
        publish_all(c, [
            (f"devices/{device.pk}/events/overheated", dumps({"data": 88.5})),
            (f"devices/{device.pk}/reported", dumps({"state": {"on": True, "brightness": 40}})),
        ])
        c.loop_stop()
        c.disconnect()

    received = receiver.wait_for(2, timeout=15)
    payloads = [Webhook(secret).verify(r.body, r.headers) for r in received]
    assert sorted(p["type"] for p in payloads) == ["device.event", "device.reported"]
    assert {p["data"]["device_id"] for p in payloads} == {lamp.pk}
    event = next(p for p in payloads if p["type"] == "device.event")
    assert event["data"]["event"] == "overheated" and event["data"]["data"] == 88.5
    reported = next(p for p in payloads if p["type"] == "device.reported")
    assert reported["data"]["state"] == {"on": True, "brightness": 40}
    assert wait_for(lambda: set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SUCCEEDED})
    assert Delivery.objects.count() == 2
    assert not receiver.wait_for(3, timeout=0.5)[2:], "the other lamp's facts were delivered"
    assert all(json.loads(r.body)["data"]["device_id"] == lamp.pk for r in receiver.requests)
