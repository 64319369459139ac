"""A device model with a catastrophic regular expression cannot pin the gateway: the payload is checked in linear
time and the near-miss is a counted rejection, the match is stored (real Mosquitto, real gateway)."""

from typing import Any

from makercloud.devices import td
from makercloud.devices.models import DeviceModel, TelemetryPoint
from makercloud.gateway.models import Rejection
from makercloud.gateway.tests.conftest import THERMOSTAT, Fleet, device_client, dumps, publish_all, wait_for

HOSTILE = "^(a+)+$"


def test_a_hostile_pattern_costs_one_rejection_not_the_gateway(fleet: Fleet, start_mosquitto: Any,
                                                               run_gateway: Any) -> None:
    document = {**THERMOSTAT, "properties": {
        **THERMOSTAT["properties"],
        "code": {"type": "string", "pattern": HOSTILE, "forms": [{"href": "mqtt://x/code"}]},
    }}
    fleet.model = DeviceModel.objects.create(
        organisation=fleet.organisation, key="keypad", version=1, title="Keypad", document=document,
        content_hash=td.content_hash(document),
    )
    device, _ = fleet.device()
    broker = start_mosquitto()
    gateway = run_gateway(broker.url)
    keypad = device_client(broker, fleet, device)
    telemetry = f"devices/{device.id}/telemetry"
    publish_all(keypad, [
        (telemetry, dumps({"values": {"code": "a" * 50 + "!"}})),
        (telemetry, dumps({"values": {"code": "a" * 50}})),
        (telemetry, dumps({"values": {"code": "a" * 20000 + "!"}})),
        (telemetry, dumps({"values": {"temperature": 21}})),
    ])
    assert wait_for(lambda: gateway.counters["received"] >= 4, timeout=20), gateway.counters
    keypad.loop_stop()

    assert Rejection.objects.get(device=device, reason="invalid-value").count == 2
    assert "does not match" in Rejection.objects.get(device=device, reason="invalid-value").last_detail
    stored = TelemetryPoint.objects.filter(device=device).order_by("name").values_list("name", "value")
    assert list(stored) == [("code", "a" * 50), ("temperature", 21)]
    assert gateway.counters["accepted"] == 2 and gateway.counters["rejected.invalid-value"] == 2
