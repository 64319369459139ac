"""`makercloud simulate`: virtual devices that follow their model, keep their twin, answer, and come back."""

import asyncio
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest

from makercloud.accounts.models import User
from makercloud.core import mqtt
from makercloud.devices import services
from makercloud.devices.models import Device, DeviceEvent, DeviceModel, Invocation, TelemetryPoint
from makercloud.gateway import simulator
from makercloud.gateway.tests.conftest import THERMOSTAT, Broker, wait_for
from makercloud.ventures import services as ventures_services


@pytest.fixture
def thermostat_model(maker: User) -> DeviceModel:
    venture = ventures_services.venture_found(actor=maker, name="Warm Homes", mission="Warmth.", origin="outside")
    model, _created = services.device_model_publish(actor=maker, organisation=venture.organisation,
                                                    document=THERMOSTAT)
    return model


@pytest.fixture
def broker(start_mosquitto: Any, settings: Any) -> Iterator[Broker]:
    broker = start_mosquitto()
    settings.MQTT_URL = broker.url  # where the devices services publish desired state and invocations
    mqtt.publisher_close()
    yield broker
    mqtt.publisher_close()


def _run_fleet(devices: list[tuple[str, str]], document: dict[str, Any], url: str) -> tuple[Any, Any]:
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def main() -> None:
        await simulator.fleet_run(devices=devices, document=document, rate=5.0, url=url, stop=stop,
                                  say=lambda _line: None, report_every=1)

    thread = threading.Thread(target=loop.run_until_complete, args=(main(),), daemon=True)
    thread.start()
    return loop, lambda: (loop.call_soon_threadsafe(stop.set), thread.join(timeout=10))


@pytest.mark.usefixtures("committed_db")  # first: the gateway's threads must see what the test writes
def test_virtual_devices_follow_their_model_and_their_twin(
    thermostat_model: DeviceModel, broker: Broker, run_gateway: Any, maker: User
) -> None:
    devices = simulator.fleet_provision(model=thermostat_model, count=5)
    assert Device.objects.filter(sandbox=True, model=thermostat_model).count() == 5
    broker.reload()  # Mosquitto learns their passwords
    run_gateway(broker.url)
    _loop, stop = _run_fleet(devices, thermostat_model.document, broker.url)
    try:
        ids = [device_id for device_id, _secret in devices]
        assert wait_for(lambda: set(TelemetryPoint.objects.values_list("device_id", flat=True)) == set(ids),
                        timeout=15), "not every virtual device reported telemetry"
        for name, low, high in (("temperature", -20, 60), ("target", 5, 30), ("n", 0, 1e9)):
            numbers = list(TelemetryPoint.objects.filter(name=name).values_list("number", flat=True))
            assert numbers and all(low <= n <= high for n in numbers), name
        assert set(TelemetryPoint.objects.filter(name="mode").values_list("value", flat=True)) <= {"off", "heat",
                                                                                                   "eco"}
        # desired -> applied -> reported
        device = Device.objects.get(id=ids[0])
        services.device_set_desired(actor=maker, device=device, state={"target": 25})
        assert wait_for(lambda: Device.objects.get(id=ids[0]).reported.get("target") == 25, timeout=10)
        # an invocation is answered with output that fits the action
        invocation, _ = services.invocation_request(actor=maker, device=device, action="reboot")
        assert wait_for(lambda: Invocation.objects.get(id=invocation.id).status == "ok", timeout=10)
        assert isinstance(Invocation.objects.get(id=invocation.id).output.get("uptime"), int)
        # the work the action started ends with one of the model's events, with data that fits it
        assert wait_for(lambda: DeviceEvent.objects.filter(device_id=ids[0], name="alarm").exists(), timeout=20)
        assert isinstance(DeviceEvent.objects.get(device_id=ids[0], name="alarm").data, int | float)
        # the broker restarts: everyone comes back and carries on
        broker.restart()
        restarted = time.time()
        time.sleep(0.5)
        from django.utils import timezone

        since = timezone.now()
        assert wait_for(
            lambda: set(TelemetryPoint.objects.filter(ts__gt=since).values_list("device_id", flat=True)) == set(ids),
            timeout=30,
        ), f"not every virtual device came back within 30 s of the restart at {restarted}"
    finally:
        stop()
