"""Shared by the device benchmarks: start `makercloud up` in a scratch data dir, set up a venture, a model and
devices through the public API, and a tiny keep-alive HTTP/1.1 client (no extra dependency).

`up` runs on the embedded default (SQLite, amqtt in-process), or with `postgres` on a scratch PostgreSQL database
(DATABASE_URL) and/or with `mosquitto` against a Mosquitto of its own started with the production configuration
(`gateway.mosquitto.mosquitto_conf`; MAKERCLOUD_MQTT_URL): then `up`'s gateway thread ingests from Mosquitto.
"""

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
LAMP = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1", "id": "urn:bench:lamp", "title": "Bench lamp",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}}, "security": "nosec_sc",
    "properties": {"brightness": {"type": "integer", "minimum": 0, "maximum": 100, "forms": [{"href": "x"}]}},
    "actions": {"blink": {"input": {"type": "object", "properties": {"times": {"type": "integer"}}},
                          "forms": [{"href": "x"}]}},
}


POSTGRES = "postgres://postgres@127.0.0.1:5432"
MOSQUITTO_CONF = """
from pathlib import Path
from makercloud.gateway.mosquitto import mosquitto_conf
directory = Path({directory!r})
(directory / "mosquitto.conf").write_text(
    mosquitto_conf(directory=directory, port={port}, persistence=False, run_as={user!r}))
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Platform:
    """`makercloud up` on free ports in a fresh data dir, with an operator token.

    postgres: a server URL (`postgres://user@host:port`): `up` uses a scratch database there, dropped at the end.
    mosquitto: `up` talks to a Mosquitto of its own (production configuration) instead of the embedded broker.
    """

    def __init__(self, *, postgres: str | None = None, mosquitto: bool = False) -> None:
        self.data = tempfile.mkdtemp(prefix="makercloud-bench-")
        self.port, self.mqtt_port = free_port(), free_port()
        self.env = {**os.environ, "MAKERCLOUD_DATA_DIR": self.data}
        self.env.pop("DJANGO_SETTINGS_MODULE", None)
        self.postgres, self.database = postgres, f"makercloud_bench_{os.getpid()}"
        self.broker: subprocess.Popen[bytes] | None = None
        self.mosquitto_dir = Path(self.data) / "mosquitto"
        if postgres:
            self._database("CREATE")
            self.env["DATABASE_URL"] = f"{postgres}/{self.database}"
        if mosquitto:
            self.env["MAKERCLOUD_MQTT_URL"] = f"mqtt://127.0.0.1:{self.mqtt_port}"
            self._run("migrate")
            self.mosquitto_sync()
            self.broker = subprocess.Popen(["mosquitto", "-c", str(self.mosquitto_dir / "mosquitto.conf")],
                                           stderr=subprocess.DEVNULL)
            time.sleep(0.5)
        self.process = subprocess.Popen(
            [str(BIN / "makercloud"), "up", "--port", str(self.port), "--mqtt-port", str(self.mqtt_port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for line in self.process.stdout:  # type: ignore[union-attr]
            if "Press Ctrl-C" in line:
                break
        else:
            sys.exit("makercloud up did not start")
        self._run("user", "create", "--email", "bench@example.com", "--name", "Bench", "--password",
                  "bench-password-123", "--operator")
        self.token = self._run("token", "create", "--email", "bench@example.com", "--name", "b").strip()

    def _run(self, *args: str) -> str:
        return subprocess.run([str(BIN / "makercloud"), *args], env=self.env, check=True, capture_output=True,
                              text=True).stdout

    def _database(self, verb: str) -> None:
        import psycopg

        with psycopg.connect(f"{self.postgres}/postgres", autocommit=True) as admin:
            admin.execute(f'{verb} DATABASE {"IF EXISTS " if verb == "DROP" else ""}"{self.database}"'
                          f'{" WITH (FORCE)" if verb == "DROP" else ""}')

    def mosquitto_sync(self) -> None:
        """Write Mosquitto's configuration, passwords and ACL (after provisioning: the new devices) and reload it."""
        self._run("gateway", "--mosquitto-once", "--mosquitto-dir", str(self.mosquitto_dir))
        conf = self.mosquitto_dir / "mosquitto.conf"
        if not conf.exists():
            subprocess.run([str(BIN / "makercloud"), "manage", "shell", "-c", MOSQUITTO_CONF.format(
                directory=str(self.mosquitto_dir), port=self.mqtt_port, user=os.environ.get("USER") or "root")],
                env=self.env, check=True)
        if self.broker is not None:
            self.broker.send_signal(signal.SIGHUP)
            time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)
        if self.broker is not None:
            self.broker.terminate()
            self.broker.wait(10)
        if self.postgres:
            self._database("DROP")


class Http:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
                      ) -> tuple[int, Any]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        data = b"" if body is None else json.dumps(body).encode()
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1", f"Authorization: Bearer {self.token}",
                 f"Content-Length: {len(data)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + data)
        assert self.reader is not None
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length, chunked = 0, False
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.decode().partition(":")
            if name.lower() == "content-length":
                length = int(value)
            elif name.lower() == "transfer-encoding" and "chunked" in value:
                chunked = True
        if chunked:
            payload = b""
            while (size := int((await self.reader.readline()).strip(), 16)) != 0:
                payload += await self.reader.readexactly(size)
                await self.reader.readline()
            await self.reader.readline()
        else:
            payload = await self.reader.readexactly(length)
        return status, json.loads(payload) if payload else None


async def setup(platform: Platform, devices: int = 1) -> list[tuple[str, str]]:
    """A venture, the bench lamp model and `devices` devices: returns their (device id, secret)."""
    http = Http(platform.port, platform.token)
    status, venture = await http.request("POST", "/api/v1/ventures",
                                         {"name": "Bench", "mission": "Measure.", "origin": "outside"})
    assert status == 201, venture
    status, model = await http.request("POST", f"/api/v1/ventures/{venture['id']}/device-models", LAMP)
    assert status == 201, model
    made = []
    for n in range(devices):
        status, device = await http.request("POST", f"/api/v1/ventures/{venture['id']}/devices",
                                            {"model": model["id"], "name": f"bench-{n}"})
        assert status == 201, device
        made.append((device["id"], device["secret"]))
    if platform.broker is not None:
        platform.mosquitto_sync()
    return made


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} CPUs"


def wait_for(predicate: Any, timeout: float = 10) -> None:
    end = time.monotonic() + timeout
    while not predicate() and time.monotonic() < end:
        time.sleep(0.05)
