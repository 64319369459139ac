"""The SDK against the real platform (`makercloud up` as a process): the OAuth flow, devices, invocations,
telemetry and events pages, refresh rotation, automatic renewal, errors as problems, the rate limit."""

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from makercloud.sdk import ApiError, Client, OAuthFlow, Tokens, code_challenge
from makercloud.sdk.tests.world import (
    APP_SCOPES,
    Appliance,
    World,
    appliance,
    browser_for,
    build_world,
    consent,
    register_app,
    wait_for,
)
from tests.platform import running_platform

pytestmark = pytest.mark.process
REDIRECT = "http://127.0.0.1:8765/callback"
PER_TOKEN = 40  # the platform's per-token rate limit a minute, low enough to reach in a test


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MAKERCLOUD_OAUTH_RATE_PER_TOKEN", str(PER_TOKEN))
        with running_platform(tmp_path_factory.mktemp("sdk") / "data", embedded_only=True) as platform:
            yield build_world(platform)


@pytest.fixture(scope="module")
def app(world: World) -> dict[str, Any]:
    return register_app(world, REDIRECT)


@pytest.fixture(scope="module")
def washer(world: World) -> Iterator[Appliance]:
    device = appliance(world.granted)
    yield device
    device.stop()


def _flow(world: World, app: dict[str, Any]) -> OAuthFlow:
    return OAuthFlow(world.platform.url, client_id=app["client_id"], redirect_uri=REDIRECT, scopes=APP_SCOPES)


def _authorised(world: World, flow: OAuthFlow) -> Tokens:
    request = flow.authorize()
    callback = consent(browser_for(world.platform, world.user_email), request.url, devices=[world.granted.id])
    return flow.exchange(request, callback)


def test_the_flow_discovers_the_server_and_sends_an_s256_challenge(world: World, app: dict[str, Any]) -> None:
    flow = _flow(world, app)
    metadata = flow.metadata()
    assert metadata["issuer"] == world.platform.url
    request = flow.authorize(scopes=["devices:read"])
    assert request.url.startswith(f"{world.platform.url}/o/authorize/?")
    assert f"code_challenge={code_challenge(request.code_verifier)}" in request.url
    assert "code_challenge_method=S256" in request.url and f"state={request.state}" in request.url
    assert flow.authorize().state != request.state  # a fresh state and verifier each time
    tokens = _authorised(world, flow)
    assert set(tokens.scopes) == set(APP_SCOPES) and tokens.refresh_token
    assert tokens.expires_at is not None and 3000 < tokens.expires_at - time.time() <= 3600


def test_an_app_reads_and_controls_its_granted_washer_and_is_refused_the_other(
    world: World, app: dict[str, Any], washer: Appliance
) -> None:
    tokens = _authorised(world, _flow(world, app))
    with Client(world.platform.url, tokens.access_token) as mc:
        assert [d["id"] for d in mc.devices.list()] == [world.granted.id]
        twin = mc.devices.get(world.granted.id)
        assert twin["name"] == "Family washer" and twin["model"]["key"]
        changed = mc.devices.set_desired(world.granted.id, {"programme": "eco"})
        assert changed["desired"] == {"programme": "eco"} and changed["desired_version"] == twin["desired_version"] + 1

        done = mc.devices.invoke(world.granted.id, "start", {"programme": "eco"}, wait=10, idempotency_key="wash-1")
        assert done["status"] == "ok" and done["output"] == {"finishesInMinutes": 42}
        again = mc.devices.invoke(world.granted.id, "start", {"programme": "eco"}, idempotency_key="wash-1")
        assert again["id"] == done["id"]  # the same invocation: the washer was asked once
        assert [r["id"] for r in washer.invoked].count(done["id"]) == 1
        assert mc.invocations.get(done["id"])["status"] == "ok"

        for refused in (lambda: mc.devices.get(world.other.id),
                        lambda: mc.devices.set_desired(world.other.id, {"programme": "eco"}),
                        lambda: mc.devices.invoke(world.other.id, "start", {"programme": "eco"}),
                        lambda: list(mc.devices.events(world.other.id))):
            with pytest.raises(ApiError) as error:
                refused()
            assert error.value.status == 404 and error.value.code == "device-not-found", error.value.problem
        with pytest.raises(ApiError) as scope:
            mc.request("POST", "/devices/claim", json={"code": "ABCD-EFGH"})
        assert scope.value.status == 403 and scope.value.problem["type"].endswith("/insufficient-scope")


