"""The SSRF guard of webhooks (services/webhook_targets.py): endpoints whose host is, or resolves to, a loopback,
private, link-local (cloud metadata), multicast or reserved address are refused when made or changed — on the API
and on the portal page — and a delivery re-checks the address it connects to, so a name whose DNS answer changed
since (rebinding) is refused too: a failed attempt with a readable reason, and nothing reaches the address.

No internet here: public addresses are only validated, never delivered to. DNS answers for made-up names under
`.example` (which never resolve) come from the `dns` fixture; everything else uses the real resolver."""

import ipaddress
import socket
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import transaction
from django.test import Client, override_settings
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.developers.models import App, Delivery, DeliveryState, Grant, WebhookEndpoint
from makercloud.developers.services import webhook_targets, webhooks
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver
from makercloud.devices import signals
from makercloud.devices.models import Device

pytestmark = pytest.mark.django_db

JSON = "application/json"
guarded = override_settings(WEBHOOK_ALLOW_PRIVATE=False)


@pytest.fixture
def dns(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, list[str]]]:
    """Answers of a DNS server the test controls, for names under .example; the real resolver for the rest."""
    answers: dict[str, list[str]] = {}
    real = socket.getaddrinfo

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        if isinstance(host, str) and host.lower() in answers:
            found = []
            for text in answers[host.lower()]:
                if ipaddress.ip_address(text).version == 6:
                    found.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (text, int(port), 0, 0)))
                else:
                    found.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (text, int(port))))
            return found
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    yield answers


def create(client: Client, app: App, url: str) -> Any:
    return client.post(f"/api/v1/apps/{app.pk}/webhooks", {"url": url, "event_types": ["device.event"]},
                       content_type=JSON)


@guarded
@pytest.mark.parametrize(("url", "shown"), [
    ("https://127.0.0.1/hooks", "127.0.0.1 is not a public internet address (loopback)"),
    ("https://127.9.9.9:8443/hooks", "(loopback)"),
    ("http://localhost:8000/hooks", "(loopback)"),
    ("https://api.localhost/hooks", "(loopback)"),
    ("https://[::1]/hooks", "::1 is not a public internet address (loopback)"),
    ("https://10.1.2.3/hooks", "(private network)"),
    ("https://192.168.0.10/hooks", "(private network)"),
    ("https://172.16.5.4/hooks", "(private network)"),
    ("https://[fc00::1]/hooks", "(private network)"),
    ("https://169.254.169.254/latest/meta-data/", "(link-local, e.g. a cloud metadata service)"),
    ("https://[fe80::1]/hooks", "(link-local"),
    ("https://[::ffff:10.0.0.1]/hooks", "(private network)"),
    ("https://[64:ff9b::7f00:1]/hooks", "(loopback)"),
    ("https://100.64.0.1/hooks", "(carrier-grade NAT)"),
    ("https://224.0.0.251/hooks", "(multicast)"),
    ("https://0.0.0.0/hooks", "(unspecified)"),
    ("https://240.0.0.1/hooks", "(reserved)"),
])
def test_an_endpoint_on_a_non_public_address_is_refused_as_a_problem(
    maker: User, app: App, client_for: Callable[[User], Client], url: str, shown: str
) -> None:
    response = create(client_for(maker), app, url)
    assert response.status_code == 422, response.content
    assert response["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/invalid-webhook-endpoint")
    assert problem["errors"][0]["loc"] == ["body", "url"]
    assert shown in problem["detail"] and "webhooks go only to public addresses" in problem["detail"]
    assert not WebhookEndpoint.objects.exists()


@guarded
def test_a_name_that_resolves_to_a_private_address_is_refused_even_beside_a_public_one(
    maker: User, app: App, client_for: Callable[[User], Client], dns: dict[str, list[str]]
) -> None:
    dns["internal.example"] = ["10.20.30.40"]
    dns["mixed.example"] = ["93.184.216.34", "169.254.169.254"]
    client = client_for(maker)
    refused = create(client, app, "https://internal.example/hooks").json()
    assert "internal.example resolves to 10.20.30.40, which is not a public internet address" in refused["detail"]
    mixed = create(client, app, "https://mixed.example/hooks").json()
    assert "mixed.example resolves to 169.254.169.254" in mixed["detail"]
    assert not WebhookEndpoint.objects.exists()


@guarded
def test_public_addresses_and_names_not_resolving_yet_are_accepted(
    maker: User, app: App, client_for: Callable[[User], Client], dns: dict[str, list[str]]
) -> None:
    dns["hooks.example"] = ["93.184.216.34", "2606:2800:220:1:248:1893:25c8:1946"]
    client = client_for(maker)
    for url in ("https://93.184.216.34/hooks", "https://[2606:2800:220:1:248:1893:25c8:1946]/hooks",
                "https://hooks.example/hooks", "https://not-yet.example/hooks"):
        response = create(client, app, url)
        assert response.status_code == 201, (url, response.content)
    assert WebhookEndpoint.objects.count() == 4


