"""Provisioning through the API: the secret and claim code are shown once and only their hashes are stored."""

import hashlib
from collections.abc import Callable

from django.test import Client

from makercloud.accounts.models import User
from makercloud.devices.models import Device, DeviceModel
from makercloud.ventures.models import Venture


def test_provisioning_returns_the_secret_once_and_stores_only_its_hash(
    maker_client: Client, venture: Venture, lamp_model: DeviceModel
) -> None:
    response = maker_client.post(f"/api/v1/ventures/{venture.pk}/devices",
                                 {"model": lamp_model.pk, "name": "Kitchen lamp"}, content_type="application/json")
    assert response.status_code == 201, response.content
    body = response.json()
    device_id, secret = body["id"], body["secret"]
    assert device_id.startswith("d") and len(device_id) == 21 and device_id[1:].isalnum()
    assert body["mqtt"]["username"] == device_id and body["mqtt"]["port"] > 0
    assert len(secret) >= 40
    device = Device.objects.get(pk=device_id)
    assert device.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert device.broker_hash.startswith("$7$") and secret not in device.broker_hash
    assert secret not in str(Device.objects.filter(pk=device_id).values().first())
    # Reading the device later never shows the secret or the claim code again.
    twin = maker_client.get(f"/api/v1/devices/{device_id}")
    assert twin.status_code == 200
    assert secret not in twin.content.decode() and body["claim_code"] not in twin.content.decode()
    assert "secret" not in twin.json() and "claim_code" not in twin.json()


def test_device_ids_are_unique_and_unguessable(
    maker_client: Client, venture: Venture, lamp_model: DeviceModel
) -> None:
    ids = {
        maker_client.post(f"/api/v1/ventures/{venture.pk}/devices", {"model": lamp_model.pk, "name": f"L{i}"},
                          content_type="application/json").json()["id"]
        for i in range(20)
    }
    assert len(ids) == 20
    assert len({i[1:6] for i in ids}) > 15  # random, not sequential


def test_only_the_ventures_managers_provision(
    make_person: Callable[..., User], client_for: Callable[[User], Client], venture: Venture,
    lamp_model: DeviceModel,
) -> None:
    stranger = make_person()
    response = client_for(stranger).post(f"/api/v1/ventures/{venture.pk}/devices",
                                         {"model": lamp_model.pk, "name": "Mine now"}, content_type="application/json")
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert not Device.objects.exists()


def test_rotating_the_secret_replaces_the_hash(maker_client: Client, device: Device) -> None:
    before = device.secret_hash
    response = maker_client.post(f"/api/v1/devices/{device.pk}/secret")
    assert response.status_code == 201
    secret = response.json()["secret"]
    device.refresh_from_db()
    assert device.secret_hash == hashlib.sha256(secret.encode()).hexdigest() != before


def test_disable_and_enable(maker_client: Client, device: Device) -> None:
    assert maker_client.post(f"/api/v1/devices/{device.pk}/disable").json()["enabled"] is False
    refused = maker_client.post(f"/api/v1/devices/{device.pk}/actions/reboot", {}, content_type="application/json")
    assert refused.status_code == 409 and refused.json()["type"].endswith("/device-disabled")
    assert maker_client.post(f"/api/v1/devices/{device.pk}/enable").json()["enabled"] is True
