"""What each `makercloud` command runs. `up` puts the whole platform in one process (DESIGN §6)."""

import argparse
import asyncio
import contextlib
import logging
import secrets
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import Any

import uvicorn
from django.conf import settings
from django.core.management import call_command, execute_from_command_line

logger = logging.getLogger("makercloud")

FIRST_OPERATOR_EMAIL = "operator@makercloud.local"
STOP_TIMEOUT = 4.0


class _Server(uvicorn.Server):
    """uvicorn without its own signal handling: `up` owns SIGINT/SIGTERM and stops every part together."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


class CannotStart(Exception):
    """A part of the platform cannot start; the message says why, without a traceback."""


def _listen(host: str, port: int) -> socket.socket:
    """The web server's socket, bound here so that a taken port is reported before anything starts.

    TCP_NODELAY is set on it because asyncio sets it only on sockets it creates itself; Linux hands it on to every
    accepted connection. Without it a response's body waits ~40 ms for the delayed ACK of its head (Nagle).
    """
    sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise CannotStart(
            f"cannot listen on {host}:{port}: {error.strerror}. Is makercloud already running?"
        ) from error
    return sock


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _mqtt_port(requested: int | None) -> int:
    """The embedded broker's port: as asked (0 = any free one); unasked, 1883 unless another broker has it."""
    if requested is not None:
        return requested or _free_port()
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", 1883))
        except OSError:
            port = _free_port()
            _say(f"Port 1883 is taken (another MQTT broker?); the embedded broker uses {port} instead.")
            return port
    return 1883


def _say(line: str = "") -> None:
    print(line, flush=True)


def _first_operator() -> None:
    """On first run, create the operator's sign-in and print it once."""
    from makercloud.accounts import services
    from makercloud.accounts.models import Membership, Role

    if Membership.objects.filter(role=Role.OPERATOR).exists():
        return
    password = secrets.token_urlsafe(12)
    person = services.person_sign_up(
        email=FIRST_OPERATOR_EMAIL, name="Platform operator", password=password, send_verification=False
    )
    services.operator_grant(person=person)
    _say("First run: the operator can sign in with")
    _say(f"  e-mail    {FIRST_OPERATOR_EMAIL}")
    _say(f"  password  {password}    (shown once; change it after signing in)")
    _say()


def _broker_config(port: int) -> dict[str, Any]:
    """Devices and the platform log in and are held to their topics by gateway.auth (DESIGN §5)."""
    return {
        "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{port}"}},
        "plugins": {
            "makercloud.gateway.broker_plugins.DeviceAuthPlugin": {},
            "makercloud.gateway.broker_plugins.DeviceTopicPlugin": {},
        },
    }


def _consumer() -> Any:
    from makercloud.core.jobs import queue

    consumer = queue.create_consumer(
        workers=settings.HUEY.get("consumer", {}).get("workers", 2),
        worker_type="thread",
        max_delay=1.0,
        check_worker_health=True,
    )
    return consumer


async def _run_up(
    *, web_socket: socket.socket, host: str, port: int, mqtt_port: int | None, fleets: list[Any] | None = None
) -> None:
    from amqtt.broker import Broker

    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)

    broker = None
    if mqtt_port is not None:
        broker = Broker(_broker_config(mqtt_port))
        try:
            await broker.start()
        except Exception as error:
            raise CannotStart(f"the embedded MQTT broker cannot listen on port {mqtt_port}: {error}") from error

    server = _Server(
        uvicorn.Config(
            "makercloud.config.asgi:application",
            host=host,
            port=port,
            lifespan="off",
            log_level="warning",
            timeout_graceful_shutdown=2,
        )
    )
    from makercloud.gateway.worker import Gateway, GatewayOptions

    gateway = Gateway(GatewayOptions(presence="timeout" if broker is None else "broker"))
    gateway_stop = threading.Event()
    gateway_thread = threading.Thread(target=gateway.run, args=(gateway_stop,), name="gateway", daemon=True)
    gateway_thread.start()

    serving = asyncio.create_task(server.serve(sockets=[web_socket]))
    while not server.started and not serving.done():
        await asyncio.sleep(0.05)
    url = f"http://{host}:{port}"
    _say(f"makercloud is up at {url}")
    _say(f"  API docs   {url}/api/v1/docs")
    _say(f"  admin      {url}/admin/")
    _say(f"  MQTT       {settings.MQTT_URL}{'' if broker is None else ' (embedded)'}")
    _say(f"  data       {settings.DATA_DIR}")
    _say(f"  gateway    ingesting devices/+/… as {gateway.options.client_id}")
    appliances = _run_fleets(fleets or [], stop)
    if fleets:
        _say(f"  demo       {sum(len(f.devices) for f in fleets)} virtual appliances online")
    _say("Press Ctrl-C to stop.")

    await asyncio.wait({serving, asyncio.create_task(stop.wait())}, return_when=asyncio.FIRST_COMPLETED)
    _say("Stopping…")
    server.should_exit = True
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(serving, timeout=STOP_TIMEOUT / 2)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*appliances, return_exceptions=True), timeout=1)
    gateway_stop.set()
    await asyncio.to_thread(gateway_thread.join, 1.5)
    if broker is not None:
        with contextlib.suppress(Exception, TimeoutError):
            await asyncio.wait_for(broker.shutdown(), timeout=1)


def _run_fleets(fleets: list[Any], stop: asyncio.Event) -> list[asyncio.Task[Any]]:
    """The demo world's virtual appliances, speaking MQTT to the broker like real ones, until `stop`."""
    from makercloud.gateway import simulator

    return [
        asyncio.create_task(
            simulator.fleet_run(
                devices=fleet.devices, document=fleet.document, rate=0.2, url=settings.MQTT_URL, stop=stop,
                say=lambda line: None,
            )
        )
        for fleet in fleets
    ]


