"""Automation latency: a device publishes (an event, or telemetry crossing a threshold) → the gateway stores it and
the automation's run is created in the same transaction → the run is executed after commit → the invocation reaches
another device over MQTT. Prints p50/p90/p99 from the trigger's PUBLISH to the target's receipt of the invocation.

Starts `makercloud up` (embedded amqtt broker, in-process gateway, SQLite) in a scratch data dir, publishes a sensor
model (an event `pressed`, a number `temperature`) and the bench lamp model through the API, provisions a sensor and
a lamp, and creates two automations through the API: `pressed` → invoke `blink` on the lamp, and `temperature`
above 25 (hysteresis 2) → invoke `blink`. Then the sensor, a real paho client, publishes N events one at a time
(paced, under the gateway's 20 messages/s per device) and N telemetry readings alternating 20 and 30 (every 30 is a
crossing); the lamp, another paho client, notes when each invocation arrives. The per-automation rate cap is lifted
for the run (MAKERCLOUD_AUTOMATIONS_RATE_CAP) — it is the loop guard, not what is measured.

    .venv/bin/python bench/automations.py [--events 300] [--gap 0.08]
    .venv/bin/python bench/automations.py --postgres --mosquitto     # the scale-out stack, still one `up` process
"""

import argparse
import asyncio
import json
import os
import threading
import time

import paho.mqtt.client as paho
from invocations_platform import LAMP, POSTGRES, Http, Platform, load, percentile

SENSOR = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:bench:sensor", "title": "Bench sensor",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
    "properties": {"temperature": {"type": "number", "readOnly": True, "forms": [{"href": "x"}]}},
    "events": {"pressed": {"data": {"type": "integer"}, "forms": [{"href": "x"}]}},
}


