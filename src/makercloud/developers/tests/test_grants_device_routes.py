"""Every device route of the OpenAPI document, walked with app tokens: a token reaches only its grant's devices and
only within its scopes. With the grant and the scope: 2xx. Another device (even the same person's): 403/404. The
scope not granted: 403. What apps can never do (provisioning, claiming, a venture's fleet): 403."""

import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.config.api import api
from makercloud.developers.tests.test_oauth_support import ALL_SCOPES, World, register, token_for, world  # noqa: F401
from makercloud.devices import services as devices_services

OAUTH_SCOPES = set(ALL_SCOPES)
BODIES: dict[tuple[str, str], Any] = {
    ("PATCH", "/api/v1/devices/{device_id}/desired"): {"state": {"brightness": 30}},
    ("POST", "/api/v1/devices/{device_id}/actions/{action}"): {"input": {"times": 2}},
    ("POST", "/api/v1/devices/claim"): {"code": "ABCD-EFGH-IJKL"},
    ("POST", "/api/v1/ventures/{venture_id}/devices"): {"model": 1, "name": "Another lamp"},
}
NEVER_FOR_APPS = {("GET", "/api/v1/ventures/{venture_id}/devices")}  # a fleet: its scope alone is not enough


def device_routes() -> list[tuple[str, str, str]]:
    """(method, path template, the token scope it names) of every devices operation, device models aside."""
    routes = []
    for path, operations in api.get_openapi_schema()["paths"].items():
        for method, operation in operations.items():
            if "devices" not in operation.get("tags", []) or "device-models" in path:
                continue
            scopes = [req["TokenAuth"] for req in operation.get("security", []) if "TokenAuth" in req]
            routes.append((method.upper(), path, scopes[0][0] if scopes and scopes[0] else ""))
    return sorted(routes)


ROUTES = device_routes()


def test_the_walk_covers_the_device_api() -> None:
    paths = {path for _, path, _ in ROUTES}
    assert {"/api/v1/devices/{device_id}", "/api/v1/devices/{device_id}/desired", "/api/v1/devices/{device_id}/stream",
            "/api/v1/devices/{device_id}/actions/{action}", "/api/v1/invocations/{invocation_id}",
            "/api/v1/devices/{device_id}/telemetry", "/api/v1/devices/{device_id}/events", "/api/v1/devices/claim",
            "/api/v1/me/devices", "/api/v1/me/home/stream"} <= paths
    assert len(ROUTES) >= 17


def _call(client: Client, method: str, path: str, values: dict[str, Any], token: str) -> Any:
    url = re.sub(r"\{(\w+)\}", lambda m: str(values[m.group(1)]), path)
    body = BODIES.get((method, path))
    headers = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    if method == "GET":
        return client.get(url, **headers)
    return client.generic(method, url, data=json.dumps(body or {}), content_type="application/json",
                          **headers)


def _values(world: World, device: Any) -> dict[str, Any]:  # noqa: F811
    invocation, _ = devices_services.invocation_request(actor=world.user, device=device, action="reboot", input=None,
                                                        idempotency_key="")
    return {"device_id": device.pk, "action": "blink", "invocation_id": invocation.pk,
            "venture_id": world.venture.pk}


def test_a_token_reaches_its_granted_device_within_its_scopes_and_nothing_else(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    browser = client_for(world.user)
    client = Client()
    token = token_for(world, app, browser, scopes=ALL_SCOPES, devices=[world.lamp])["access_token"]
    granted, other = _values(world, world.lamp), _values(world, world.other)

    outcomes = []
    for method, path, scope in ROUTES:
        allowed = scope in OAUTH_SCOPES and (method, path) not in NEVER_FOR_APPS
        with_grant = _call(client, method, path, granted, token).status_code
        outcomes.append((method, path, "granted device", with_grant, "2xx" if allowed else "403"))
        assert (200 <= with_grant < 300) if allowed else with_grant == 403, (method, path, with_grant)
        if "{device_id}" in path or "{invocation_id}" in path:
            elsewhere = _call(client, method, path, other, token).status_code
            assert elsewhere in {403, 404}, (method, path, elsewhere)
    assert sum(1 for o in outcomes if o[-1] == "2xx") >= 9  # reads, control, invocations, telemetry, streams


@pytest.mark.parametrize("missing", ["devices:read", "devices:control", "telemetry:read", "events:subscribe"])
def test_a_token_without_the_scope_is_refused_on_every_route_that_needs_it(
    world: World, client_for: Callable[[User], Client], missing: str  # noqa: F811
) -> None:
    app, _ = register(world)
    scopes = [s for s in ALL_SCOPES if s != missing]
    token = token_for(world, app, client_for(world.user), scopes=scopes, devices=[world.lamp])["access_token"]
    values = _values(world, world.lamp)
    needing = [(method, path) for method, path, scope in ROUTES if scope == missing]
    assert needing
    for method, path in needing:
        response = _call(Client(), method, path, values, token)
        assert response.status_code == 403, (method, path, response.status_code)
        assert response.json()["type"].endswith("/insufficient-scope")


def test_a_token_of_another_person_reaches_none_of_this_persons_devices(
    world: World, make_person: Callable[..., User], client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    stranger = make_person(intent="user")
    token = token_for(world, app, client_for(stranger), scopes=["profile"], devices=[])["access_token"]
    values = _values(world, world.lamp)
    for method, path, scope in ROUTES:
        if scope in OAUTH_SCOPES and "{" in path and "venture_id" not in path:
            assert _call(Client(), method, path, values, token).status_code in {403, 404}, (method, path)
