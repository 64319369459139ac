"""Real brokers for the gateway tests: a Mosquitto started per test with its own config, and the embedded amqtt."""

import asyncio
import contextlib
import getpass
import json
import shutil
import signal
import socket
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from makercloud.accounts.models import Organisation
from makercloud.core import mqtt
from makercloud.devices.models import Device, DeviceModel
from makercloud.gateway import auth, mosquitto
from makercloud.gateway.worker import Gateway, GatewayOptions

MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"

THERMOSTAT: dict[str, Any] = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1",
    "title": "Thermostat",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {
        "temperature": {"type": "number", "minimum": -20, "maximum": 60, "readOnly": True,
                        "forms": [{"href": "mqtt://x/t"}]},
        "target": {"type": "integer", "minimum": 5, "maximum": 30, "forms": [{"href": "mqtt://x/target"}]},
        "mode": {"type": "string", "enum": ["off", "heat", "eco"], "forms": [{"href": "mqtt://x/mode"}]},
        "on": {"type": "boolean", "forms": [{"href": "mqtt://x/on"}]},
        "n": {"type": "integer", "minimum": 0, "maximum": 1000000000, "readOnly": True,
              "forms": [{"href": "mqtt://x/n"}]},
    },
    "actions": {"reboot": {"output": {"type": "object", "properties": {"uptime": {"type": "integer"}}},
                           "forms": [{"href": "mqtt://x/reboot"}]}},
    "events": {"alarm": {"data": {"type": "number"}, "forms": [{"href": "mqtt://x/alarm"}]}},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(condition: Callable[[], Any], *, timeout: float = 10.0, every: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = condition()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(every)


def wait_listening(port: int, timeout: float = 10.0) -> None:
    def listening() -> bool:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return True
        return False

    assert wait_for(listening, timeout=timeout), f"nothing listens on {port}"


@dataclass
class Fleet:
    organisation: Organisation
    model: DeviceModel
    secrets: dict[str, str] = field(default_factory=dict)

    def device(self, *, enabled: bool = True) -> tuple[Device, str]:
        secret = uuid.uuid4().hex + uuid.uuid4().hex
        device = Device.objects.create(
            id="d" + uuid.uuid4().hex[:20], organisation=self.organisation, model=self.model,
            name=f"Thermostat {len(self.secrets) + 1}", enabled=enabled,
            secret_hash=auth.secret_hash(secret), broker_hash=auth.broker_password_hash(secret),
        )
        self.secrets[device.id] = secret
        return device, secret


@pytest.fixture
def fleet(transactional_db: Any) -> Fleet:
    organisation = Organisation.objects.create(kind="venture", name="Warm Homes", slug=f"warm-{uuid.uuid4().hex[:8]}")
    model = DeviceModel.objects.create(
        organisation=organisation, key="thermostat", version=1, title="Thermostat", document=THERMOSTAT,
        content_hash=uuid.uuid4().hex,
    )
    return Fleet(organisation=organisation, model=model)


@dataclass
class Broker:
    port: int
    url: str
    directory: Path | None = None
    process: subprocess.Popen[bytes] | None = None

    def restart(self) -> None:
        """Stop the broker (its clients lose their connections) and start it again on the same port."""
        assert self.directory is not None and self.process is not None
        self.process.terminate()
        self.process.wait(timeout=10)
        log = (self.directory / "log").open("ab")
        self.process = subprocess.Popen([MOSQUITTO, "-c", str(self.directory / "mosquitto.conf")], stdout=log,
                                        stderr=subprocess.STDOUT)
        self.pid_file.write_text(f"{self.process.pid}\n")
        wait_listening(self.port)

    @property
    def pid_file(self) -> Path:
        """Where the broker's pid is, for `makercloud gateway --mosquitto-pid` (Mosquitto only)."""
        assert self.directory is not None
        return self.directory / "pid"

    def reload(self) -> None:
        """Rewrite Mosquitto's password and ACL files from the database and make it read them."""
        assert self.directory is not None and self.process is not None
        mosquitto.mosquitto_files_sync(directory=self.directory)
        self.process.send_signal(signal.SIGHUP)
        time.sleep(0.3)


@pytest.fixture
def start_mosquitto(tmp_path: Path) -> Iterator[Callable[..., Broker]]:
    started: list[Broker] = []

    def start(*, persistence: bool = False) -> Broker:
        directory = tmp_path / f"mosquitto-{len(started)}"
        mosquitto.mosquitto_files_sync(directory=directory)
        port = free_port()
        conf = directory / "mosquitto.conf"
        conf.write_text(
            mosquitto.mosquitto_conf(
                directory=directory, port=port, persistence=persistence, run_as=getpass.getuser()
            )
        )
        log = (directory / "log").open("wb")
        process = subprocess.Popen([MOSQUITTO, "-c", str(conf)], stdout=log, stderr=subprocess.STDOUT)
        wait_listening(port)
        broker = Broker(port=port, url=f"mqtt://127.0.0.1:{port}", directory=directory, process=process)
        broker.pid_file.write_text(f"{process.pid}\n")
        started.append(broker)
        return broker

    yield start
    for broker in started:
        assert broker.process is not None
        process = broker.process
        process.terminate()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=5)
        if process.poll() is None:
            process.kill()


