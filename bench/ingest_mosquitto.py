"""Ingest throughput through Mosquitto into PostgreSQL, against the same broker's bare pass-through rate.

    .venv/bin/python bench/ingest_mosquitto.py --messages 200000 --devices 1000

One run, on one machine: a Mosquitto configured as for production (gateway/mosquitto.py), a load generator
process publishing QoS 1 telemetry (`{"ts", "values": {temperature, target, on}}`, 3 points a message) as the
service account as fast as the broker takes it, and then, in turn:

1. bare: a paho subscriber process that only counts (QoS 1, persistent session, auto-ack) — the ceiling;
2. gateway: `makercloud gateway` (validate, COPY into PostgreSQL, coalesced twin updates, ack after commit).

Rates are messages / (last message received or committed - first message published). Prints numbers; not a test.
"""

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105 - a throwaway bench
TOPICS = ("devices/+/telemetry", "devices/+/reported", "devices/+/events/+", "devices/+/actions/reply")


def _setup_django(database_url: str) -> None:
    os.environ.update(DATABASE_URL=database_url, MAKERCLOUD_SECRET_KEY=SECRET_KEY,
                      DJANGO_SETTINGS_MODULE="makercloud.config.settings.default")
    import django

    django.setup()


def _remaining_length(n: int) -> bytes:
    out = bytearray()
    while True:
        n, digit = divmod(n, 128)
        out.append(digit | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(2, "big") + data


def publish(port: int, count: int, devices: int, rate: float) -> None:
    """The load generator: `count` QoS 1 messages, round robin over the devices, at `rate` msg/s (0 = flat out).

    It writes MQTT 3.1.1 packets on a plain socket (the payloads prepared beforehand) and counts PUBACKs on a
    reader thread, so that the generator costs far less CPU than the gateway it measures; paho's per-message
    overhead made it the bottleneck on two cores.
    """
    import threading

    _setup_django(os.environ["DATABASE_URL"])
    from makercloud.core import mqtt

    username, password = mqtt.service_credentials()
    client_id = f"bench-pub-{os.getpid()}".encode()
    variable = b"\x00\x04MQTT\x04\xc2\x00\x3c"  # MQTT 3.1.1, username + password + clean session, keep-alive 60
    body = variable + _field(client_id) + _field(username.encode()) + _field(password.encode())
    sock = socket.create_connection(("127.0.0.1", port))
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.sendall(b"\x10" + _remaining_length(len(body)) + body)
    connack = sock.recv(4)
    assert connack[:1] == b"\x20" and connack[3:4] == b"\x00", f"CONNACK refused: {connack!r}"

    acked = 0
    done = threading.Event()

    def read_acks() -> None:
        nonlocal acked
        pending = b""
        while acked < count:
            chunk = sock.recv(65536)
            if not chunk:
                break
            pending += chunk
            whole = len(pending) // 4 * 4  # PUBACK is 4 bytes: 0x40 0x02 id id
            acked += whole // 4
            pending = pending[whole:]
        done.set()

    reader = threading.Thread(target=read_acks, daemon=True)
    reader.start()
    ids = [f"bench{n:06d}" for n in range(devices)]
    ts = "2026-01-01T00:00:00+00:00"
    templates = []
    for n in range(devices * 7):  # a few distinct payloads per device, prepared once
        topic = f"devices/{ids[n % devices]}/telemetry".encode()
        payload = json.dumps({"ts": ts, "values": {"temperature": 20 + (n % 200) / 10, "target": 21, "on": True}})
        size = 2 + len(topic) + 2 + len(payload)
        templates.append((b"\x32" + _remaining_length(size) + _field(topic), payload.encode()))
    burst = 200
    started = time.time()
    for first in range(0, count, burst):
        packets = []
        for n in range(first, min(first + burst, count)):
            head, payload = templates[n % len(templates)]
            packets.append(head + ((n % 65535) + 1).to_bytes(2, "big") + payload)
        sock.sendall(b"".join(packets))
        if rate:
            ahead = started + (first + burst) / rate - time.time()
            if ahead > 0:
                time.sleep(ahead)
        while first - acked > 20_000:  # keep the broker's queue for us bounded
            time.sleep(0.001)
    done_at = time.time()
    assert done.wait(600), f"only {acked} of {count} PUBACKs"
    sock.sendall(b"\xe0\x00")
    sock.close()
    print(json.dumps({"published_at": started, "done_at": done_at}), flush=True)


def subscribe(port: int, count: int, *, prime: bool) -> None:
    """The bare subscriber: counts messages and stores nothing. `prime`: only create its session, then leave."""
    _setup_django(os.environ["DATABASE_URL"])
    from makercloud.core import mqtt

    received = 0
    last = 0.0

    def on_message(_client: object, _userdata: object, _message: object) -> None:
        nonlocal received, last
        received += 1
        last = time.time()

    client = mqtt.service_client(client_id="bench-bare", clean_session=False)
    client.on_message = on_message
    subscribed = []
    client.on_connect = lambda c, *_: c.subscribe([(t, 1) for t in TOPICS])
    client.on_subscribe = lambda *_: subscribed.append(time.time())
    client.connect("127.0.0.1", port)
    client.loop_start()
    while not subscribed:
        time.sleep(0.01)
    print(json.dumps({"connected_at": subscribed[0]}), flush=True)
    if prime:
        client.disconnect()
        client.loop_stop()
        return
    while received < count:
        time.sleep(0.05)
    print(json.dumps({"received": received, "last_at": last}), flush=True)
    client.disconnect()
    client.loop_stop()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time a running process has used so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=200_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/makercloud_bench")
    parser.add_argument("--batch-size", type=int, default=2000)
    parser.add_argument("--backlog", action="store_true",
                        help="publish everything while the consumer is away, then time how fast it drains")
    parser.add_argument("--publishers", type=int, default=1, help="load generator processes")
    parser.add_argument("--rate", type=float, default=12_000,
                        help="offered load in msg/s over all publishers (0: as fast as the broker takes them)")
    parser.add_argument("--role", choices=["main", "publish", "subscribe", "prime"], default="main")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.role == "publish":
        return publish(args.port, args.messages, args.devices, args.rate)
    if args.role in ("subscribe", "prime"):
        return subscribe(args.port, args.messages, prime=args.role == "prime")

    import psycopg

    server, name = args.database_url.rsplit("/", 1)
    with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')
    _setup_django(args.database_url)
    from django.core.management import call_command
    from django.db import connection

    from makercloud.accounts.models import Organisation
    from makercloud.devices.models import Device, DeviceModel, TelemetryPoint
    from makercloud.gateway import mosquitto

    call_command("migrate", interactive=False, verbosity=0)
    form = [{"href": "mqtt://bench/x"}]
    document = {
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Bench thermostat",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": {"temperature": {"type": "number", "minimum": -20, "maximum": 60, "forms": form},
                       "target": {"type": "integer", "minimum": 5, "maximum": 30, "forms": form},
                       "on": {"type": "boolean", "forms": form}},
    }
    organisation, _ = Organisation.objects.get_or_create(slug="bench", defaults={"kind": "venture", "name": "Bench"})
    model, _ = DeviceModel.objects.get_or_create(
        organisation=organisation, key="bench", version=1,
        defaults={"title": "Bench", "document": document, "content_hash": "bench-2"},
    )
    if model.document != document:
        model.document, model.content_hash = document, "bench-2"
        model.save()
    Device.objects.bulk_create(
        [Device(id=f"bench{n:06d}", organisation=organisation, model=model, name=f"bench {n}", secret_hash="-")  # noqa: S106
         for n in range(args.devices)],
        ignore_conflicts=True,
    )

    directory = Path(tempfile.mkdtemp(prefix="makercloud-bench-mosquitto-"))
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    mosquitto.mosquitto_files_sync(directory=directory)
    (directory / "mosquitto.conf").write_text(
        mosquitto.mosquitto_conf(directory=directory, port=port, persistence=False, run_as=os.environ.get("USER")
                                 or "root")
    )
    broker = subprocess.Popen(["mosquitto", "-c", str(directory / "mosquitto.conf")], stderr=subprocess.DEVNULL)
    time.sleep(0.5)
    env = {**os.environ, "DATABASE_URL": args.database_url, "MAKERCLOUD_SECRET_KEY": SECRET_KEY,
           "MAKERCLOUD_MQTT_URL": f"mqtt://127.0.0.1:{port}"}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    me = [sys.executable, __file__, "--port", str(port), "--messages", str(args.messages), "--devices",
          str(args.devices)]

    share = args.messages // args.publishers
    me_share = [*me[:-4], "--messages", str(share), "--devices", str(args.devices),
                "--rate", str(args.rate / args.publishers)]
    total = share * args.publishers

    def run_publishers() -> dict[str, float]:
        runs = [subprocess.Popen([*me_share, "--role", "publish"], env=env, stdout=subprocess.PIPE, text=True)
                for _ in range(args.publishers)]
        results = [json.loads(run.communicate()[0].strip().splitlines()[-1]) for run in runs]
        return {"published_at": min(r["published_at"] for r in results),
                "done_at": max(r["done_at"] for r in results)}

    mode = "backlog drained after the publishers finished" if args.backlog else "live, publishers running"
    offered = f"offered {args.rate:.0f} msg/s" if args.rate else "offered as fast as possible"
    print(f"{total} messages from {args.publishers} publisher process(es), {args.devices} devices, 3 values each, "
          f"{offered}; {mode}; load average before: {_load()}")
    me = [*me[:-4], "--messages", str(total), "--devices", str(args.devices)]
    try:
        # 1. bare pass-through
        if args.backlog:
            subprocess.run([*me, "--role", "prime"], env=env, check=True, capture_output=True)
            sent = run_publishers()
        bare = subprocess.Popen([*me, "--role", "subscribe"], env=env, stdout=subprocess.PIPE, text=True)
        assert bare.stdout is not None
        connected = json.loads(bare.stdout.readline())["connected_at"]
        if not args.backlog:
            time.sleep(0.5)
            sent = run_publishers()
        result = json.loads(bare.stdout.readline())
        bare.wait()
        start = connected if args.backlog else sent["published_at"]
        bare_rate = total / (result["last_at"] - start)
        publish_rate = total / (sent["done_at"] - sent["published_at"])
        print(f"bare subscriber: {bare_rate:8.0f} msg/s   (publishers reached {publish_rate:.0f} msg/s)")

        # 2. the gateway into PostgreSQL
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE devices_telemetrypoint")
        def start_gateway() -> tuple[subprocess.Popen[bytes], float]:
            log = (directory / "gateway.log").open("ab")
            gateway = subprocess.Popen(
                [sys.executable, "-m", "makercloud.cli", "gateway", "--client-id", "bench-gw", "--rate-limit",
                 "1e9", "--burst", "1e9", "--batch-size", str(args.batch_size)],
                env=env, stdout=log, stderr=subprocess.STDOUT,
            )
            seen = (directory / "gateway.log").read_bytes().count(b"connected (session")
            while (directory / "gateway.log").read_bytes().count(b"connected (session") == seen:
                time.sleep(0.02)
            return gateway, time.time()

        gateway, connected = start_gateway()
        cpu_before = _cpu_seconds(gateway.pid)
        if args.backlog:
            gateway.terminate()
            gateway.wait()
            sent = run_publishers()
            gateway, connected = start_gateway()
            cpu_before = _cpu_seconds(gateway.pid)
        else:
            time.sleep(0.5)
            sent = run_publishers()
        target = total * 3
        while (stored := TelemetryPoint.objects.count()) < target:
            time.sleep(0.1)
        done = time.time()
        cpu = _cpu_seconds(gateway.pid) - cpu_before
        gateway_rate = total / (done - (connected if args.backlog else sent["published_at"]))
        publish_rate = total / (sent["done_at"] - sent["published_at"])
        print(f"gateway -> PostgreSQL: {gateway_rate:8.0f} msg/s ({stored} rows, {gateway_rate * 3:.0f} rows/s)"
              f"   (publishers reached {publish_rate:.0f} msg/s)")
        print(f"ratio gateway / bare: {gateway_rate / bare_rate:.2f}; load average after: {_load()}")
        print(f"gateway process CPU: {cpu:.1f} s for {total} messages = {total / cpu:.0f} msg per CPU-second "
              "(user + system, from its connection to the last commit; what one gateway could take on a free CPU)")
        gateway.terminate()
        gateway.wait(timeout=10)
        print("gateway's last counters:", (directory / "gateway.log").read_text().strip().splitlines()[-2][-300:])
    finally:
        broker.terminate()
        broker.wait()


if __name__ == "__main__":
    main()
