"""Desired state: checked against writable properties, versioned, and sent retained to the device over MQTT."""

from collections.abc import Callable

from django.test import Client

from makercloud.devices.models import Device
from makercloud.devices.tests.conftest import Listener


def patch(client: Client, device: Device, state: dict) -> object:
    return client.patch(f"/api/v1/devices/{device.pk}/desired", {"state": state}, content_type="application/json")


def test_desired_bumps_the_version_and_reaches_the_device_retained(
    maker_client: Client, device: Device, listen: Callable[..., Listener], django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        response = patch(maker_client, device, {"brightness": 40, "on": True})
    assert response.status_code == 200, response.content
    twin = response.json()
    assert twin["desired"] == {"brightness": 40, "on": True} and twin["desired_version"] == 1
    assert twin["delta"] == {"brightness": 40, "on": True}
    # Subscribing only now: the message must have been retained by the broker.
    listener = listen(f"devices/{device.pk}/desired")
    topic, payload, retained = listener.wait_for(1)[0]
    assert topic == f"devices/{device.pk}/desired" and retained
    assert payload == {"version": 1, "state": {"brightness": 40, "on": True}}

    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        second = patch(maker_client, device, {"brightness": None, "scene": {"name": "evening"}}).json()
    assert second["desired_version"] == 2 and second["desired"] == {"on": True, "scene": {"name": "evening"}}
    assert listen(f"devices/{device.pk}/desired").wait_for(1)[0][1]["version"] == 2


def test_the_delta_is_what_the_device_has_not_reported(maker_client: Client, device: Device) -> None:
    Device.objects.filter(pk=device.pk).update(reported={"brightness": 40, "on": False})
    twin = patch(maker_client, device, {"brightness": 40, "on": True}).json()
    assert twin["delta"] == {"on": True}
    assert maker_client.get(f"/api/v1/devices/{device.pk}").json()["delta"] == {"on": True}


def test_invalid_desired_state_names_each_path_and_changes_nothing(maker_client: Client, device: Device) -> None:
    response = patch(maker_client, device, {"brightness": 150, "temperature": 20, "colour": "red",
                                            "scene": {"name": "x" * 30}})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    locs = {tuple(error["loc"]) for error in response.json()["errors"]}
    assert locs == {("body", "state", "brightness"), ("body", "state", "temperature"), ("body", "state", "colour"),
                    ("body", "state", "scene", "name")}
    device.refresh_from_db()
    assert device.desired == {} and device.desired_version == 0


def test_the_same_state_again_does_not_bump_the_version(maker_client: Client, device: Device) -> None:
    assert patch(maker_client, device, {"on": True}).json()["desired_version"] == 1
    assert patch(maker_client, device, {"on": True}).json()["desired_version"] == 1
