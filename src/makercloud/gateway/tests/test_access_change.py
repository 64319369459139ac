"""Disabling a device or rotating its secret ends its live MQTT session at once, on amqtt and on Mosquitto.

End to end: the device services announce the change after commit (`devices/{id}/access`), the embedded broker closes
the session itself, and for Mosquitto the gateway rewrites the broker's files and makes it reload them. Devices are
real paho clients; nothing is mocked.
"""

import time
from collections.abc import Callable, Iterator
from typing import Any

import paho.mqtt.client as paho
import pytest

from makercloud.accounts.models import User
from makercloud.core import mqtt
from makercloud.devices import services
from makercloud.devices.models import Device, DeviceModel, TelemetryPoint
from makercloud.gateway.models import Rejection
from makercloud.gateway.tests.conftest import THERMOSTAT, Broker, client, dumps, wait_for
from makercloud.gateway.worker import Gateway
from makercloud.ventures import services as ventures_services


@pytest.fixture
def thermostat_model(maker: User) -> DeviceModel:
    venture = ventures_services.venture_found(actor=maker, name="Warm Homes", mission="Warmth.", origin="outside")
    model, _created = services.device_model_publish(actor=maker, organisation=venture.organisation,
                                                    document=THERMOSTAT)
    return model


@pytest.fixture(params=["amqtt", "mosquitto"])
def broker_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def start_broker(broker_kind: str, request: pytest.FixtureRequest, settings: Any) -> Iterator[Callable[[], Broker]]:
    """Start the broker once the test has made its devices (Mosquitto reads them from its files), and point the
    device services' publisher at it."""

    def start() -> Broker:
        if broker_kind == "amqtt":
            broker: Broker = request.getfixturevalue("amqtt_broker")
        else:
            broker = request.getfixturevalue("start_mosquitto")()
        settings.MQTT_URL = broker.url
        mqtt.publisher_close()
        return broker

    yield start
    mqtt.publisher_close()


def _gateway(run_gateway: Callable[..., Gateway], broker: Broker, kind: str) -> Gateway:
    """The gateway as each deployment runs it: presence from the embedded broker; Mosquitto's files kept."""
    if kind == "amqtt":
        return run_gateway(broker.url, presence="broker")
    return run_gateway(broker.url, mosquitto_dir=broker.directory, mosquitto_pid=broker.pid_file)


class Watched:
    """A device's paho client that records when the broker drops it."""

    def __init__(self, broker: Broker, device_id: str, secret: str) -> None:
        self.dropped = False
        self.client = client(broker.port, client_id=device_id, username=device_id, password=secret)
        self.client.on_disconnect = self._on_disconnect
        self.client.reconnect_delay_set(min_delay=60, max_delay=60)  # no retries within a test: new clients do
        self.topic = f"devices/{device_id}/telemetry"

    def _on_disconnect(self, *args: Any) -> None:
        self.dropped = True

    def send(self, temperature: float) -> paho.MQTTMessageInfo:
        return self.client.publish(self.topic, dumps({"values": {"temperature": temperature}}), qos=1)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _stored(device: Device) -> list[float]:
    return sorted(TelemetryPoint.objects.filter(device=device, name="temperature").values_list("number", flat=True))


def _connects(broker: Broker, device_id: str, secret: str) -> bool:
    try:
        client(broker.port, client_id=device_id, username=device_id, password=secret).loop_stop()
    except ConnectionRefusedError:
        return False
    return True