@pytest.fixture
def amqtt_broker(transactional_db: Any) -> Iterator[Broker]:
    """The embedded broker exactly as `makercloud up` configures it, in a thread of its own."""
    from amqtt.broker import Broker as AmqttBroker

    from makercloud.config.runner import _broker_config

    port = free_port()
    loop = asyncio.new_event_loop()
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def serve() -> None:
        asyncio.set_event_loop(loop)
        broker = AmqttBroker(_broker_config(port), loop=loop)
        holder["broker"] = broker
        loop.run_until_complete(broker.start())
        ready.set()
        loop.run_forever()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    assert ready.wait(10)
    wait_listening(port)
    yield Broker(port=port, url=f"mqtt://127.0.0.1:{port}")
    with contextlib.suppress(Exception):
        asyncio.run_coroutine_threadsafe(holder["broker"].shutdown(), loop).result(timeout=5)
    loop.call_soon_threadsafe(loop.stop)
    thread.join(timeout=5)


@pytest.fixture
def run_gateway() -> Iterator[Callable[..., Gateway]]:
    running: list[tuple[Gateway, threading.Event, threading.Thread]] = []

    def run(url: str, **options: Any) -> Gateway:
        options = {"client_id": f"gw-{uuid.uuid4().hex[:8]}", "batch_wait": 0.02, "stats_every": 3600, **options}
        gateway = Gateway(GatewayOptions(url=url, **options))
        stop = threading.Event()
        thread = threading.Thread(target=gateway.run, args=(stop,), daemon=True)
        thread.start()
        running.append((gateway, stop, thread))
        assert wait_for(lambda: gateway.connected, timeout=10), "the gateway did not connect"
        time.sleep(0.2)  # its SUBSCRIBE is on the way
        return gateway

    yield run
    for _gateway, stop, thread in running:
        stop.set()
        thread.join(timeout=10)


def client(port: int, *, client_id: str, username: str, password: str, clean: bool = True) -> paho.Client:
    """A connected paho client (MQTT 3.1.1) with its network loop running; fails the test if refused."""
    c = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean)
    c.username_pw_set(username, password)
    outcome: dict[str, Any] = {}
    c.on_connect = lambda _c, _u, _f, reason, _p: outcome.setdefault("reason", reason)
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    assert wait_for(lambda: "reason" in outcome, timeout=5), "no CONNACK"
    if outcome["reason"].is_failure:
        c.loop_stop()
        raise ConnectionRefusedError(str(outcome["reason"]))
    return c


def device_client(broker: Broker, fleet: Fleet, device: Device) -> paho.Client:
    return client(broker.port, client_id=device.id, username=device.id, password=fleet.secrets[device.id])


def service_client(broker: Broker) -> paho.Client:
    username, password = mqtt.service_credentials()
    return client(broker.port, client_id=f"svc-{uuid.uuid4().hex[:8]}", username=username, password=password)


def publish_all(c: paho.Client, messages: list[tuple[str, bytes]], *, qos: int = 1) -> None:
    infos = [c.publish(topic, payload, qos=qos) for topic, payload in messages]
    for info in infos:
        info.wait_for_publish(timeout=30)


def dumps(value: Any) -> bytes:
    return json.dumps(value).encode()


