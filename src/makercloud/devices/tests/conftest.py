"""Fixtures of the device tests: a venture with a published lamp model, devices of it, and a real MQTT broker."""

import json
import socket
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest
from django.conf import settings
from django.test import Client

from makercloud.accounts.models import User
from makercloud.core import mqtt
from makercloud.devices import services
from makercloud.devices.models import Device, DeviceModel
from makercloud.ventures import services as ventures_services
from makercloud.ventures.models import Venture

LAMP: dict[str, Any] = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1",
    "id": "urn:makercloud:lamp",
    "title": "Smart lamp",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {
        "on": {"type": "boolean", "forms": [{"href": "mqtt://x/on"}]},
        "brightness": {"type": "integer", "minimum": 0, "maximum": 100, "unit": "%",
                       "forms": [{"href": "mqtt://x/brightness"}]},
        "temperature": {"type": "number", "readOnly": True, "unit": "°C", "forms": [{"href": "mqtt://x/t"}]},
        "scene": {"type": "object", "properties": {"name": {"type": "string", "maxLength": 20}},
                  "forms": [{"href": "mqtt://x/scene"}]},
    },
    "actions": {
        "blink": {
            "input": {"type": "object", "properties": {
                "times": {"type": "integer", "minimum": 1, "maximum": 10},
                "colour": {"type": "string", "enum": ["red", "green", "blue"]},
            }, "required": ["times"]},
            "output": {"type": "object"},
            "forms": [{"href": "mqtt://x/blink"}],
        },
        "reboot": {"forms": [{"href": "mqtt://x/reboot"}]},
    },
    "events": {"overheated": {"data": {"type": "number"}, "forms": [{"href": "mqtt://x/overheated"}]}},
}


def broker_reachable() -> bool:
    address = mqtt.broker_address()
    try:
        with socket.create_connection((address.host, address.port), timeout=1):
            return True
    except OSError:
        return False



@pytest.fixture
def venture(maker: User) -> Venture:
    return ventures_services.venture_found(actor=maker, name="Bright Home", mission="Lamps that listen.",
                                           origin="outside")


@pytest.fixture
def lamp_model(maker: User, venture: Venture) -> DeviceModel:
    model, _created = services.device_model_publish(actor=maker, organisation=venture.organisation, document=LAMP)
    return model


@pytest.fixture
def provisioned(maker: User, venture: Venture, lamp_model: DeviceModel) -> tuple[Device, str, str]:
    return services.device_provision(actor=maker, organisation=venture.organisation, model=lamp_model, name="Lamp 1")


@pytest.fixture
def device(provisioned: tuple[Device, str, str]) -> Device:
    return provisioned[0]


@pytest.fixture
def maker_client(maker: User, client_for: Callable[[User], Client]) -> Client:
    return client_for(maker)


@pytest.fixture
def broker() -> Iterator[None]:
    """The real MQTT broker of the test run (MAKERCLOUD_MQTT_URL, or Mosquitto on 127.0.0.1:1883)."""
    if not broker_reachable():
        pytest.fail(f"no MQTT broker at {settings.MQTT_URL or 'mqtt://127.0.0.1:1883'}: start Mosquitto")
    yield
    mqtt.publisher_close()


class Listener:
    """A paho client subscribed to some topics, collecting what arrives."""

    def __init__(self, *topics: str, client_id: str | None = None) -> None:
        self.messages: list[tuple[str, dict[str, Any], bool]] = []
        self.arrived = threading.Condition()
        self.client = mqtt.service_client(client_id=client_id or f"test-{uuid.uuid4().hex[:10]}")
        subscribed = threading.Event()
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *args: subscribed.set()
        address = mqtt.broker_address()
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        self.client.subscribe([(topic, 1) for topic in topics])
        assert subscribed.wait(5), "the broker did not confirm the subscription"

    def _on_message(self, client: Any, userdata: Any, message: paho.MQTTMessage) -> None:
        with self.arrived:
            self.messages.append((message.topic, json.loads(message.payload), bool(message.retain)))
            self.arrived.notify_all()

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[tuple[str, dict[str, Any], bool]]:
        end = time.monotonic() + timeout
        with self.arrived:
            while len(self.messages) < count and time.monotonic() < end:
                self.arrived.wait(end - time.monotonic())
            return list(self.messages)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def listen(broker: None) -> Iterator[Callable[..., Listener]]:
    listeners: list[Listener] = []

    def make(*topics: str) -> Listener:
        listener = Listener(*topics)
        listeners.append(listener)
        return listener

    yield make
    for listener in listeners:
        listener.close()
