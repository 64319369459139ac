"""The device issue's 'done when', on the real process with a real MQTT client.

A maker imports a Thing Description, provisions a device, and a paho-mqtt client with the issued credentials sends
telemetry that the API and the pages show, answers an invocation, and is refused everything outside its own topics.
"""

import http.cookiejar
import json
import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import paho.mqtt.client as paho
import pytest

from tests.platform import Platform, running_platform

pytestmark = pytest.mark.process
WASHER = json.loads((Path(__file__).parents[2] / "src/makercloud/web/demo_devices.json").read_text())["washer"]
PASSWORD = "a-long-passphrase-42"


def _api(platform: Platform, method: str, path: str, token: str, body: Any = None) -> tuple[int, Any]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{platform.url}/api/v1{path}", data=data, method=method, headers={
        "Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def _device_client(device: dict[str, Any]) -> tuple[paho.Client, dict[str, Any]]:
    """A paho client acting as the appliance: it answers every invocation with `ok`."""
    seen: dict[str, Any] = {"suback": {}, "connected": threading.Event()}
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=device["id"], protocol=paho.MQTTv311)
    client.username_pw_set(device["mqtt"]["username"], device["secret"])

    def on_message(c: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        request = json.loads(message.payload)
        reply = {"id": request["id"], "status": "ok", "output": {"finishesInMinutes": 42}}
        c.publish(f"devices/{device['id']}/actions/reply", json.dumps(reply), qos=1)

    def on_subscribe(_c: paho.Client, _u: Any, mid: int, reasons: list[Any], _p: Any) -> None:
        seen["suback"][mid] = [r.is_failure for r in reasons]

    client.on_connect = lambda *args: seen["connected"].set()
    client.on_message = on_message
    client.on_subscribe = on_subscribe
    client.connect(device["mqtt"]["host"], device["mqtt"]["port"])
    client.loop_start()
    assert seen["connected"].wait(10), "the device could not connect with its issued credentials"
    return client, seen


def _wait_for(check: Any, timeout: float = 10) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    return check()


def _page(platform: Platform, email: str, path: str) -> str:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = opener.open(f"{platform.url}/accounts/login/", timeout=15).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form)
    assert csrf, "the sign-in page has a CSRF token"
    data = urllib.parse.urlencode({"csrfmiddlewaretoken": csrf.group(1), "username": email, "password": PASSWORD})
    opener.open(urllib.request.Request(f"{platform.url}/accounts/login/", data=data.encode(),
                                       headers={"Referer": f"{platform.url}/accounts/login/"}), timeout=15)
    return opener.open(f"{platform.url}{path}", timeout=15).read().decode()


def test_a_real_device_reports_telemetry_answers_an_invocation_and_stays_in_its_own_topics(tmp_path: Path) -> None:
    email = f"maker-{uuid.uuid4().hex[:8]}@example.com"
    with running_platform(tmp_path / "data", embedded_only=True) as platform:
        assert platform.cli("user", "create", "--email", email, "--password", PASSWORD).returncode == 0
        token = platform.cli("token", "create", "--email", email).stdout.strip()

        status, venture = _api(platform, "POST", "/ventures", token,
                               {"name": "Laundry Lab", "mission": "Washers that learn.", "origin": "employee"})
        assert status == 201, venture
        status, model = _api(platform, "POST", f"/ventures/{venture['id']}/device-models", token, WASHER)
        assert status == 201, model
        devices = []
        for name in ("Family washer", "Neighbour's washer"):
            status, device = _api(platform, "POST", f"/ventures/{venture['id']}/devices", token,
                                  {"model": model["id"], "name": name})
            assert status == 201 and device["secret"], device
            devices.append(device)
        mine, other = devices

        client, seen = _device_client(mine)
        try:
            client.subscribe(f"devices/{mine['id']}/actions/invoke", qos=1)
            telemetry = {"values": {"waterTemperature": 41.5, "spinSpeed": 800, "programme": "eco"}}
            client.publish(f"devices/{mine['id']}/telemetry", json.dumps(telemetry), qos=1).wait_for_publish(5)

            def points() -> list[dict[str, Any]]:
                return _api(platform, "GET", f"/devices/{mine['id']}/telemetry", token)[1]["items"]

            landed = _wait_for(lambda: len(points()) == 3 and points())
            assert {p["property"]: p["value"] for p in landed} == telemetry["values"]

            status, invocation = _api(platform, "POST", f"/devices/{mine['id']}/actions/start?wait=5", token,
                                      {"input": {"programme": "eco"}})
            assert status == 201 and invocation["status"] == "ok", invocation
            assert invocation["output"] == {"finishesInMinutes": 42}

            # Outside its own topics: the broker refuses the subscription, and what it publishes there goes nowhere.
            _result, mid = client.subscribe(f"devices/{other['id']}/actions/invoke", qos=1)
            assert _wait_for(lambda: mid in seen["suback"]) and seen["suback"][mid] == [True]
            forged = {"values": {"waterTemperature": 90.0}}
            client.publish(f"devices/{other['id']}/telemetry", json.dumps(forged), qos=1)
            time.sleep(1.5)
            assert _api(platform, "GET", f"/devices/{other['id']}/telemetry", token)[1]["items"] == []
        finally:
            client.loop_stop()
            client.disconnect()

        page = _page(platform, email, f"/devices/{mine['id']}/")
        assert "Family washer" in page and "waterTemperature" in page and "41.5" in page
