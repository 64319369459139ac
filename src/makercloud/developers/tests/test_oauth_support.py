"""What the app tests share: a venture with an app, a user with two claimed lamps, and the consent step done the way a
browser does it (the signed-in person's session posts the consent form). Test modules import these fixtures."""

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from html import unescape
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.developers.models import App
from makercloud.developers.services import clients as services
from makercloud.devices import services as devices_services
from makercloud.devices.models import Device, DeviceModel
from makercloud.devices.tests.conftest import LAMP
from makercloud.ventures import services as ventures_services
from makercloud.ventures.models import Venture

REDIRECT_URI = "http://127.0.0.1:8765/callback"
ALL_SCOPES = ["devices:read", "devices:control", "telemetry:read", "events:subscribe", "profile"]


@dataclass
class World:
    maker: User
    operator: User
    user: User
    venture: Venture
    model: DeviceModel
    lamp: Device  # the user's, to be granted
    other: Device  # the user's too, never granted
    virtual: Device  # the venture's sandbox device


def build_world(make_person: Callable[..., User]) -> World:
    maker = make_person(name="Mei Maker", intent="maker")
    operator = make_person(name="Olga Operator", operator=True)
    user = make_person(name="Uma User", intent="user")
    venture = ventures_services.venture_found(actor=maker, name="Laundry Lab", mission="Clean.", origin="outside")
    model, _ = devices_services.device_model_publish(actor=maker, organisation=venture.organisation, document=LAMP)
    devices = []
    for name in ("Kitchen lamp", "Bedroom lamp"):
        _device, _secret, code = devices_services.device_provision(
            actor=maker, organisation=venture.organisation, model=model, name=name
        )
        devices.append(devices_services.device_claim(actor=user, code=code))
    virtual = devices_services.device_provision(
        actor=maker, organisation=venture.organisation, model=model, name="Virtual lamp", sandbox=True
    )[0]
    return World(maker, operator, user, venture, model, devices[0], devices[1], virtual)


@pytest.fixture
def world(make_person: Callable[..., User]) -> World:
    return build_world(make_person)


def register(world: World, *, client_type: str = "public", scopes: list[str] | None = None,
             approve: bool = True) -> tuple[App, str | None]:
    app, secret = services.app_register(
        actor=world.maker, venture=world.venture.organisation, name="Laundry assistant", client_type=client_type,
        redirect_uris=[REDIRECT_URI], scopes=scopes or ALL_SCOPES, description="Tells you when the wash is done.",
    )
    if approve:
        services.app_submit(actor=world.maker, app=app)
        services.app_review(actor=world.operator, app=app, decision="approve")
        app.refresh_from_db()
    return app, secret


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_query(app: App, *, challenge: str | None, scope: str = " ".join(ALL_SCOPES),
                    redirect_uri: str = REDIRECT_URI, method: str = "S256", state: str = "xyz") -> str:
    params = {"response_type": "code", "client_id": app.client_id, "redirect_uri": redirect_uri, "scope": scope,
              "state": state}
    if challenge is not None:
        params |= {"code_challenge": challenge, "code_challenge_method": method}
    return "/o/authorize/?" + urlencode(params)


def hidden_fields(html: str) -> dict[str, str]:
    fields = {}
    for tag in re.findall(r"<input[^>]+type=\"hidden\"[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        value = re.search(r'value="([^"]*)"', tag)
        if name:
            fields[name.group(1)] = unescape(value.group(1)) if value else ""
    return fields


def consent(browser: Client, path_and_query: str, *, scopes: list[str], devices: list[Device],
            allow: bool = True) -> Any:
    """Open the consent screen as the signed-in person and post their choice; the answer of the post."""
    page = browser.get(path_and_query)
    assert page.status_code == 200, page.content[:500]
    data: dict[str, Any] = hidden_fields(page.content.decode())
    data.pop("csrfmiddlewaretoken", None)
    data["granted"] = scopes
    data["devices"] = [d.pk for d in devices]
    if allow:
        data["allow"] = "on"
    return browser.post("/o/authorize/", data)


def code_from(response: Any) -> str:
    assert response.status_code == 302, response.content[:500]
    query = parse_qs(urlsplit(response["Location"]).query)
    assert "code" in query, response["Location"]
    return query["code"][0]


def token_exchange(client: Client, app: App, code: str, verifier: str, *, secret: str | None = None) -> Any:
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI, "client_id": app.client_id,
            "code_verifier": verifier}
    if secret:
        data["client_secret"] = secret
    return client.post("/o/token/", data)


def token_for(world: World, app: App, browser: Client, *, scopes: list[str], devices: list[Device]) -> dict[str, Any]:
    """The whole flow in-process: consent, then the code exchanged for tokens (a public client with PKCE)."""
    verifier, challenge = pkce()
    code = code_from(consent(browser, authorize_query(app, challenge=challenge), scopes=scopes, devices=devices))
    response = token_exchange(Client(), app, code, verifier)
    assert response.status_code == 200, response.content
    return dict(response.json())