class Device:
    """A paho client logged in as a device; the lamp notes when each invocation arrives."""

    def __init__(self, port: int, device_id: str, secret: str, *, listen: bool = False) -> None:
        self.device_id = device_id
        self.arrivals: list[float] = []
        self.arrived = threading.Condition()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=paho.MQTTv311)
        self.client.username_pw_set(device_id, secret)
        ready = threading.Event()
        if listen:
            self.client.on_connect = lambda c, *a: c.subscribe(f"devices/{device_id}/actions/invoke", qos=1)
            self.client.on_subscribe = lambda *a: ready.set()
            self.client.on_message = self._on_message
        else:
            self.client.on_connect = lambda *a: ready.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), f"{device_id} could not connect"

    def _on_message(self, client: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        with self.arrived:
            self.arrivals.append(time.perf_counter())
            self.arrived.notify_all()

    def wait(self, count: int, timeout: float = 10.0) -> bool:
        end = time.monotonic() + timeout
        with self.arrived:
            while len(self.arrivals) < count and time.monotonic() < end:
                self.arrived.wait(end - time.monotonic())
            return len(self.arrivals) >= count

    def publish(self, topic: str, payload: dict[str, object]) -> None:
        self.client.publish(f"devices/{self.device_id}/{topic}", json.dumps(payload), qos=1).wait_for_publish(5)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def setup(platform: Platform) -> tuple[tuple[str, str], tuple[str, str], Http]:
    http = Http(platform.port, platform.token)
    status, venture = await http.request("POST", "/api/v1/ventures",
                                         {"name": "Bench", "mission": "Measure.", "origin": "outside"})
    assert status == 201, venture
    made = []
    for document, name in ((SENSOR, "sensor"), (LAMP, "lamp")):
        status, model = await http.request("POST", f"/api/v1/ventures/{venture['id']}/device-models", document)
        assert status == 201, model
        status, device = await http.request("POST", f"/api/v1/ventures/{venture['id']}/devices",
                                            {"model": model["id"], "name": name})
        assert status == 201, device
        # automations use only the devices in one's home (docs/automations.md), so the bench's person claims them
        status, claimed = await http.request("POST", "/api/v1/devices/claim", {"code": device["claim_code"]})
        assert status == 200, claimed
        made.append((device["id"], device["secret"]))
    if platform.broker is not None:
        platform.mosquitto_sync()
    return made[0], made[1], http


async def automation(http: Http, trigger: dict[str, object], lamp: str) -> None:
    status, body = await http.request("POST", "/api/v1/automations", {
        "name": f"bench {trigger['kind']}", "trigger": trigger,
        "actions": [{"kind": "invoke", "device": lamp, "action": "blink", "input": {"times": 1}}],
    })
    assert status == 201, body


def measure(sensor: Device, lamp: Device, count: int, gap: float, message: object) -> list[float]:
    """Publish `count` triggers one at a time; each one's latency to the lamp's receipt (ms)."""
    latencies = []
    for n in range(count):
        expected = len(lamp.arrivals) + 1
        topic, payload, fires = message(n)  # type: ignore[operator]
        started = time.perf_counter()
        sensor.publish(topic, payload)
        if fires:
            if not lamp.wait(expected, timeout=10):
                print(f"  trigger {n}: no invocation within 10 s")
                continue
            latencies.append((lamp.arrivals[expected - 1] - started) * 1000)
        time.sleep(max(0.0, gap - (time.perf_counter() - started)))
    return latencies


def report(name: str, latencies: list[float], count: int) -> None:
    print(f"  {name}: {len(latencies)} of {count} triggers reached the lamp; p50 {percentile(latencies, 50):.1f} ms  "
          f"p90 {percentile(latencies, 90):.1f} ms  p99 {percentile(latencies, 99):.1f} ms  "
          f"max {max(latencies):.1f} ms")


async def run(platform: Platform, events: int, gap: float) -> None:
    (sensor_id, sensor_secret), (lamp_id, lamp_secret), _http = await setup(platform)
    http = Http(platform.port, platform.token)  # setup's connection may have idled out (Mosquitto's reload)
    await automation(http, {"kind": "event", "device": sensor_id, "event": "pressed"}, lamp_id)
    sensor = Device(platform.mqtt_port, sensor_id, sensor_secret)
    lamp = Device(platform.mqtt_port, lamp_id, lamp_secret, listen=True)
    try:
        measure(sensor, lamp, 10, gap, lambda n: ("events/pressed", {"data": n}, True))  # warm-up
        event_latencies = measure(sensor, lamp, events, gap, lambda n: ("events/pressed", {"data": n}, True))
        http = Http(platform.port, platform.token)  # the idle keep-alive connection was closed meanwhile
        _status, body = await http.request("GET", "/api/v1/automations")
        for item in body["items"]:
            await http.request("PATCH", f"/api/v1/automations/{item['id']}", {"enabled": False})
        await automation(http, {"kind": "threshold", "device": sensor_id, "property": "temperature",
                                "direction": "above", "threshold": 25, "hysteresis": 2}, lamp_id)
        time.sleep(6)  # the gateway's cache of which automations watch the sensor lives 5 s

        def reading(n: int) -> tuple[str, dict[str, object], bool]:
            hot = n % 2 == 1  # 20, 30, 20, 30, …: every 30 crosses 25 upwards, every 20 re-arms it (≤ 25 - 2)
            return "telemetry", {"values": {"temperature": 30 if hot else 20}}, hot

        threshold_latencies = measure(sensor, lamp, events * 2, gap, reading)
    finally:
        sensor.close()
        lamp.close()
    stack = f"{'PostgreSQL' if platform.postgres else 'SQLite'}, {'Mosquitto' if platform.broker else 'amqtt'}"
    print(f"automation latency, trigger PUBLISH → invocation at the target device, one at a time, {stack}")
    report("event trigger", event_latencies, events)
    report("threshold crossing (telemetry)", threshold_latencies, events)
    print(f"  {load()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=300, help="triggers of each kind")
    parser.add_argument("--gap", type=float, default=0.08, help="seconds between triggers (the gateway allows 20/s)")
    parser.add_argument("--postgres", nargs="?", const=POSTGRES, help=f"a PostgreSQL server (default {POSTGRES})")
    parser.add_argument("--mosquitto", action="store_true", help="a Mosquitto instead of the embedded broker")
    args = parser.parse_args()
    os.environ["MAKERCLOUD_AUTOMATIONS_RATE_CAP"] = "1000000"
    platform = Platform(postgres=args.postgres, mosquitto=args.mosquitto)
    try:
        asyncio.run(run(platform, args.events, args.gap))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
