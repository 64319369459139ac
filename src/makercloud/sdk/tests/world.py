"""A world on a running platform (`makercloud up` as a process), built the way its people build it: a maker's venture
with a washer model and two washers in a user's home, an app registered through the API with the maker's personal
access token and approved by an operator, and the user's consent given in a browser session (the consent form).

Shared by the SDK's tests and tests/process/test_example_app.py.
"""

import json
import re
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import httpx
import paho.mqtt.client as paho

from makercloud.sdk import Client
from tests.platform import Platform

WASHER = json.loads((Path(__file__).parents[2] / "web/demo_devices.json").read_text())["washer"]
PASSWORD = "a-long-passphrase-42"
APP_SCOPES = ["devices:read", "devices:control", "telemetry:read", "events:subscribe"]


@dataclass
class Washer:
    id: str
    name: str
    secret: str
    host: str
    port: int


@dataclass
class World:
    platform: Platform
    maker_email: str
    user_email: str
    operator_email: str
    maker: Client  # personal access tokens
    user: Client
    operator: Client
    venture_id: int
    granted: Washer
    other: Washer


def person(platform: Platform, role: str, *scopes: str, operator: bool = False) -> tuple[str, Client]:
    """A person made with the CLI (as an operator bootstraps one) and a client on their personal access token."""
    email = f"{role}-{uuid.uuid4().hex[:8]}@example.com"
    made = platform.cli("user", "create", "--email", email, "--password", PASSWORD, *(["--operator"] * operator))
    assert made.returncode == 0, made.stderr
    args = [arg for scope in scopes for arg in ("--scope", scope)]
    token = platform.cli("token", "create", "--email", email, *args).stdout.strip()
    assert token, f"no token for {email}"
    return email, Client(platform.url, token)


def build_world(platform: Platform) -> World:
    maker_email, maker = person(platform, "maker")
    user_email, user = person(platform, "user", "devices:read", "devices:manage", "grants:manage")
    operator_email, operator = person(platform, "operator", "apps:read", "apps:write", operator=True)
    venture = maker.request("POST", "/ventures",
                            json={"name": "Laundry Lab", "mission": "Washers that learn.", "origin": "employee"})
    model = maker.request("POST", f"/ventures/{venture['id']}/device-models", json=WASHER)
    washers = []
    for name in ("Family washer", "Studio washer"):
        made = maker.request("POST", f"/ventures/{venture['id']}/devices", json={"model": model["id"], "name": name})
        user.request("POST", "/devices/claim", json={"code": made["claim_code"]})  # into the user's home
        washers.append(Washer(made["id"], name, made["secret"], made["mqtt"]["host"], made["mqtt"]["port"]))
    return World(platform, maker_email, user_email, operator_email, maker, user, operator, venture["id"], *washers)


def register_app(world: World, redirect_uri: str, *, scopes: list[str] = APP_SCOPES) -> dict[str, Any]:
    """The venture registers a public (PKCE) app with the SDK; an operator approves it."""
    app = world.maker.apps.register(world.venture_id, name="Laundry assistant", redirect_uris=[redirect_uri],
                                    scopes=scopes, description="Tells you when the wash is done.")
    assert app["status"] == "sandbox"
    world.maker.apps.submit(app["id"])
    approved = world.operator.apps.review(app["id"], "approve")
    assert approved["status"] == "approved"
    return dict(approved)


# The person's browser ------------------------------------------------------------------------------------------


def browser_for(platform: Platform, email: str) -> httpx.Client:
    """An HTTP session signed in on the login page, as a browser is (cookies, CSRF token)."""
    browser = httpx.Client(base_url=platform.url, follow_redirects=False, timeout=15)
    form = browser.get("/accounts/login/").text
    signed_in = browser.post("/accounts/login/", data={
        "csrfmiddlewaretoken": _csrf(form), "username": email, "password": PASSWORD,
    }, headers={"Referer": f"{platform.url}/accounts/login/"})
    assert signed_in.status_code == 302, signed_in.text[:300]
    return browser


def _csrf(html: str) -> str:
    found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert found, "the page has a CSRF token"
    return found.group(1)


def consent(browser: httpx.Client, authorize_url: str, *, devices: list[str], scopes: list[str] | None = None,
            allow: bool = True) -> str:
    """Open the consent screen the app sent the person to, tick `devices` (and `scopes`, else all offered), press
    Allow (or Deny): the URL the browser is sent back to (the app's callback)."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text[:500]
    html = page.text
    form = re.search(r'<form method="post" class="panel" id="consent">(.*?)</form>', html, re.S)
    assert form, "the consent screen shows its form"
    offered_devices = re.findall(r'name="devices" value="([^"]+)"', form.group(1))
    assert set(devices) <= set(offered_devices), (devices, offered_devices)
    data: dict[str, Any] = {}
    for tag in re.findall(r"<input[^>]+type=\"hidden\"[^>]*>", form.group(1)):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            data[name.group(1)] = unescape(value.group(1)) if value else ""
    data["granted"] = scopes if scopes is not None else re.findall(r'name="granted" value="([^"]+)"', form.group(1))
    data["devices"] = devices
    if allow:
        data["allow"] = "on"
    answer = browser.post(urljoin(authorize_url, "/o/authorize/"), data=data,
                          headers={"Referer": authorize_url})
    assert answer.status_code == 302, answer.text[:500]
    return answer.headers["Location"]


# The appliance -------------------------------------------------------------------------------------------------


@dataclass
class Appliance:
    """A washer speaking MQTT with its issued credentials: answers every invocation `ok`, emits events on demand."""

    washer: Washer
    client: paho.Client
    invoked: list[dict[str, Any]] = field(default_factory=list)

    def emit(self, event: str, data: Any) -> None:
        message = self.client.publish(f"devices/{self.washer.id}/events/{event}", json.dumps({"data": data}), qos=1)
        message.wait_for_publish(5)

    def stop(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def appliance(washer: Washer) -> Appliance:
    connected, subscribed = threading.Event(), threading.Event()
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id=washer.id, protocol=paho.MQTTv311)
    client.username_pw_set(washer.id, washer.secret)
    device = Appliance(washer, client)

    def on_message(c: paho.Client, _userdata: Any, message: paho.MQTTMessage) -> None:
        request = json.loads(message.payload)
        device.invoked.append(request)
        reply = {"id": request["id"], "status": "ok", "output": {"finishesInMinutes": 42}}
        c.publish(f"devices/{washer.id}/actions/reply", json.dumps(reply), qos=1)

    client.on_connect = lambda *args: connected.set()
    client.on_subscribe = lambda *args: subscribed.set()
    client.on_message = on_message
    client.connect(washer.host, washer.port)
    client.loop_start()
    assert connected.wait(10), "the washer could not connect with its issued credentials"
    client.subscribe(f"devices/{washer.id}/actions/invoke", qos=1)
    assert subscribed.wait(10)
    return device


# A webhook receiver --------------------------------------------------------------------------------------------


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes


class Receiver:
    """A local HTTP endpoint that records every request it gets and answers 204."""

    def __init__(self) -> None:
        self.requests: list[Received] = []
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests.append(Received({k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/webhooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self) -> list[dict[str, Any]]:
        with self._lock:
            return [json.loads(r.body) for r in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(check: Callable[[], Any], timeout: float = 15) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if result := check():
            return result
        time.sleep(0.2)
    return check()
