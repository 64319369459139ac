"""Invocation round trip: API → device (MQTT) → reply → gateway → database → API answer, with ?wait.

Starts `makercloud up` (embedded broker, gateway, SQLite) in a scratch data dir, provisions D devices, connects a
simulated device for each (one paho client per device) that answers every invocation at once, then runs C
concurrent callers, caller i invoking device i mod D, each doing N sequential
`POST /api/v1/devices/{id}/actions/blink?wait=5`. Prints p50/p90/p99 of the round trip and the throughput.

By default D = C: the gateway limits each device to 20 messages/s (burst 200), so one device answering a hundred
callers measures that limit (its replies are dropped as `rate-limited`), not the round trip.

    .venv/bin/python bench/invocations.py [--concurrency 100] [--requests 10] [--devices D]
    .venv/bin/python bench/invocations.py --postgres --mosquitto     # the scale-out stack, still one `up` process
"""

import argparse
import asyncio
import json
import statistics
import threading
import time
import uuid

import paho.mqtt.client as paho
from invocations_platform import POSTGRES, Http, Platform, load, percentile, setup


def simulated_device(port: int, device_id: str, secret: str) -> paho.Client:
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=device_id, protocol=paho.MQTTv311)
    client.username_pw_set(device_id, secret)
    ready = threading.Event()

    def on_connect(c: paho.Client, *args: object) -> None:
        c.subscribe(f"devices/{device_id}/actions/invoke", qos=1)

    def on_message(c: paho.Client, userdata: object, message: paho.MQTTMessage) -> None:
        request = json.loads(message.payload)
        reply = {"id": request["id"], "status": "ok", "output": {"done": True}}
        c.publish(f"devices/{device_id}/actions/reply", json.dumps(reply), qos=1)

    client.on_connect = on_connect
    client.on_subscribe = lambda *args: ready.set()
    client.on_message = on_message
    client.connect("127.0.0.1", port)
    client.loop_start()
    assert ready.wait(10), "the simulated device could not subscribe"
    return client


async def caller(port: int, token: str, device_id: str, count: int, latencies: list[float], statuses: list[str]
                 ) -> None:
    http = Http(port, token)
    for _ in range(count):
        started = time.perf_counter()
        status, body = await http.request("POST", f"/api/v1/devices/{device_id}/actions/blink?wait=5",
                                          {"input": {"times": 1}}, {"Idempotency-Key": uuid.uuid4().hex})
        latencies.append((time.perf_counter() - started) * 1000)
        statuses.append(body["status"] if status in (200, 201) else f"http {status}")


async def run(platform: Platform, concurrency: int, requests: int, devices: int) -> None:
    made = await setup(platform, devices)
    clients = [simulated_device(platform.mqtt_port, device_id, secret) for device_id, secret in made]
    try:
        warm: list[float] = []
        await caller(platform.port, platform.token, made[0][0], 20, warm, [])
        latencies: list[float] = []
        statuses: list[str] = []
        started = time.perf_counter()
        await asyncio.gather(*(caller(platform.port, platform.token, made[n % devices][0], requests, latencies,
                                      statuses) for n in range(concurrency)))
        took = time.perf_counter() - started
    finally:
        for client in clients:
            client.loop_stop()
            client.disconnect()
    ok = statuses.count("ok")
    stack = f"{'PostgreSQL' if platform.postgres else 'SQLite'}, {'Mosquitto' if platform.broker else 'amqtt'}"
    print(f"invocation round trip, {concurrency} concurrent callers x {requests} sequential, {devices} devices, "
          f"{stack}")
    print(f"  sequential (warm-up, 1 caller): p50 {statistics.median(warm):.1f} ms")
    print(f"  {len(latencies)} invocations in {took:.2f} s = {len(latencies) / took:.0f}/s; ok {ok}, "
          f"other {len(latencies) - ok}" + (f" ({', '.join(sorted(set(statuses) - {'ok'}))})" if ok < len(statuses)
                                            else ""))
    print(f"  p50 {percentile(latencies, 50):.1f} ms  p90 {percentile(latencies, 90):.1f} ms  "
          f"p99 {percentile(latencies, 99):.1f} ms  max {max(latencies):.1f} ms")
    print(f"  {load()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--devices", type=int, help="default: one per caller")
    parser.add_argument("--postgres", nargs="?", const=POSTGRES, help=f"a PostgreSQL server (default {POSTGRES})")
    parser.add_argument("--mosquitto", action="store_true", help="a Mosquitto instead of the embedded broker")
    args = parser.parse_args()
    platform = Platform(postgres=args.postgres, mosquitto=args.mosquitto)
    try:
        asyncio.run(run(platform, args.concurrency, args.requests, args.devices or args.concurrency))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
