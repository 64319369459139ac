"""Resident memory of `makercloud up` (embedded broker + gateway + web + jobs) with N virtual devices connected.

    .venv/bin/python bench/memory_up.py --count 1000 --rate 0.2 --seconds 60

Starts `makercloud up` on a fresh data dir (SQLite, embedded amqtt broker), publishes a thermostat model in a new
venture, runs `makercloud simulate` against it, and prints the RSS of both processes every few seconds, then the
telemetry that landed. Not a timed test: it prints numbers.
"""

import argparse
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

THERMOSTAT = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1",
    "id": "urn:bench:thermostat",
    "title": "Bench thermostat",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {
        "temperature": {"type": "number", "minimum": -20, "maximum": 60, "readOnly": True,
                        "forms": [{"href": "mqtt://x/t"}]},
        "target": {"type": "integer", "minimum": 5, "maximum": 30, "forms": [{"href": "mqtt://x/target"}]},
        "mode": {"type": "string", "enum": ["off", "heat", "eco"], "forms": [{"href": "mqtt://x/mode"}]},
        "on": {"type": "boolean", "forms": [{"href": "mqtt://x/on"}]},
    },
    "actions": {"reboot": {"output": {"type": "object", "properties": {"uptime": {"type": "integer"}}},
                           "forms": [{"href": "mqtt://x/reboot"}]}},
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def rss_mb(pid: int) -> float:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024  # type: ignore[union-attr]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=0.2, help="telemetry messages/s per virtual device")
    parser.add_argument("--seconds", type=float, default=60)
    args = parser.parse_args()

    data_dir = tempfile.mkdtemp(prefix="makercloud-bench-memory-")
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "MAKERCLOUD_MQTT_URL",
                                                             "DJANGO_SETTINGS_MODULE"}}
    env["MAKERCLOUD_DATA_DIR"] = data_dir
    web_port, mqtt_port = free_port(), free_port()
    makercloud = [sys.executable, "-m", "makercloud.cli"]
    up = subprocess.Popen([*makercloud, "up", "--port", str(web_port), "--mqtt-port", str(mqtt_port)], env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert up.stdout is not None
    for line in up.stdout:
        if "Press Ctrl-C" in line:
            break
    print(f"makercloud up (pid {up.pid}) on :{web_port}, MQTT :{mqtt_port}; idle RSS {rss_mb(up.pid):.0f} MB")

    os.environ.update(MAKERCLOUD_DATA_DIR=data_dir, DJANGO_SETTINGS_MODULE="makercloud.config.settings.default")
    os.environ.pop("DATABASE_URL", None)
    import django

    django.setup()
    from makercloud.accounts import services as accounts
    from makercloud.devices import services as devices
    from makercloud.devices.models import TelemetryPoint
    from makercloud.ventures import services as ventures

    maker = accounts.person_sign_up(email="bench@example.com", name="Bench", password="bench-password-1",  # noqa: S106
                                    send_verification=False)
    venture = ventures.venture_found(actor=maker, name="Bench", mission="Measure.", origin="outside")
    model, _ = devices.device_model_publish(actor=maker, organisation=venture.organisation, document=THERMOSTAT)

    started = time.monotonic()
    simulate = subprocess.Popen(
        [*makercloud, "simulate", "--model", str(model.id), "--count", str(args.count), "--rate", str(args.rate),
         "--mqtt-url", f"mqtt://127.0.0.1:{mqtt_port}"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    os.set_blocking(simulate.stdout.fileno(), False)  # type: ignore[union-attr]
    peak = 0.0
    try:
        while time.monotonic() - started < args.seconds:
            time.sleep(5)
            for line in simulate.stdout or []:
                if "virtual devices" in line or "provisioned" in line:
                    print("  simulate:", line.strip())
            up_rss, sim_rss = rss_mb(up.pid), rss_mb(simulate.pid)
            peak = max(peak, up_rss)
            print(f"  t={time.monotonic() - started:4.0f}s  up RSS {up_rss:6.0f} MB   simulate RSS {sim_rss:6.0f} MB"
                  f"   telemetry points {TelemetryPoint.objects.count()}")
    finally:
        simulate.send_signal(signal.SIGINT)
        simulate.wait(timeout=30)
        up.send_signal(signal.SIGTERM)
        up.wait(timeout=30)
    print(f"peak RSS of makercloud up with {args.count} virtual devices: {peak:.0f} MB")
    print(f"telemetry points stored: {TelemetryPoint.objects.count()}")


if __name__ == "__main__":
    main()
