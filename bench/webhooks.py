"""Webhook fan-out: 1,000 device events to 10 subscribed apps on a local receiver — deliveries per second and the
latency from event to delivery (p50, p99).

    .venv/bin/python bench/webhooks.py                                  # SQLite in a scratch data dir
    .venv/bin/python bench/webhooks.py --postgres postgres://postgres@127.0.0.1:5432
    .venv/bin/python bench/webhooks.py --events 1000 --apps 10 --batch 100 --rate 0 --dispatchers 2

The world: one venture, `--devices` lamps, `--apps` approved apps each granted every lamp with events:subscribe and
one endpoint subscribed to device.event on the receiver. Events are stored as the gateway stores them: batches of
`--batch` events, each batch one transaction that publishes `device_facts` (the webhook receiver writes the
deliveries in it), paced at `--rate` events/s (0: as fast as they commit). Each commit nudges the dispatchers as the
job queue would (`--dispatchers` threads stand in for the worker's threads; they also poll every 50 ms, like a fast
sweep). The receiver is a separate process: an asyncio HTTP/1.1 server answering 200 to every POST and verifying
every 50th signature with `standardwebhooks`. Latency = the receiver's clock at arrival - the event's timestamp.
Prints numbers; not a test.
"""

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import os
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105 - a throwaway bench
PASSWORD = "correct-horse-battery-staple"  # noqa: S105 - the bench's throwaway people


# The receiver (its own process) -------------------------------------------------------------------------------