@pytest.mark.usefixtures("committed_db")  # first: the gateway's threads must see what the test writes
def test_disabling_a_device_ends_its_session_and_enabling_it_lets_it_back(
    thermostat_model: DeviceModel, maker: User, start_broker: Callable[[], Broker], broker_kind: str,
    run_gateway: Callable[..., Gateway],
) -> None:
    device, secret, _claim = services.device_provision(actor=maker, organisation=thermostat_model.organisation,
                                                       model=thermostat_model, name="Hall thermostat")
    broker = start_broker()
    gateway = _gateway(run_gateway, broker, broker_kind)
    thermostat = Watched(broker, device.id, secret)
    thermostat.send(20).wait_for_publish(5)
    assert wait_for(lambda: _stored(device) == [20.0]), "the enabled device's telemetry was not stored"

    services.device_set_enabled(actor=maker, device=device, enabled=False)

    assert wait_for(lambda: thermostat.dropped, timeout=5), "the disabled device is still connected"
    thermostat.send(21)  # it cannot get through any more
    thermostat.stop()
    assert not _connects(broker, device.id, secret), "the disabled device logged in again"
    if broker_kind == "amqtt":  # exact presence: the device's owner sees it go offline
        assert wait_for(lambda: not Device.objects.get(id=device.id).online, timeout=5)
    time.sleep(0.3)
    assert _stored(device) == [20.0]

    services.device_set_enabled(actor=maker, device=device, enabled=True)

    assert wait_for(lambda: _connects(broker, device.id, secret), timeout=5, every=0.2), "not let back in"
    again = Watched(broker, device.id, secret)
    again.send(22).wait_for_publish(5)
    assert wait_for(lambda: _stored(device) == [20.0, 22.0]), "the re-enabled device's telemetry was not stored"
    again.stop()
    assert gateway.counters["access_changes"] == 2


@pytest.mark.usefixtures("committed_db")
def test_a_new_secret_ends_the_session_opened_with_the_old_one(
    thermostat_model: DeviceModel, maker: User, start_broker: Callable[[], Broker], broker_kind: str,
    run_gateway: Callable[..., Gateway],
) -> None:
    device, old_secret, _claim = services.device_provision(actor=maker, organisation=thermostat_model.organisation,
                                                           model=thermostat_model, name="Hall thermostat")
    bystander, bystander_secret, _claim = services.device_provision(
        actor=maker, organisation=thermostat_model.organisation, model=thermostat_model, name="Porch thermostat")
    broker = start_broker()
    _gateway(run_gateway, broker, broker_kind)
    thermostat = Watched(broker, device.id, old_secret)
    neighbour = Watched(broker, bystander.id, bystander_secret)

    new_secret = services.device_rotate_secret(actor=maker, device=device)

    assert wait_for(lambda: thermostat.dropped, timeout=5), "the session opened with the old secret is still open"
    thermostat.stop()
    assert not _connects(broker, device.id, old_secret), "the old secret still logs in"
    assert wait_for(lambda: _connects(broker, device.id, new_secret), timeout=5, every=0.2), "the new one does not"
    neighbour.send(19).wait_for_publish(5)  # and another device's session was left alone
    assert not neighbour.dropped
    assert wait_for(lambda: _stored(bystander) == [19.0])
    neighbour.stop()


@pytest.mark.usefixtures("committed_db")
def test_a_disabled_devices_messages_are_refused_at_once_even_on_a_session_the_broker_keeps(
    thermostat_model: DeviceModel, maker: User, start_mosquitto: Callable[..., Broker], settings: Any,
    run_gateway: Callable[..., Gateway],
) -> None:
    """A gateway that does not keep Mosquitto's files cannot end the session; it still refuses the device's next
    message (rather than going on with its cached 'enabled' for up to 30 s), and the owner sees it counted."""
    device, secret, _claim = services.device_provision(actor=maker, organisation=thermostat_model.organisation,
                                                       model=thermostat_model, name="Hall thermostat")
    broker = start_mosquitto()
    settings.MQTT_URL = broker.url
    mqtt.publisher_close()
    gateway = run_gateway(broker.url)
    thermostat = Watched(broker, device.id, secret)
    thermostat.send(20).wait_for_publish(5)
    assert wait_for(lambda: _stored(device) == [20.0])

    services.device_set_enabled(actor=maker, device=device, enabled=False)
    thermostat.send(21).wait_for_publish(5)
    thermostat.send(22).wait_for_publish(5)

    assert wait_for(lambda: gateway.counters["rejected.disabled"] == 2), gateway.counters
    thermostat.stop()
    mqtt.publisher_close()
    assert Rejection.objects.get(device=device, reason="disabled").count == 2
    assert _stored(device) == [20.0]