def test_telemetry_and_events_are_walked_page_after_page(
    world: World, app: dict[str, Any], washer: Appliance
) -> None:
    for temperature in range(30, 37):
        washer.client.publish(f"devices/{world.granted.id}/telemetry",
                              f'{{"values": {{"waterTemperature": {temperature}}}}}', qos=1).wait_for_publish(5)
    for minutes in (40, 50, 60):
        washer.emit("cycleFinished", {"programme": "eco", "minutes": minutes})
    tokens = _authorised(world, _flow(world, app))
    with Client(world.platform.url, tokens.access_token) as mc:
        points = wait_for(lambda: len(x := list(mc.devices.telemetry(
            world.granted.id, property="waterTemperature", page_size=2))) == 7 and x)
        assert [p["value"] for p in points] == [36, 35, 34, 33, 32, 31, 30]  # newest first, over four pages
        events = wait_for(lambda: len(x := list(mc.devices.events(world.granted.id, name="cycleFinished",
                                                                  page_size=2))) == 3 and x)
        assert [e["data"]["minutes"] for e in events] == [60, 50, 40]
        buckets = mc.devices.telemetry_buckets(world.granted.id, "hour", property="waterTemperature")
        assert sum(b["count"] for b in buckets) == 7 and max(b["max"] or 0 for b in buckets) == 36


def test_refresh_rotates_and_a_client_for_the_app_renews_itself(world: World, app: dict[str, Any]) -> None:
    flow = _flow(world, app)
    first = _authorised(world, flow)
    second = flow.refresh(first)
    assert second.refresh_token != first.refresh_token and second.access_token != first.access_token
    with pytest.raises(ApiError) as reused:
        flow.refresh(first)  # the rotated-out refresh token: refused (and the family ends)
    assert reused.value.code == "invalid_grant" and reused.value.status == 400

    # Shortly before expiry, a client for the app renews its tokens before the call, and hands over the new pair.
    third = _authorised(world, flow)
    third.expires_at = time.time() + 10
    stored: list[Tokens] = []
    with Client.for_app(flow, third, on_refresh=stored.append) as mc:
        assert mc.devices.get(world.granted.id)["id"] == world.granted.id
        assert len(stored) == 1 and mc.tokens is stored[0] and stored[0].refresh_token != third.refresh_token
        assert httpx.get(f"{world.platform.url}/api/v1/devices/{world.granted.id}",
                         headers={"Authorization": f"Bearer {third.access_token}"}).status_code == 401

    # An access token the server no longer knows (expired there): 401 → one refresh → the call again.
    fourth = _authorised(world, flow)
    stale = Tokens(access_token="expired-elsewhere", refresh_token=fourth.refresh_token, expires_at=None)
    renewed: list[Tokens] = []
    with Client.for_app(flow, stale, on_refresh=renewed.append) as mc:
        assert mc.devices.get(world.granted.id)["id"] == world.granted.id
        assert len(renewed) == 1 and mc.token == renewed[0].access_token


def test_a_refused_call_is_an_api_error_with_the_problem(world: World) -> None:
    with pytest.raises(ApiError) as invalid:
        world.maker.request("POST", "/ventures", json={"name": "X", "mission": "Y", "origin": "mars"})
    assert invalid.value.status == 422 and invalid.value.code == "validation"
    assert any(e["loc"][-1] == "origin" for e in invalid.value.errors)
    with Client(world.platform.url, "mc_pat_not-a-token") as stranger, pytest.raises(ApiError) as unknown:
        stranger.me()
    assert unknown.value.status == 401 and unknown.value.code == "invalid-token" and unknown.value.title