def up(args: argparse.Namespace) -> int:
    _say("Applying migrations…")
    call_command("migrate", interactive=False, verbosity=0)
    _first_operator()
    from makercloud.web import demo

    if args.demo:
        demo.seed(say=_say)

    mqtt_port: int | None = None
    if settings.MQTT_URL is None:
        mqtt_port = _mqtt_port(args.mqtt_port)
        settings.MQTT_URL = f"mqtt://127.0.0.1:{mqtt_port}"

    try:
        web_socket = _listen(args.host, args.port)
    except CannotStart as error:
        print(f"makercloud: {error}", file=sys.stderr)
        return 1
    consumer = _consumer()
    consumer.start()
    try:
        fleets = demo.fleets() if args.demo else []
        asyncio.run(
            _run_up(web_socket=web_socket, host=args.host, port=args.port, mqtt_port=mqtt_port, fleets=fleets)
        )
    except CannotStart as error:
        print(f"makercloud: {error}", file=sys.stderr)
        return 1
    finally:
        stopper = threading.Thread(target=consumer.stop, kwargs={"graceful": True}, daemon=True)
        stopper.start()
        stopper.join(timeout=STOP_TIMEOUT / 2)
        _say("Stopped.")
    return 0


def serve(args: argparse.Namespace) -> int:
    uvicorn.run(
        "makercloud.config.asgi:application",
        host=args.host,
        port=args.port,
        workers=args.workers,
        lifespan="off",
        timeout_graceful_shutdown=5,
    )
    return 0


def user_create(args: argparse.Namespace) -> int:
    from makercloud.accounts import services
    from makercloud.core.errors import DomainError

    try:
        person = services.person_sign_up(
            email=args.email,
            name=args.name or args.email.split("@")[0],
            password=args.password,
            send_verification=False,
        )
        if args.operator:
            services.operator_grant(person=person)
    except DomainError as error:
        print(f"makercloud: {error.detail}", file=sys.stderr)
        return 2
    _say(f"created {person.email}{' (operator)' if args.operator else ''}")
    return 0


def token_create(args: argparse.Namespace) -> int:
    from makercloud.accounts import services
    from makercloud.accounts.models import User
    from makercloud.core.errors import DomainError

    person = User.objects.filter(email__iexact=args.email).first()
    if person is None:
        print(f"makercloud: nobody has the e-mail {args.email}", file=sys.stderr)
        return 2
    try:
        _token, raw = services.token_create(person=person, name=args.name, scopes=args.scopes)
    except DomainError as error:
        print(f"makercloud: {error.detail}", file=sys.stderr)
        return 2
    _say(raw)
    return 0


def gateway(args: argparse.Namespace) -> int:
    """One gateway process (scale-out): ingest until SIGINT/SIGTERM; or just write Mosquitto's files."""
    from pathlib import Path

    from makercloud.gateway import mosquitto
    from makercloud.gateway.worker import Gateway, GatewayOptions

    mosquitto_dir = Path(args.mosquitto_dir) if args.mosquitto_dir else None
    mosquitto_pid = Path(args.mosquitto_pid) if args.mosquitto_pid else None
    if args.mosquitto_once:
        if mosquitto_dir is None:
            print("makercloud: --mosquitto-once needs --mosquitto-dir", file=sys.stderr)
            return 2
        mosquitto.mosquitto_files_sync(directory=mosquitto_dir, pid_file=mosquitto_pid)
        _say(f"Mosquitto password and ACL files are up to date in {mosquitto_dir}")
        return 0
    options = GatewayOptions(
        url=args.mqtt_url, client_id=args.client_id, shared=args.shared, batch_size=args.batch_size,
        rate=args.rate_limit, burst=args.burst, offline_after=args.offline_after,
        mosquitto_dir=mosquitto_dir, mosquitto_pid=mosquitto_pid,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    _say(f"gateway {options.client_id} ingesting from {args.mqtt_url or settings.MQTT_URL or 'mqtt://127.0.0.1:1883'}")
    Gateway(options).run(stop)
    return 0


def simulate(args: argparse.Namespace) -> int:
    """Virtual devices of one model in its venture's sandbox, until SIGINT/SIGTERM."""
    from makercloud.core.errors import DomainError
    from makercloud.gateway import simulator

    try:
        model = simulator.model_find(reference=args.model)
        devices = simulator.fleet_provision(model=model, count=args.count)
    except DomainError as error:
        print(f"makercloud: {error.detail}", file=sys.stderr)
        return 2
    _say(f"{len(devices)} virtual {model.title} devices provisioned in the sandbox; connecting…")

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await simulator.fleet_run(
            devices=devices, document=model.document, rate=args.rate, url=args.mqtt_url, stop=stop, say=_say
        )

    asyncio.run(main())
    return 0


def dispatch(args: argparse.Namespace) -> int:
    match args.command:
        case "up":
            return up(args)
        case "serve":
            return serve(args)
        case "gateway":
            return gateway(args)
        case "simulate":
            return simulate(args)
        case "worker":
            call_command("run_huey", workers=2, worker_type="thread")
            return 0
        case "migrate":
            call_command("migrate", interactive=False)
            return 0
        case "demo":
            from makercloud.web import demo

            call_command("migrate", interactive=False, verbosity=0)
            demo.seed(say=_say)
            return 0
        case "user":
            return user_create(args)
        case "token":
            return token_create(args)
        case "ledger":
            from makercloud.ledger import commands

            return commands.run(args)
        case "manage":
            execute_from_command_line(["makercloud manage", *args.args])
            return 0
    return 2