@guarded
def test_changing_an_endpoints_url_to_the_metadata_service_is_refused(
    maker: User, app: App, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    made = create(client, app, "https://93.184.216.34/hooks").json()
    response = client.patch(f"/api/v1/apps/{app.pk}/webhooks/{made['id']}",
                            {"url": "https://169.254.169.254/latest/meta-data/"}, content_type=JSON)
    assert response.status_code == 422 and response["content-type"] == "application/problem+json"
    assert "169.254.169.254 is not a public internet address" in response.json()["detail"]
    assert WebhookEndpoint.objects.get().url == "https://93.184.216.34/hooks"


@guarded
def test_the_portal_page_says_why_in_the_form_in_english_and_chinese(
    maker: User, app: App, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    page = f"/developers/apps/{app.pk}/webhooks/"
    form = {"url": "https://169.254.169.254/latest/meta-data/", "event_types": ["device.event"]}
    response = client.post(page, form)
    assert response.status_code == 400
    assert "169.254.169.254 is not a public internet address" in response.content.decode()
    client.post("/i18n/setlang/", {"language": "zh-hans"})
    chinese = client.post(page, form).content.decode()
    assert "169.254.169.254 不是公共互联网地址" in chinese
    assert not WebhookEndpoint.objects.exists()


def test_private_addresses_are_allowed_when_the_setting_says_so(
    maker: User, app: App, client_for: Callable[[User], Client], receiver: Receiver
) -> None:
    with override_settings(WEBHOOK_ALLOW_PRIVATE=True):
        assert create(client_for(maker), app, receiver.url).status_code == 201


# At delivery time ----------------------------------------------------------------------------------------------


def publish_event(device: Device) -> None:
    with transaction.atomic():
        signals.facts_publish(signals.DeviceFacts(events=[signals.Event(device.pk, timezone.now(), "overheated", 9)]))


def test_a_delivery_to_loopback_is_refused_and_logged_not_sent(
    maker: User, app: App, grant: Grant, receiver: Receiver, device_pair: tuple[Device, Device]
) -> None:
    # Made while private addresses were allowed (the setting changed since): the delivery checks again.
    endpoint, _secret = webhooks.webhook_endpoint_create(actor=maker, app=app, url=receiver.url,
                                                         event_types=["device.event"])
    publish_event(device_pair[0])
    with guarded:
        assert webhooks.deliveries_dispatch() == 1
    assert receiver.wait_for(1, timeout=0.5) == []  # nothing reached the address
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING and delivery.retries == 1  # a failed attempt, retried later
    assert delivery.last_status is None
    assert delivery.last_error.startswith("refused: 127.0.0.1 is not a public internet address (loopback)")
    (attempt,) = delivery.attempt_log.all()
    assert not attempt.succeeded and attempt.error == delivery.last_error
    endpoint.refresh_from_db()
    assert endpoint.consecutive_failures == 1


def test_a_name_rebound_to_loopback_after_registration_is_refused_at_delivery(
    maker: User, app: App, grant: Grant, receiver: Receiver, device_pair: tuple[Device, Device],
    dns: dict[str, list[str]],
) -> None:
    port = receiver.server.server_address[1]
    dns["rebind.example"] = ["93.184.216.34"]
    with guarded:
        webhooks.webhook_endpoint_create(actor=maker, app=app, url=f"https://rebind.example:{port}/hooks",
                                         event_types=["device.event"])
        dns["rebind.example"] = ["127.0.0.1"]  # the attacker's DNS answers differently now
        publish_event(device_pair[0])
        webhooks.deliveries_dispatch()
    assert receiver.wait_for(1, timeout=0.5) == []
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.PENDING
    assert delivery.last_error.startswith(
        "refused: rebind.example resolves to 127.0.0.1, which is not a public internet address (loopback)")


@pytest.mark.parametrize(("address", "kind"), [
    ("93.184.216.34", None), ("2606:2800:220:1:248:1893:25c8:1946", None), ("8.8.8.8", None),
    ("127.0.0.1", "loopback"), ("::1", "loopback"), ("::ffff:127.0.0.1", "loopback"),
    ("10.0.0.1", "private"), ("172.31.255.255", "private"), ("192.168.1.1", "private"), ("fd12::1", "private"),
    ("169.254.169.254", "link-local"), ("fe80::1", "link-local"), ("fd00:ec2::254", "private"),
    ("100.100.100.200", "shared"), ("224.0.0.1", "multicast"), ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"), ("::", "unspecified"), ("255.255.255.255", "reserved"),  # noqa: S104
    ("192.0.2.1", "private"), ("198.18.0.1", "private"), ("64:ff9b::808:808", None), ("64:ff9b::a00:1", "private"),
])
def test_which_addresses_count_as_public(address: str, kind: str | None) -> None:
    assert webhook_targets.address_kind(ipaddress.ip_address(address)) == kind