def test_past_the_rate_limit_the_error_carries_retry_after(world: World, app: dict[str, Any]) -> None:
    tokens = _authorised(world, _flow(world, app))
    slept: list[float] = []
    with Client(world.platform.url, tokens.access_token, max_retry_wait=0.5, sleep=slept.append) as mc:
        with pytest.raises(ApiError) as limited:
            for _ in range(2 * PER_TOKEN + 1):  # fixed one-minute windows: calls may straddle two of them
                mc.devices.get(world.granted.id)
        assert limited.value.status == 429 and 1 <= (limited.value.retry_after or 0) <= 60
        assert limited.value.problem["limit"] == "token"
        assert slept == []  # Retry-After beyond max_retry_wait: raised at once rather than slept on


def test_a_person_lists_and_revokes_their_grants_and_the_app_gets_401(world: World, app: dict[str, Any]) -> None:
    tokens = _authorised(world, _flow(world, app))
    grants = [g for g in world.user.grants.list() if g["app"]["id"] == app["id"]]
    assert len(grants) == 1 and grants[0]["devices"] == [{"id": world.granted.id, "name": "Family washer"}]
    world.user.grants.revoke(grants[0]["id"])
    with Client(world.platform.url, tokens.access_token) as mc, pytest.raises(ApiError) as gone:
        mc.devices.get(world.granted.id)
    assert gone.value.status == 401 and gone.value.code == "invalid-token"
    assert [g for g in world.user.grants.list() if g["app"]["id"] == app["id"]] == []


def test_the_live_stream_brings_the_granted_washers_events_and_needs_events_subscribe(
    world: World, app: dict[str, Any], washer: Appliance
) -> None:
    flow = _flow(world, app)
    tokens = _authorised(world, flow)
    seen: list[dict[str, Any]] = []
    opened = threading.Event()

    def listen(mc: Client) -> None:
        with contextlib.suppress(Exception):  # ends when the test closes the client
            opened.set()
            for message in mc.devices.stream(world.granted.id):
                seen.append(dict(message))

    mc = Client(world.platform.url, tokens.access_token)
    threading.Thread(target=listen, args=(mc,), daemon=True).start()
    try:
        assert opened.wait(5)
        time.sleep(1)  # the stream is open before the washer speaks
        washer.emit("cycleFinished", {"programme": "wool", "minutes": 77})
        found = wait_for(lambda: [m for m in seen if m["event"] == "event" and m["data"]["data"]["minutes"] == 77])
        assert found and found[0]["data"]["name"] == "cycleFinished" and found[0]["id"]
    finally:
        mc.close()

    # A person who unticks events:subscribe: the app's stream is refused with the problem.
    request = flow.authorize()
    callback = consent(browser_for(world.platform, world.user_email), request.url, devices=[world.granted.id],
                       scopes=["devices:read"])
    narrow = flow.exchange(request, callback)
    assert narrow.scopes == ["devices:read"]
    with Client(world.platform.url, narrow.access_token) as mc, pytest.raises(ApiError) as refused:
        next(iter(mc.devices.stream(world.granted.id)))
    assert refused.value.status == 403 and refused.value.code == "insufficient-scope"


def test_a_confidential_app_authenticates_with_its_secret_and_revokes_its_tokens(world: World) -> None:
    app = world.maker.apps.register(world.venture_id, name="Laundry server", redirect_uris=[REDIRECT],
                                    scopes=["devices:read"], client_type="confidential")
    secret = app.get("client_secret")
    assert secret
    world.maker.apps.submit(app["id"])
    world.operator.apps.review(app["id"], "approve")
    flow = OAuthFlow(world.platform.url, client_id=app["client_id"], client_secret=secret, redirect_uri=REDIRECT,
                     scopes=["devices:read"])
    tokens = _authorised(world, flow)
    renewed = flow.refresh(tokens)
    with Client(world.platform.url, renewed.access_token) as mc:
        assert mc.devices.get(world.granted.id)["id"] == world.granted.id
        flow.revoke(renewed.refresh_token or "")  # RFC 7009: the refresh token and its access token end
        with pytest.raises(ApiError) as gone:
            mc.devices.get(world.granted.id)
        assert gone.value.status == 401
    wrong = OAuthFlow(world.platform.url, client_id=app["client_id"], client_secret="not-the-secret",
                      redirect_uri=REDIRECT)
    with pytest.raises(ApiError) as refused:
        wrong.refresh(renewed)
    assert refused.value.status == 401 and refused.value.code == "invalid_client"
