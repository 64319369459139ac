"""Starting the real platform (`makercloud up`) as a separate process, as its users do."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

MAKERCLOUD = str(Path(sys.executable).with_name("makercloud"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Platform:
    url: str
    data_dir: Path
    env: dict[str, str]
    process: subprocess.Popen[str]

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [MAKERCLOUD, *args], env=self.env, capture_output=True, text=True, timeout=60, check=False
        )

    def stop(self, sig: int = signal.SIGTERM) -> float:
        """Send `sig` and return how many seconds the process took to exit."""
        started = time.monotonic()
        self.process.send_signal(sig)
        self.process.wait(timeout=30)
        return time.monotonic() - started


def _wait_ready(url: str, process: subprocess.Popen[str], timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"makercloud up exited with {process.returncode}: {output}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.25)
    raise TimeoutError(f"{url}/readyz did not answer 200 within {timeout} s")


@contextmanager
def _own_database(env: dict[str, str]) -> Iterator[None]:
    """On PostgreSQL, give the process a fresh database of its own and drop it afterwards."""
    url = env.get("DATABASE_URL", "")
    if not url.startswith(("postgres://", "postgresql://")):
        yield
        return
    import psycopg

    parts = urlsplit(url)
    name = f"makercloud_up_{uuid.uuid4().hex[:10]}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    env["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
    try:
        yield
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def running_platform(data_dir: Path, *, demo: bool = False, embedded_only: bool = False) -> Iterator[Platform]:
    """`makercloud up` on free ports. The environment's DATABASE_URL, MAKERCLOUD_MQTT_URL, MAKERCLOUD_JOBS_URL and
    MAKERCLOUD_CACHE_URL are passed through (so CI's PostgreSQL/Mosquitto/Redis run covers them) unless
    `embedded_only`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "PYTEST_"))}
    if embedded_only:
        for name in ("DATABASE_URL", "MAKERCLOUD_MQTT_URL", "MAKERCLOUD_JOBS_URL", "MAKERCLOUD_CACHE_URL"):
            env.pop(name, None)
    port = free_port()
    env["MAKERCLOUD_DATA_DIR"] = str(data_dir)
    env["MAKERCLOUD_PUBLIC_URL"] = f"http://127.0.0.1:{port}"
    args = [MAKERCLOUD, "up", "--port", str(port), "--mqtt-port", "0", "--data-dir", str(data_dir)]
    if demo:
        args.append("--demo")
    with _own_database(env):
        process = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        platform = Platform(url=f"http://127.0.0.1:{port}", data_dir=data_dir, env=env, process=process)
        try:
            _wait_ready(platform.url, process)
            yield platform
        finally:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    process.kill()
