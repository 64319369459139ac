"""Issue 4's 'done when', end to end on the real process: an app registered through the API (a maker's personal
access token), approved by an operator and authorised by a user for one of their two washers (the consent form, in
a signed-in browser session) reads and controls that washer and not the other, receives signed webhooks for it
(verified by the SDK and by the `standardwebhooks` library), and loses both the moment the user revokes it.

Then the example app itself, examples/laundry_assistant, runs as its own processes against the platform: set up,
connected by the user, and notifying them when their washer reports `cycleFinished`.
"""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import standardwebhooks

from makercloud.sdk import ApiError, Client, OAuthFlow, WebhookVerificationError, verify_webhook
from makercloud.sdk.tests.world import (
    Appliance,
    Receiver,
    World,
    appliance,
    browser_for,
    build_world,
    consent,
    register_app,
    wait_for,
)
from tests.platform import free_port, running_platform

pytestmark = pytest.mark.process
EXAMPLE = Path(__file__).parents[2] / "examples/laundry_assistant"
REDIRECT = "http://127.0.0.1:8765/callback"


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with running_platform(tmp_path_factory.mktemp("apps") / "data", embedded_only=True) as platform:
        yield build_world(platform)


@pytest.fixture(scope="module")
def washers(world: World) -> Iterator[tuple[Appliance, Appliance]]:
    family, studio = appliance(world.granted), appliance(world.other)
    yield family, studio
    family.stop()
    studio.stop()


def _device_events(receiver: Receiver) -> list[dict[str, Any]]:
    return [body for body in receiver.bodies() if body["type"] == "device.event"]


def test_an_approved_app_reaches_one_granted_washer_hears_it_and_loses_both_on_revocation(
    world: World, washers: tuple[Appliance, Appliance]
) -> None:
    family, studio = washers
    receiver = Receiver()
    try:
        # The venture registers the app and subscribes its endpoint; an operator approves it.
        app = register_app(world, REDIRECT)
        endpoint = world.maker.webhooks.create(app["id"], receiver.url, ["device.event", "grant.revoked"])
        secret = endpoint["secret"]
        assert secret.startswith("whsec_")

        # The user consents for the Family washer only; the SDK exchanges the code.
        flow = OAuthFlow(world.platform.url, client_id=app["client_id"], redirect_uri=REDIRECT,
                         scopes=["devices:read", "devices:control", "telemetry:read", "events:subscribe"])
        request = flow.authorize()
        callback = consent(browser_for(world.platform, world.user_email), request.url, devices=[world.granted.id])
        tokens = flow.exchange(request, callback)
        mc = Client(world.platform.url, tokens.access_token)

        # It reads and controls that washer ...
        assert [d["name"] for d in mc.devices.list()] == ["Family washer"]
        assert mc.devices.get(world.granted.id)["name"] == "Family washer"
        assert mc.devices.set_desired(world.granted.id, {"programme": "cotton"})["desired"] == {"programme": "cotton"}
        started = mc.devices.invoke(world.granted.id, "start", {"programme": "cotton"}, wait=10)
        assert started["status"] == "ok" and any(r["id"] == started["id"] for r in family.invoked)
        # ... and not the other, though it is the same user's.
        for refused in (lambda: mc.devices.get(world.other.id),
                        lambda: mc.devices.set_desired(world.other.id, {"programme": "cotton"}),
                        lambda: mc.devices.invoke(world.other.id, "start", {"programme": "cotton"})):
            with pytest.raises(ApiError) as error:
                refused()
            assert error.value.status == 404
        assert studio.invoked == []

        # Both washers finish a cycle: only the granted one's event is delivered, signed.
        studio.emit("cycleFinished", {"programme": "quick", "minutes": 30})
        family.emit("cycleFinished", {"programme": "cotton", "minutes": 58})
        delivered = wait_for(lambda: _device_events(receiver))
        assert delivered, "no device.event webhook arrived"
        time.sleep(2)  # the other washer's event was stored before this one: had it been sent, it would be here
        for received in receiver.requests:
            event = verify_webhook(secret, received.headers, received.body)  # the SDK
            assert standardwebhooks.Webhook(secret).verify(received.body, received.headers)  # the third party
            assert event["id"] == received.headers["webhook-id"]
        events = _device_events(receiver)
        assert [e["data"]["device_id"] for e in events] == [world.granted.id]
        assert events[0]["data"]["event"] == "cycleFinished" and events[0]["data"]["data"]["minutes"] == 58
        forged = receiver.requests[0].body.replace(b"58", b"59")
        with pytest.raises(WebhookVerificationError):
            verify_webhook(secret, receiver.requests[0].headers, forged)

        # The user revokes it: the next call is refused, and no more device events reach the app.
        grant = next(g for g in world.user.grants.list() if g["app"]["id"] == app["id"])
        world.user.grants.revoke(grant["id"])
        with pytest.raises(ApiError) as gone:
            mc.devices.get(world.granted.id)
        assert gone.value.status == 401 and gone.value.code == "invalid-token"
        with pytest.raises(ApiError) as dead:
            flow.refresh(tokens)
        assert dead.value.code == "invalid_grant"
        revoked = wait_for(lambda: [b for b in receiver.bodies() if b["type"] == "grant.revoked"])
        assert revoked, "grant.revoked was not delivered"

        family.emit("cycleFinished", {"programme": "wool", "minutes": 40})
        assert wait_for(lambda: any(e["data"]["minutes"] == 40 for e in world.maker.devices.events(
            world.granted.id, name="cycleFinished")))  # stored by the platform (and any delivery made with it)
        time.sleep(3)
        assert len(_device_events(receiver)) == 1
        logged = list(world.maker.webhooks.deliveries(app["id"], event_type="device.event"))
        assert len(logged) == 1 and logged[0]["state"] == "succeeded"
        mc.close()
    finally:
        receiver.close()


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(EXAMPLE / "assistant.py"), *args], capture_output=True, text=True,
                          timeout=60, check=False)


