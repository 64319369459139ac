"""Fixtures of the webhook tests: a real local HTTP receiver, a venture's app with a user's grant, an endpoint.

Test modules import what they use from here (`from makercloud.developers.tests.webhook_fixtures import *`).
"""

import json
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from django.utils import timezone
from oauth2_provider.models import Application

from makercloud.accounts.models import User
from makercloud.developers.models import App, AppStatus, Delivery, Grant, WebhookEndpoint
from makercloud.developers.services import webhooks
from makercloud.devices import services as devices_services
from makercloud.devices.models import Device, DeviceModel
from makercloud.devices.tests.conftest import LAMP
from makercloud.ventures import services as ventures_services
from makercloud.ventures.models import Venture

__all__ = [
    "Received", "Receiver", "app", "device_pair", "endpoint", "grant", "lamp_model", "make_app", "make_due",
    "make_grant", "owner", "receiver", "venture",
]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float


@dataclass
class Receiver:
    """A real HTTP server in a thread. `answers` is a list of statuses to give, in order (then `default`)."""

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    answers: list[int] = field(default_factory=list)
    default: int = 200
    stall: float = 0.0  # seconds to wait before answering the first request (a dispatcher can die meanwhile)
    arrived: threading.Condition = field(default_factory=threading.Condition)

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://127.0.0.1:{port}/hooks"

    def answer(self) -> int:
        with self.arrived:
            return self.answers.pop(0) if self.answers else self.default

    def record(self, received: Received) -> None:
        with self.arrived:
            self.requests.append(received)
            self.arrived.notify_all()

    def wait_for(self, count: int, timeout: float = 10.0) -> list[Received]:
        end = time.monotonic() + timeout
        with self.arrived:
            while len(self.requests) < count and time.monotonic() < end:
                self.arrived.wait(end - time.monotonic())
            return list(self.requests)


def _handler(receiver_box: list[Receiver]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            receiver = receiver_box[0]
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            receiver.record(Received(self.path, {k.lower(): v for k, v in self.headers.items()}, body,
                                     time.time()))
            if receiver.stall and len(receiver.requests) == 1:
                time.sleep(receiver.stall)
            status = receiver.answer()
            reply = json.dumps({"status": status}).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    return Handler


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    box: list[Receiver] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(box))
    server.daemon_threads = True
    box.append(Receiver(server=server))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield box[0]
    server.shutdown()
    server.server_close()


@pytest.fixture
def venture(maker: User) -> Venture:
    return ventures_services.venture_found(actor=maker, name="Bright Home", mission="Lamps that listen.",
                                           origin="outside")


@pytest.fixture
def lamp_model(maker: User, venture: Venture) -> DeviceModel:
    model, _created = devices_services.device_model_publish(actor=maker, organisation=venture.organisation,
                                                            document=LAMP)
    return model


@pytest.fixture
def owner(make_person: Callable[..., User]) -> User:
    return make_person("ursula@example.com", name="Ursula User", intent="user")


@pytest.fixture
def device_pair(maker: User, venture: Venture, lamp_model: DeviceModel) -> tuple[Device, Device]:
    """Two lamps of the venture; the tests grant the app only the first."""
    made = [devices_services.device_provision(actor=maker, organisation=venture.organisation, model=lamp_model,
                                              name=f"Lamp {n}")[0] for n in (1, 2)]
    return made[0], made[1]


@pytest.fixture
def make_app(maker: User, venture: Venture) -> Callable[..., App]:
    def make(name: str = "Laundry helper", *, by: User | None = None, organisation: Any = None) -> App:
        person = by or maker
        application = Application.objects.create(
            name=name, client_type="confidential", authorization_grant_type="authorization-code",
            redirect_uris="https://app.example.com/callback", user=person, client_id=uuid.uuid4().hex,
        )
        return App.objects.create(
            venture=organisation or venture.organisation, name=name, client_type="confidential",
            redirect_uris=["https://app.example.com/callback"], scopes=["devices:read", "events:subscribe"],
            status=AppStatus.APPROVED, application=application, created_by=person,
        )

    return make


@pytest.fixture
def app(make_app: Callable[..., App]) -> App:
    return make_app()


@pytest.fixture
def make_grant(owner: User) -> Callable[..., Grant]:
    def make(app: App, devices: list[Device], *, scopes: list[str] | None = None, person: User | None = None) -> Grant:
        grant = Grant.objects.create(app=app, person=person or owner,
                                     scopes=scopes or ["devices:read", "events:subscribe"])
        grant.devices.set(devices)
        return grant

    return make


@pytest.fixture
def grant(app: App, device_pair: tuple[Device, Device], make_grant: Callable[..., Grant]) -> Grant:
    return make_grant(app, [device_pair[0]])


@pytest.fixture
def endpoint(maker: User, app: App, receiver: Receiver) -> tuple[WebhookEndpoint, str]:
    return webhooks.webhook_endpoint_create(actor=maker, app=app, url=receiver.url,
                                            event_types=list(webhooks.EVENT_TYPES))


def make_due(*deliveries: Delivery) -> None:
    """As if the time of the next attempt had come."""
    Delivery.objects.filter(pk__in=[d.pk for d in deliveries]).update(
        next_attempt_at=timezone.now() - timedelta(milliseconds=1)
    )
