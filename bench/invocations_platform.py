"""Shared by the device benchmarks: start `makercloud up` in a scratch data dir, set up a venture, a model and a
device through the public API, and a tiny keep-alive HTTP/1.1 client (no extra dependency)."""

import asyncio
import json
import os
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


# `makercloud up` with its listening socket set to TCP_NODELAY (accepted sockets inherit it): asyncio sets it only on
# sockets it creates itself, so on the pre-bound socket every response's body waits for the delayed ACK of its head.
NODELAY = """
import socket, sys
from makercloud.config import runner
listen = runner._listen
def _listen(host, port):
    sock = listen(host, port)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock
runner._listen = _listen
from makercloud.cli import main
sys.argv[0] = "makercloud"
sys.exit(main())
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Platform:
    """`makercloud up` on free ports in a fresh data dir, with an operator token."""

    def __init__(self, *, nodelay: bool = False) -> None:
        self.data = tempfile.mkdtemp(prefix="makercloud-bench-")
        self.port, self.mqtt_port = free_port(), free_port()
        self.env = {**os.environ, "MAKERCLOUD_DATA_DIR": self.data}
        command = [str(BIN / "makercloud")]
        if nodelay:  # the same `up`, with TCP_NODELAY on the web socket (see docs/benchmarks.md)
            command = [str(BIN / "python"), "-c", NODELAY]
        self.process = subprocess.Popen(
            [*command, "up", "--port", str(self.port), "--mqtt-port", str(self.mqtt_port)],
            env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )
        for line in self.process.stdout:  # type: ignore[union-attr]
            if "Press Ctrl-C" in line:
                break
        else:
            sys.exit("makercloud up did not start")
        subprocess.run([str(BIN / "makercloud"), "user", "create", "--email", "bench@example.com", "--name", "Bench",
                        "--password", "bench-password-123", "--operator"], env=self.env, check=True,
                       capture_output=True)
        self.token = subprocess.run(
            [str(BIN / "makercloud"), "token", "create", "--email", "bench@example.com", "--name", "b"],
            env=self.env, check=True, capture_output=True, text=True,
        ).stdout.strip()

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(10)


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


async def setup(platform: Platform) -> tuple[str, str]:
    """A venture, the bench lamp model and one device: returns (device id, secret)."""
    http = Http(platform.port, platform.token)
    status, venture = await http.request("POST", "/api/v1/ventures",
                                         {"name": "Bench", "mission": "Measure.", "origin": "outside"})
    assert status == 201, venture
    status, model = await http.request("POST", f"/api/v1/ventures/{venture['id']}/device-models", LAMP)
    assert status == 201, model
    status, device = await http.request("POST", f"/api/v1/ventures/{venture['id']}/devices",
                                        {"model": model["id"], "name": "bench-1"})
    assert status == 201, device
    return device["id"], device["secret"]


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
