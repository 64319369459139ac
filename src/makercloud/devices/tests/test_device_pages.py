"""The device pages: fleet with provisioning (secret shown once), a model's TD, a home with generated action forms."""

import json
from collections.abc import Callable

from django.test import Client

from makercloud.accounts.models import User
from makercloud.devices import services
from makercloud.devices.models import Device, DeviceModel, Invocation
from makercloud.devices.tests.conftest import LAMP
from makercloud.ventures.models import Venture


def test_the_fleet_page_publishes_and_provisions_showing_the_secret_once(
    maker_client: Client, venture: Venture
) -> None:
    url = f"/ventures/{venture.slug}/devices/"
    published = maker_client.post(url, {"form": "publish", "document": json.dumps(LAMP)}, follow=True)
    assert published.status_code == 200
    model = DeviceModel.objects.get()
    assert "brightness" in published.content.decode() and "°C" in published.content.decode()
    page = maker_client.post(url, {"form": "provision", "model": model.pk, "name": "Hall lamp"})
    assert page.status_code == 200
    device = Device.objects.get()
    html = page.content.decode()
    secret = html.split("Secret (MQTT password)</dt><dd><code>")[1].split("</code>")[0]
    assert services._sha256(secret) == device.secret_hash
    assert secret not in maker_client.get(url).content.decode()


def test_an_invalid_document_is_explained_on_the_page(maker_client: Client, venture: Venture) -> None:
    page = maker_client.post(f"/ventures/{venture.slug}/devices/",
                             {"form": "publish", "document": json.dumps({"title": "x"})})
    assert page.status_code == 400 and "$" in page.content.decode()
    assert not DeviceModel.objects.exists()


def test_a_stranger_cannot_see_the_fleet_or_the_device(
    make_person: Callable[..., User], client_for: Callable[[User], Client], venture: Venture, device: Device
) -> None:
    client = client_for(make_person())
    assert client.get(f"/ventures/{venture.slug}/devices/").status_code == 404
    assert client.get(f"/devices/{device.pk}/").status_code == 404


def test_home_claims_and_invokes_through_a_form_generated_from_the_schema(
    make_person: Callable[..., User], client_for: Callable[[User], Client], provisioned: tuple[Device, str, str]
) -> None:
    device, _secret, code = provisioned
    client = client_for(make_person(intent="user"))
    assert client.post("/home/", {"code": code}, follow=True).status_code == 200
    home = client.get("/home/").content.decode()
    assert device.name in home
    assert 'name="a-blink-times"' in home and 'min="1"' in home and 'max="10"' in home  # from the input schema
    assert 'name="a-blink-colour"' in home and ">green<" in home
    client.post(f"/devices/{device.pk}/actions/blink/", {"a-blink-times": "3", "a-blink-colour": '"green"'})
    invocation = Invocation.objects.get()
    assert invocation.input == {"times": 3, "colour": "green"}
    refused = client.post(f"/devices/{device.pk}/actions/blink/", {"a-blink-times": "30"}, follow=True)
    assert Invocation.objects.count() == 1 and "not valid" in refused.content.decode()
    assert client.get(f"/devices/{device.pk}/live/").status_code == 200
    client.post(f"/devices/{device.pk}/unbind/")
    device.refresh_from_db()
    assert device.owner is None
