"""The broker holds each device to its own topics: tried for real, with paho-mqtt, on amqtt and on Mosquitto."""

import time
from collections.abc import Callable
from typing import Any

import pytest

from makercloud.gateway.tests.conftest import Broker, Fleet, client, device_client, service_client, wait_for


@pytest.fixture(params=["amqtt", "mosquitto"])
def broker_for(request: pytest.FixtureRequest) -> Callable[[], Broker]:
    """Start the broker once the test has made its devices (Mosquitto reads them from its files)."""
    if request.param == "amqtt":
        return lambda: request.getfixturevalue("amqtt_broker")
    start = request.getfixturevalue("start_mosquitto")
    return lambda: start()


def _collect(c: Any) -> list[tuple[str, bytes]]:
    received: list[tuple[str, bytes]] = []
    c.on_message = lambda _c, _u, message: received.append((message.topic, message.payload))
    return received


def _subscribe(c: Any, topics: list[str]) -> list[Any]:
    granted: list[Any] = []
    c.on_subscribe = lambda _c, _u, _mid, codes, _p: granted.extend(codes)
    c.subscribe([(topic, 1) for topic in topics])
    assert wait_for(lambda: len(granted) == len(topics), timeout=5), "no SUBACK"
    return granted


def test_a_device_cannot_publish_to_another_devices_topics(fleet: Fleet, broker_for: Callable[[], Broker]) -> None:
    a, _ = fleet.device()
    b, _ = fleet.device()
    broker = broker_for()
    platform = service_client(broker)
    seen = _collect(platform)
    _subscribe(platform, ["devices/#"])
    device_a = device_client(broker, fleet, a)

    for topic in (f"devices/{b.id}/telemetry", f"devices/{b.id}/reported", f"devices/{b.id}/events/alarm",
                  f"devices/{b.id}/actions/reply", f"devices/{a.id}/desired", f"devices/{a.id}/actions/invoke"):
        device_a.publish(topic, b'{"values": {"on": true}}', qos=1).wait_for_publish(5)
    device_a.publish(f"devices/{a.id}/telemetry", b'{"values": {"on": true}}', qos=1).wait_for_publish(5)

    assert wait_for(lambda: any(t == f"devices/{a.id}/telemetry" for t, _ in seen), timeout=5)
    time.sleep(0.3)
    assert [t for t, _ in seen] == [f"devices/{a.id}/telemetry"]
    device_a.loop_stop()
    platform.loop_stop()


def test_a_device_cannot_subscribe_to_another_devices_topics(fleet: Fleet, broker_for: Callable[[], Broker]) -> None:
    a, _ = fleet.device()
    b, _ = fleet.device()
    broker = broker_for()
    device_a = device_client(broker, fleet, a)
    heard = _collect(device_a)
    granted = _subscribe(device_a, [f"devices/{b.id}/desired", f"devices/{b.id}/actions/invoke", "devices/#",
                                    f"devices/{a.id}/desired"])
    assert granted[-1].value == 1  # its own desired state: granted
    platform = service_client(broker)
    for topic in (f"devices/{b.id}/desired", f"devices/{b.id}/actions/invoke", f"devices/{b.id}/telemetry"):
        platform.publish(topic, b'{"version": 1, "state": {}}', qos=1).wait_for_publish(5)
    platform.publish(f"devices/{a.id}/desired", b'{"version": 2, "state": {}}', qos=1).wait_for_publish(5)

    assert wait_for(lambda: heard, timeout=5)
    time.sleep(0.3)
    assert heard == [(f"devices/{a.id}/desired", b'{"version": 2, "state": {}}')]
    device_a.loop_stop()
    platform.loop_stop()


def test_wrong_secrets_and_disabled_devices_are_refused(fleet: Fleet, broker_for: Callable[[], Broker]) -> None:
    a, secret_a = fleet.device()
    b, _ = fleet.device()
    off, secret_off = fleet.device(enabled=False)
    broker = broker_for()
    with pytest.raises(ConnectionRefusedError):
        client(broker.port, client_id=b.id, username=b.id, password=secret_a)
    with pytest.raises(ConnectionRefusedError):
        client(broker.port, client_id=off.id, username=off.id, password=secret_off)
    with pytest.raises(ConnectionRefusedError):
        client(broker.port, client_id="anyone", username="", password="")
    device_client(broker, fleet, a).loop_stop()  # and the right secret does get in
