"""Start the real platform (`makercloud up`) once for the browser tests, and a Chromium to drive it."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
MAKERCLOUD = Path(sys.executable).with_name("makercloud")
READY_TIMEOUT = 90


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + READY_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"makercloud up exited with {process.returncode}:\n{log.read_text()[-4000:]}")
        try:
            with urllib.request.urlopen(f"{url}/readyz", timeout=5) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"makercloud up was not ready within {READY_TIMEOUT} s:\n{log.read_text()[-4000:]}")


def start_platform(data_dir: Path, *, demo: bool = False) -> tuple[str, subprocess.Popen[bytes], Path]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE",
                                                              "MAKERCLOUD_DATA_DIR", "MAKERCLOUD_MQTT_URL",
                                                              "MAKERCLOUD_JOBS_URL"}}
    env["MAKERCLOUD_PUBLIC_URL"] = url  # the embedded default on its own SQLite data dir
    log = data_dir / "makercloud.log"
    command = [str(MAKERCLOUD), "up", "--port", str(port), "--mqtt-port", "0", "--data-dir", str(data_dir)]
    if demo:
        command.append("--demo")
    process = subprocess.Popen(command, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)
    try:
        _wait_ready(url, process, log)
    except BaseException:
        stop_platform(process)
        raise
    return url, process, log


def stop_platform(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture(scope="session")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url, process, _log = start_platform(tmp_path_factory.mktemp("makercloud-data"))
    yield url
    stop_platform(process)
    assert process.returncode is not None


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any, platform: str) -> Iterator[Any]:
    context = browser.new_context(base_url=platform, viewport={"width": 1280, "height": 800})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()