def test_the_laundry_assistant_tells_its_user_when_the_granted_washer_has_finished(
    world: World, washers: tuple[Appliance, Appliance], tmp_path: Path
) -> None:
    family, studio = washers
    state, inbox = tmp_path / "state.json", tmp_path / "inbox.txt"
    callback_port, webhook_port = free_port(), free_port()
    setup = _run("--state", str(state), "setup", "--platform", world.platform.url, "--maker-token", world.maker.token,
                 "--venture", "Laundry Lab", "--callback-port", str(callback_port),
                 "--webhook-url", f"http://127.0.0.1:{webhook_port}/webhooks")
    assert setup.returncode == 0, setup.stderr
    assert "submitted it for review" in setup.stdout
    saved = json.loads(state.read_text())
    assert state.stat().st_mode & 0o077 == 0  # the webhook secret and tokens: the owner's eyes only
    world.operator.apps.review(saved["app_id"], "approve")

    connect = subprocess.Popen([sys.executable, str(EXAMPLE / "assistant.py"), "--state", str(state), "connect"],
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    runner = None
    try:
        assert connect.stdout is not None
        lines = [connect.stdout.readline() for _ in range(2)]
        url = lines[1].strip()
        assert url.startswith(f"{world.platform.url}/o/authorize/?"), lines
        callback = consent(browser_for(world.platform, world.user_email), url, devices=[world.granted.id])
        assert callback.startswith(f"http://127.0.0.1:{callback_port}/callback?")
        assert httpx.get(callback, timeout=15).status_code == 200  # the browser comes back to the assistant
        output = connect.communicate(timeout=30)[0]
        assert connect.returncode == 0, output
        assert "Connected. The assistant sees: Family washer." in output

        runner = subprocess.Popen(
            [sys.executable, str(EXAMPLE / "assistant.py"), "--state", str(state), "run", "--inbox", str(inbox)],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert runner.stdout is not None and "Listening for webhooks" in runner.stdout.readline()
        studio.emit("cycleFinished", {"programme": "quick", "minutes": 30})
        family.emit("cycleFinished", {"programme": "eco", "minutes": 58})
        expected = "Your Family washer has finished its eco programme after 58 minutes"
        assert wait_for(lambda: inbox.exists() and expected in inbox.read_text(), timeout=20), \
            inbox.read_text() if inbox.exists() else "no notification"
        time.sleep(1)
        assert inbox.read_text().count("has finished") == 1  # the Studio washer is not the assistant's to see
        # The user disconnects the assistant: grant.revoked reaches it and it forgets its tokens.
        grant = next(g for g in world.user.grants.list() if g["app"]["id"] == saved["app_id"])
        world.user.grants.revoke(grant["id"])
        assert wait_for(lambda: json.loads(state.read_text())["tokens"] is None, timeout=20)
    finally:
        for process in (connect, runner):
            if process is not None and process.poll() is None:
                process.terminate()
                process.wait(timeout=10)
