"""An event of one venture's device, published over real MQTT, makes another venture's device receive an invocation.

The whole path is real: Mosquitto with the production configuration (device passwords and ACLs), the gateway
ingesting the event, the `device_facts` receiver creating the run in the gateway's transaction, the executor
invoking the action, and the device — a paho client logged in as itself — receiving it on its invoke topic.
"""

import json
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as paho
from django.test import Client

from makercloud.automations import services
from makercloud.automations.models import Run, RunStatus
from makercloud.automations.tests.conftest import Home
from makercloud.core import mqtt
from makercloud.devices.models import Invocation
from makercloud.gateway.tests.conftest import client, wait_for


def _device(broker: Any, device_id: str, secret: str, received: list[dict[str, Any]]) -> paho.Client:
    device = client(broker.port, client_id=device_id, username=device_id, password=secret)
    subscribed = threading.Event()
    device.on_subscribe = lambda *args: subscribed.set()
    device.on_message = lambda _c, _u, message: received.append(json.loads(message.payload))
    device.subscribe(f"devices/{device_id}/actions/invoke", qos=1)
    assert subscribed.wait(5)
    return device


def test_an_event_over_mqtt_invokes_an_action_on_a_device_of_another_venture(
    committed_db: None, home: Home, start_mosquitto: Callable[..., Any], run_gateway: Callable[..., Any],
    settings: Any, client_for: Callable[..., Client],
) -> None:
    automation = services.automation_create(
        actor=home.person, name="Alarm blinks the lamp",
        trigger={"kind": "event", "device": home.thermostat.pk, "event": "alarm", "match": 70},
        actions=[{"kind": "invoke", "device": home.lamp.pk, "action": "blink", "input": {"times": 2}}],
    )
    broker = start_mosquitto()
    settings.MQTT_URL = broker.url
    mqtt.publisher_close()
    try:
        run_gateway(broker.url)
        received: list[dict[str, Any]] = []
        lamp = _device(broker, home.lamp.pk, home.lamp_secret, received)
        thermostat = client(broker.port, client_id=home.thermostat.pk, username=home.thermostat.pk,
                            password=home.thermostat_secret)
        topic = f"devices/{home.thermostat.pk}/events/alarm"
        thermostat.publish(topic, json.dumps({"data": 50}), qos=1).wait_for_publish(5)  # does not match
        thermostat.publish(topic, json.dumps({"data": 70}), qos=1).wait_for_publish(5)

        assert wait_for(lambda: received, timeout=10), "the lamp received no invocation"
        assert wait_for(lambda: Run.objects.filter(automation=automation, status=RunStatus.DONE).exists())
        run = Run.objects.get(automation=automation)
        assert run.cause["event"] == "alarm" and run.cause["data"] == 70
        invocation = Invocation.objects.get(device=home.lamp)
        assert received == [{"id": str(invocation.pk), "action": "blink", "input": {"times": 2}}]
        assert run.log == [{"index": 0, "kind": "invoke", "device": home.lamp.pk, "outcome": "ok",
                            "invocation": str(invocation.pk), "sent": True}]

        # the lamp answers, over MQTT, and the run log page shows the invocation done
        lamp.publish(f"devices/{home.lamp.pk}/actions/reply",
                     json.dumps({"id": str(invocation.pk), "status": "ok", "output": {}}), qos=1).wait_for_publish(5)
        assert wait_for(lambda: Invocation.objects.get(pk=invocation.pk).status == "ok")
        page = client_for(home.person).get(f"/automations/{automation.pk}/")
        assert page.status_code == 200
        assert str(invocation.pk)[:8] in page.content.decode() and "Alarm blinks the lamp" in page.content.decode()
        lamp.loop_stop()
        thermostat.loop_stop()
        assert Run.objects.filter(automation=automation).count() == 1
    finally:
        mqtt.publisher_close()
