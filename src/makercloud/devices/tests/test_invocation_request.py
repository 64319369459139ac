"""Invoking device actions: input checked against the action's schema, idempotency, deadlines, waiting."""

import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from makercloud.core import mqtt
from makercloud.devices import jobs, services
from makercloud.devices.models import Device, Invocation, InvocationStatus
from makercloud.devices.tests.conftest import Listener


def invoke(client: Client, device: Device, action: str, body: Any, *, query: str = "", **headers: str) -> Any:
    return client.post(f"/api/v1/devices/{device.pk}/actions/{action}{query}", body,
                       content_type="application/json", headers=headers)


def test_an_invocation_is_sent_to_the_device(
    maker_client: Client, device: Device, listen: Callable[..., Listener], django_capture_on_commit_callbacks: Any
) -> None:
    listener = listen(f"devices/{device.pk}/actions/invoke")
    with django_capture_on_commit_callbacks(execute=True):
        response = invoke(maker_client, device, "blink", {"input": {"times": 3, "colour": "red"}})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "pending" and body["action"] == "blink"
    deadline = timezone.datetime.fromisoformat(body["deadline_at"]) - timezone.datetime.fromisoformat(
        body["requested_at"])
    assert abs(deadline.total_seconds() - 10) < 0.5
    _topic, payload, _retained = listener.wait_for(1)[0]
    assert payload == {"id": body["id"], "action": "blink", "input": {"times": 3, "colour": "red"}}


def test_invalid_input_names_the_path_and_sends_nothing(maker_client: Client, device: Device) -> None:
    response = invoke(maker_client, device, "blink", {"input": {"times": 0, "colour": "purple"}})
    assert response.status_code == 422
    assert {tuple(e["loc"]) for e in response.json()["errors"]} == {
        ("body", "input", "times"), ("body", "input", "colour")
    }
    missing = invoke(maker_client, device, "blink", {"input": {}})
    assert missing.status_code == 422 and missing.json()["errors"][0]["loc"] == ["body", "input"]
    assert "times" in missing.json()["errors"][0]["msg"]
    assert invoke(maker_client, device, "explode", {}).status_code == 404
    assert not Invocation.objects.exists()


def test_the_same_idempotency_key_returns_the_original_and_sends_once(
    maker_client: Client, device: Device, listen: Callable[..., Listener], django_capture_on_commit_callbacks: Any
) -> None:
    listener = listen(f"devices/{device.pk}/actions/invoke")
    with django_capture_on_commit_callbacks(execute=True):
        first = invoke(maker_client, device, "blink", {"input": {"times": 2}}, **{"Idempotency-Key": "abc"})
        again = invoke(maker_client, device, "blink", {"input": {"times": 2}}, **{"Idempotency-Key": "abc"})
        other = invoke(maker_client, device, "blink", {"input": {"times": 5}}, **{"Idempotency-Key": "abc"})
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["id"] == first.json()["id"]
    assert other.status_code == 409 and other.json()["type"].endswith("/idempotency-key-reused")
    assert Invocation.objects.count() == 1
    time.sleep(0.3)
    assert len(listener.wait_for(2, timeout=0.5)) == 1


def test_no_reply_by_the_deadline_is_a_timeout(maker_client: Client, device: Device) -> None:
    first = invoke(maker_client, device, "reboot", {}).json()
    second = invoke(maker_client, device, "reboot", {}).json()
    Invocation.objects.update(deadline_at=timezone.now() - timedelta(seconds=1))
    # Read lazily: the row itself becomes a timeout.
    assert maker_client.get(f"/api/v1/invocations/{first['id']}").json()["status"] == "timeout"
    assert Invocation.objects.get(pk=first["id"]).status == InvocationStatus.TIMEOUT
    # And the periodic job catches the rest without anyone reading.
    assert Invocation.objects.get(pk=second["id"]).status == InvocationStatus.PENDING
    jobs.invocations_expire.call_local()
    assert Invocation.objects.get(pk=second["id"]).status == InvocationStatus.TIMEOUT
    # A reply after the deadline changes nothing.
    assert not services.invocation_complete(device_id=device.pk, invocation_id=second["id"], status="ok")
    assert Invocation.objects.get(pk=second["id"]).status == InvocationStatus.TIMEOUT


