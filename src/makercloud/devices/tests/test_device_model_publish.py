"""Publishing device models through the API: versions by key, immutability, errors that name the JSON path."""

import copy
from collections.abc import Callable

from django.test import Client

from makercloud.accounts.models import User
from makercloud.devices.models import Device, DeviceModel
from makercloud.devices.tests.conftest import LAMP
from makercloud.ventures.models import Venture


def publish(client: Client, venture: Venture, document: object, query: str = "") -> object:
    return client.post(f"/api/v1/ventures/{venture.pk}/device-models{query}", document,
                       content_type="application/json")


def test_publishing_the_same_key_makes_the_next_version(maker_client: Client, venture: Venture) -> None:
    first = publish(maker_client, venture, LAMP, "?retention_days=7")
    assert first.status_code == 201, first.content
    assert first.json()["key"] == "makercloud-lamp" and first.json()["version"] == 1
    assert first.json()["retention_days"] == 7
    assert set(first.json()["actions"]) == {"blink", "reboot"}

    again = publish(maker_client, venture, LAMP)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]  # the very same document

    changed = copy.deepcopy(LAMP)
    changed["properties"]["brightness"]["maximum"] = 255
    second = publish(maker_client, venture, changed)
    assert second.status_code == 201
    assert second.json()["version"] == 2 and second.json()["key"] == "makercloud-lamp"
    assert second.json()["retention_days"] == 7  # carried over from the previous version
    assert DeviceModel.objects.get(pk=first.json()["id"]).document == LAMP  # never edited in place
    listed = maker_client.get(f"/api/v1/ventures/{venture.pk}/device-models").json()["items"]
    assert [m["version"] for m in listed] == [2, 1]


def test_an_invalid_document_is_refused_naming_the_json_path(maker_client: Client, venture: Venture) -> None:
    broken = copy.deepcopy(LAMP)
    broken["properties"]["brightness"]["minimum"] = 200  # above its maximum
    response = publish(maker_client, venture, broken)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    locs = [error["loc"] for error in response.json()["errors"]]
    assert any("properties.brightness" in str(loc) for loc in locs), locs
    assert not DeviceModel.objects.exists()


def test_a_document_that_is_not_an_object_is_refused(maker_client: Client, venture: Venture) -> None:
    response = maker_client.post(f"/api/v1/ventures/{venture.pk}/device-models", [1, 2],
                                 content_type="application/json")
    assert response.status_code in (400, 422)
    assert response["Content-Type"] == "application/problem+json"


def test_only_managers_publish(
    make_person: Callable[..., User], client_for: Callable[[User], Client], venture: Venture
) -> None:
    response = publish(client_for(make_person()), venture, LAMP)
    assert response.status_code == 403
    assert not DeviceModel.objects.exists()


def test_a_version_in_use_cannot_be_withdrawn(maker_client: Client, lamp_model: DeviceModel, device: Device) -> None:
    response = maker_client.delete(f"/api/v1/device-models/{lamp_model.pk}")
    assert response.status_code == 409 and response.json()["type"].endswith("/device-model-in-use")
    assert DeviceModel.objects.filter(pk=lamp_model.pk).exists()


def test_an_unused_version_can_be_withdrawn(maker_client: Client, lamp_model: DeviceModel) -> None:
    assert maker_client.delete(f"/api/v1/device-models/{lamp_model.pk}").status_code == 204
    assert not DeviceModel.objects.filter(pk=lamp_model.pk).exists()


def test_the_exported_td_binds_to_makerclouds_topics(maker_client: Client, lamp_model: DeviceModel) -> None:
    response = maker_client.get(f"/api/v1/device-models/{lamp_model.pk}/td")
    assert response.status_code == 200 and response["Content-Type"] == "application/td+json"
    exported = response.json()
    topics = {form.get("mqv:topic") or form.get("mqv:filter") for form in exported["actions"]["blink"]["forms"]}
    assert "devices/{deviceId}/actions/invoke" in topics
    assert exported["properties"]["brightness"]["forms"] != LAMP["properties"]["brightness"]["forms"]


def test_retention_can_change_but_the_document_cannot(maker_client: Client, lamp_model: DeviceModel) -> None:
    response = maker_client.patch(f"/api/v1/device-models/{lamp_model.pk}", {"retention_days": 90},
                                  content_type="application/json")
    assert response.status_code == 200 and response.json()["retention_days"] == 90
    sneaky = maker_client.patch(f"/api/v1/device-models/{lamp_model.pk}", {"document": {}},
                                content_type="application/json")
    assert sneaky.status_code == 422
    lamp_model.refresh_from_db()
    assert lamp_model.document == LAMP and lamp_model.retention_days == 90
