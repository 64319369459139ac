"""Invocation round trip: API → device (MQTT) → reply → gateway → database → API answer, with ?wait.

Starts `makercloud up` (embedded broker, gateway, SQLite) in a scratch data dir, provisions one device, connects a
simulated device that answers every invocation at once, then runs C concurrent callers, each doing N sequential
`POST /api/v1/devices/{id}/actions/blink?wait=5`. Prints p50/p90/p99 of the round trip and the throughput.

    .venv/bin/python bench/invocations.py [--concurrency 100] [--requests 10]
"""

import argparse
import asyncio
import json
import statistics
import threading
import time
import uuid

import paho.mqtt.client as paho
from invocations_platform import Http, Platform, load, percentile, setup


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


async def run(platform: Platform, concurrency: int, requests: int) -> None:
    device_id, secret = await setup(platform)
    device = simulated_device(platform.mqtt_port, device_id, secret)
    try:
        warm: list[float] = []
        await caller(platform.port, platform.token, device_id, 20, warm, [])
        latencies: list[float] = []
        statuses: list[str] = []
        started = time.perf_counter()
        await asyncio.gather(*(caller(platform.port, platform.token, device_id, requests, latencies, statuses)
                               for _ in range(concurrency)))
        took = time.perf_counter() - started
    finally:
        device.loop_stop()
        device.disconnect()
    ok = statuses.count("ok")
    print(f"invocation round trip, {concurrency} concurrent callers x {requests} sequential, one device")
    print(f"  sequential (warm-up, 1 caller): p50 {statistics.median(warm):.1f} ms")
    print(f"  {len(latencies)} invocations in {took:.2f} s = {len(latencies) / took:.0f}/s; ok {ok}, "
          f"other {len(latencies) - ok}")
    print(f"  p50 {percentile(latencies, 50):.1f} ms  p90 {percentile(latencies, 90):.1f} ms  "
          f"p99 {percentile(latencies, 99):.1f} ms  max {max(latencies):.1f} ms")
    print(f"  {load()}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--requests", type=int, default=10)
    parser.add_argument("--nodelay", action="store_true", help="TCP_NODELAY on the web socket (see the docs)")
    args = parser.parse_args()
    platform = Platform(nodelay=args.nodelay)
    try:
        asyncio.run(run(platform, args.concurrency, args.requests))
    finally:
        platform.stop()


if __name__ == "__main__":
    main()