def test_history_is_paged_newest_first(maker_client: Client, device: Device) -> None:
    ids = [invoke(maker_client, device, "reboot", {}).json()["id"] for _ in range(5)]
    page = maker_client.get(f"/api/v1/devices/{device.pk}/invocations?limit=3").json()
    assert [i["id"] for i in page["items"]] == ids[::-1][:3]
    rest = maker_client.get(f"/api/v1/devices/{device.pk}/invocations?limit=3&cursor={page['next_cursor']}").json()
    assert [i["id"] for i in rest["items"]] == ids[::-1][3:] and rest["next_cursor"] is None


class SimulatedDevice:
    """A real MQTT client acting as the appliance: it answers every invocation of `blink` on the reply topic."""

    def __init__(self, device_id: str) -> None:
        self.client = mqtt.service_client(client_id=f"test-device-{uuid.uuid4().hex[:8]}")
        ready = threading.Event()
        self.client.on_subscribe = lambda *args: ready.set()
        self.client.on_message = self._answer
        self.device_id = device_id
        address = mqtt.broker_address()
        self.client.connect(address.host, address.port)
        self.client.loop_start()
        self.client.subscribe(f"devices/{device_id}/actions/invoke", qos=1)
        assert ready.wait(5)

    def _answer(self, client: Any, userdata: Any, message: Any) -> None:
        import json

        request = json.loads(message.payload)
        reply = {"id": request["id"], "status": "ok", "output": {"blinked": request["input"]["times"]}}
        client.publish(f"devices/{self.device_id}/actions/reply", json.dumps(reply), qos=1)

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def gateway(broker: None) -> Iterator[None]:
    """The real ingest: the gateway's worker, subscribed to the broker, writing replies to the database."""
    from makercloud.gateway.worker import Gateway, GatewayOptions

    stop = threading.Event()
    worker = Gateway(GatewayOptions(client_id=f"test-gateway-{uuid.uuid4().hex[:8]}", batch_wait=0.01))
    thread = threading.Thread(target=worker.run, args=(stop,), daemon=True)
    thread.start()
    end = time.monotonic() + 5
    while not worker.connected and time.monotonic() < end:
        time.sleep(0.01)
    time.sleep(0.2)  # the subscription is confirmed right after the connection
    yield
    stop.set()
    thread.join(5)


def test_wait_returns_the_devices_answer(
    committed_db: None, maker_client: Client, device: Device, gateway: None
) -> None:
    simulated = SimulatedDevice(device.pk)
    try:
        started = time.monotonic()
        response = invoke(maker_client, device, "blink", {"input": {"times": 4}}, query="?wait=5")
        took = time.monotonic() - started
    finally:
        simulated.close()
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "ok" and body["output"] == {"blinked": 4}, body
    assert body["completed_at"] is not None and took < 3
    assert Invocation.objects.get(pk=body["id"]).status == InvocationStatus.OK


def test_wait_gives_up_at_the_deadline(committed_db: None, maker_client: Client, device: Device, broker: None) -> None:
    started = time.monotonic()
    response = invoke(maker_client, device, "reboot", {}, query="?wait=0.3")
    assert 0.25 < time.monotonic() - started < 2
    assert response.status_code == 201 and response.json()["status"] == "pending"


def test_wait_is_bounded(maker_client: Client, device: Device) -> None:
    response = invoke(maker_client, device, "reboot", {}, query="?wait=31")
    assert response.status_code == 422 and response.json()["errors"][0]["loc"] == ["query", "wait"]
    assert not Invocation.objects.exists()
