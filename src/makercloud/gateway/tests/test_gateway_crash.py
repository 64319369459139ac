"""kill -9 the gateway in the middle of a QoS 1 stream, restart it: not one row lost, not one duplicated.

The gateway runs as a real `makercloud gateway` process on its own database (a file for SQLite, a fresh database
on the PostgreSQL server under test), against a Mosquitto that keeps its persistent session.
"""

import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from makercloud.gateway.tests.conftest import dumps, service_client, wait_for

STREAM = 4000
KILLS = 3


@pytest.fixture
def crash_database(tmp_path: Path) -> Iterator[tuple[str, Callable[[str], list[Any]]]]:
    """A database URL for the gateway process, and a way to query it from here."""
    if connection.vendor == "sqlite":
        path = tmp_path / "crash.sqlite3"

        def query_sqlite(sql: str) -> list[Any]:
            with sqlite3.connect(path) as db:
                return db.execute(sql).fetchall()

        yield f"sqlite:///{path}", query_sqlite
        return
    server = settings.DATABASES["default"]
    name = f"makercloud_crash_{uuid.uuid4().hex[:8]}"
    params = {"host": server["HOST"] or "127.0.0.1", "port": server["PORT"] or 5432, "user": server["USER"],
              "password": server["PASSWORD"] or None, "dbname": "postgres", "autocommit": True}
    with psycopg.connect(**params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')

    def query_postgres(sql: str) -> list[Any]:
        with psycopg.connect(**{**params, "dbname": name}) as db:
            return db.execute(sql).fetchall()

    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    yield f"postgres://{server['USER']}{password}@{params['host']}:{params['port']}/{name}", query_postgres
    with psycopg.connect(**params) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


SETUP = """
from makercloud.accounts.models import Organisation
from makercloud.devices.models import Device, DeviceModel
from makercloud.gateway.tests.conftest import THERMOSTAT
org = Organisation.objects.create(kind="venture", name="Crash", slug="crash")
model = DeviceModel.objects.create(organisation=org, key="t", version=1, title="T", document=THERMOSTAT,
                                   content_hash="x")
print(Device.objects.create(id="dcrash", organisation=org, model=model, name="crash", secret_hash="x").id)
"""


@pytest.mark.process
def test_kill_9_mid_stream_loses_and_duplicates_nothing(
    db: Any, tmp_path: Path, start_mosquitto: Any, crash_database: tuple[str, Callable[[str], list[Any]]]
) -> None:
    url, query = crash_database
    broker = start_mosquitto(persistence=False)  # the broker keeps the gateway's session in memory; it stays up
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    env.update(DATABASE_URL=url, MAKERCLOUD_DATA_DIR=str(tmp_path / "data"), MAKERCLOUD_MQTT_URL=broker.url,
               MAKERCLOUD_SECRET_KEY=settings.SECRET_KEY)
    makercloud = [sys.executable, "-m", "makercloud.cli"]
    subprocess.run([*makercloud, "migrate"], env=env, check=True, capture_output=True)
    setup = subprocess.run([*makercloud, "manage", "shell", "-c", SETUP], env=env, check=True, capture_output=True)
    device_id = setup.stdout.decode().strip().splitlines()[-1]
    log = (tmp_path / "gateway.log").open("ab")

    def gateway() -> subprocess.Popen[bytes]:
        command = [*makercloud, "gateway", "--client-id", "crash-gw", "--rate-limit", "1e9", "--burst", "1e9",
                   "--batch-size", "100"]
        return subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)

    def stored() -> int:
        return int(query("SELECT count(*) FROM devices_telemetrypoint")[0][0])

    process = gateway()
    assert wait_for(lambda: b"connected" in (tmp_path / "gateway.log").read_bytes(), timeout=20), "no gateway"
    platform = service_client(broker)
    infos = []
    kills_at = {STREAM * (k + 1) // (KILLS + 2) for k in range(KILLS)}
    for n in range(STREAM):
        infos.append(platform.publish(f"devices/{device_id}/telemetry", dumps({"values": {"n": n}}), qos=1))
        if n in kills_at:
            assert wait_for(lambda n=n: stored() >= n // 2, timeout=20), "the gateway is not keeping up"
            process.send_signal(signal.SIGKILL)
            process.wait()
            time.sleep(0.3)
            process = gateway()
        if n % 50 == 0:
            time.sleep(0.01)
    for info in infos:
        info.wait_for_publish(timeout=30)
    try:
        assert wait_for(lambda: stored() >= STREAM, timeout=60), f"{stored()} of {STREAM} rows after the crashes"
        time.sleep(1.0)  # anything still to come would be a duplicate
        rows = query("SELECT count(*), count(DISTINCT number), min(number), max(number) FROM devices_telemetrypoint")
        assert rows[0] == (STREAM, STREAM, 0, STREAM - 1)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
        platform.loop_stop()