def receive(port_pipe: Any, expected: int, secrets: dict[str, str], out_path: str, timeout: float) -> None:
    """Serve until `expected` deliveries arrived (or `timeout`), then write [(arrival, event ts, webhook-id)]."""
    from datetime import datetime

    from standardwebhooks import Webhook

    verifiers = {path: Webhook(secret) for path, secret in secrets.items()}
    arrivals: list[tuple[float, float, str]] = []
    seen: set[tuple[str, str]] = set()
    duplicates = 0
    bad = 0
    done = asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal duplicates, bad
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                path = lines[0].split(" ")[1]
                headers = {}
                for line in lines[1:]:
                    if ":" in line:
                        name, value = line.split(":", 1)
                        headers[name.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0")))
                at = time.time()
                message_id = headers.get("webhook-id", "")
                key = (path, message_id)
                if key in seen:
                    duplicates += 1
                seen.add(key)
                if len(arrivals) % 50 == 0:
                    try:
                        verifiers[path].verify(body, headers)
                    except Exception:
                        bad += 1
                event = json.loads(body)
                ts = datetime.fromisoformat(event["data"]["ts"].replace("Z", "+00:00")).timestamp()
                arrivals.append((at, ts, message_id))
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\ncontent-type: text/plain\r\n\r\nok")
                await writer.drain()
                if len(arrivals) >= expected:
                    done.set()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
        port_pipe.send(server.sockets[0].getsockname()[1])
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(done.wait(), timeout)
        await asyncio.sleep(0.5)  # duplicates that would still arrive
        Path(out_path).write_text(json.dumps({"arrivals": arrivals, "duplicates": duplicates, "bad": bad}))
        server.close()
        server.close_clients()  # keep-alive connections of the senders

    asyncio.run(main())


# The platform (this process) ----------------------------------------------------------------------------------


def world(args: argparse.Namespace, receiver_paths: list[str]) -> tuple[list[str], dict[str, str], Any]:
    """Lamps, apps with grants and endpoints; returns the device ids, {path: secret} and a function that sets the
    endpoints' URLs once the receiver's port is known."""
    import uuid

    from oauth2_provider.models import Application

    from makercloud.accounts import services as accounts_services
    from makercloud.developers.models import App, AppStatus, Grant, WebhookEndpoint
    from makercloud.developers.services import webhooks
    from makercloud.devices import services as devices_services
    from makercloud.devices.models import Device
    from makercloud.ventures import services as ventures_services

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from makercloud.devices.tests.conftest import LAMP

    maker = accounts_services.person_sign_up(email="maker@bench.example", name="Bench Maker",
                                             password=PASSWORD, intent="maker",
                                             send_verification=False)
    user = accounts_services.person_sign_up(email="user@bench.example", name="Bench User",
                                            password=PASSWORD, intent="user",
                                            send_verification=False)
    venture = ventures_services.venture_found(actor=maker, name="Bench Lamps", mission="Bench.", origin="outside")
    model, _ = devices_services.device_model_publish(actor=maker, organisation=venture.organisation, document=LAMP)
    devices = Device.objects.bulk_create([
        Device(id=f"dbench{n:05d}", organisation=venture.organisation, model=model, name=f"Lamp {n}",
               secret_hash="-", broker_hash="-", owner=user)  # noqa: S106 - they never connect
        for n in range(args.devices)
    ])
    secrets: dict[str, str] = {}
    endpoints = []
    for n, path in enumerate(receiver_paths):
        application = Application.objects.create(
            name=f"App {n}", client_type="confidential", authorization_grant_type="authorization-code",
            redirect_uris="https://app.example.com/cb", client_id=uuid.uuid4().hex,
        )
        app = App.objects.create(venture=venture.organisation, name=f"App {n}", client_type="confidential",
                                 redirect_uris=["https://app.example.com/cb"],
                                 scopes=["devices:read", "events:subscribe"], status=AppStatus.APPROVED,
                                 application=application, created_by=maker)
        grant = Grant.objects.create(app=app, person=user, scopes=["devices:read", "events:subscribe"])
        grant.devices.set(devices)
        endpoint, secret = webhooks.webhook_endpoint_create(actor=maker, app=app, url=f"https://placeholder{path}",
                                                            event_types=["device.event"])
        endpoints.append((endpoint.pk, path))
        secrets[path] = secret

    def point_at(port: int) -> None:
        for pk, path in endpoints:
            WebhookEndpoint.objects.filter(pk=pk).update(url=f"http://127.0.0.1:{port}{path}")

    return [d.pk for d in devices], secrets, point_at


def run(args: argparse.Namespace) -> None:
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    call_command("migrate", verbosity=0)
    from makercloud.developers.models import Delivery, DeliveryState
    from makercloud.developers.services import webhooks
    from makercloud.devices import signals

    paths = [f"/app{n}" for n in range(args.apps)]
    device_ids, secrets, point_at = world(args, paths)
    expected = args.events * args.apps

    out_path = str(Path(tempfile.mkdtemp(prefix="webhooks-bench-")) / "arrivals.json")
    parent, child = multiprocessing.Pipe()
    receiver = multiprocessing.get_context("spawn").Process(
        target=receive, args=(child, expected, secrets, out_path, args.timeout), daemon=True)
    receiver.start()
    port = parent.recv()
    point_at(port)

    # The dispatchers: woken by each commit's nudge (as a job queue would), and polling every 50 ms.
    wake = threading.Event()
    stop = threading.Event()
    webhooks._nudge = wake.set  # type: ignore[assignment]  # the bench stands in for the job queue
    sent = [0] * args.dispatchers

    def dispatcher(n: int) -> None:
        while not stop.is_set():
            wake.wait(0.05)
            wake.clear()
            while True:
                made = webhooks.deliveries_dispatch()
                sent[n] += made
                if not made:
                    break
        connection.close()

    threads = [threading.Thread(target=dispatcher, args=(n,), daemon=True) for n in range(args.dispatchers)]
    for thread in threads:
        thread.start()

    fanout_ms: list[float] = []
    started = time.time()
    published = 0
    while published < args.events:
        size = min(args.batch, args.events - published)
        now = timezone.now()
        facts = signals.DeviceFacts(events=[
            signals.Event(device_ids[(published + i) % len(device_ids)], now, "overheated", 70 + i % 20)
            for i in range(size)
        ], at=now)
        clock = time.perf_counter()
        with transaction.atomic():
            signals.facts_publish(facts)
        fanout_ms.append((time.perf_counter() - clock) * 1000)
        published += size
        if args.rate:
            pause = started + published / args.rate - time.time()
            if pause > 0:
                time.sleep(pause)
    published_at = time.time()

    receiver.join(args.timeout + 10)
    stop.set()
    wake.set()
    for thread in threads:
        thread.join(30)
    result = json.loads(Path(out_path).read_text())
    os.unlink(out_path)
    arrivals = result["arrivals"]
    latencies = sorted((at - ts) * 1000 for at, ts, _ in arrivals)
    first_event = started
    last = max(at for at, _, _ in arrivals) if arrivals else time.time()
    states = dict(Delivery.objects.values_list("state").annotate(n=django.db.models.Count("id")).order_by())

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] if latencies else float("nan")

    print(f"database: {connection.vendor}; events {args.events} in batches of {args.batch}"
          f"{f' at {args.rate}/s' if args.rate else ' as fast as they commit'}; apps {args.apps}; "
          f"devices {args.devices}; dispatchers {args.dispatchers} x {webhooks.SENDERS} senders")
    print(f"published in {published_at - started:.2f} s; fan-out (rows written in the facts' transaction) per "
          f"batch: median {sorted(fanout_ms)[len(fanout_ms) // 2]:.1f} ms, max {max(fanout_ms):.1f} ms")
    print(f"delivered {len(arrivals)} of {expected} in {last - first_event:.2f} s: "
          f"{len(arrivals) / max(last - first_event, 1e-9):.0f} deliveries/s")
    print(f"latency event -> delivery: p50 {pct(50):.0f} ms, p90 {pct(90):.0f} ms, p99 {pct(99):.0f} ms, "
          f"max {latencies[-1] if latencies else float('nan'):.0f} ms")
    print(f"duplicates {result['duplicates']}, bad signatures {result['bad']} (every 50th verified); "
          f"states {states}; succeeded rows {states.get(DeliveryState.SUCCEEDED, 0)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--apps", type=int, default=10)
    parser.add_argument("--devices", type=int, default=100)
    parser.add_argument("--batch", type=int, default=100, help="events per stored batch (one transaction)")
    parser.add_argument("--rate", type=float, default=0, help="events/s (0: as fast as batches commit)")
    parser.add_argument("--dispatchers", type=int, default=2, help="dispatcher threads (the worker's threads)")
    parser.add_argument("--timeout", type=float, default=300)
    parser.add_argument("--postgres", default="", help="a PostgreSQL server URL; default: SQLite in a scratch dir")
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="makercloud-bench-webhooks-")
    os.environ.update(MAKERCLOUD_DATA_DIR=data_dir, MAKERCLOUD_SECRET_KEY=SECRET_KEY,
                      DJANGO_SETTINGS_MODULE="makercloud.config.settings.default")
    name = f"makercloud_bench_webhooks_{os.getpid()}"
    if args.postgres:
        import psycopg

        with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
        os.environ["DATABASE_URL"] = f"{args.postgres}/{name}"
    try:
        run(args)
    finally:
        if args.postgres:
            from django.db import connections

            connections.close_all()
            import psycopg

            with psycopg.connect(f"{args.postgres}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


if __name__ == "__main__":
    main()
