"""EMQX's HTTP auth/ACL hooks (they ask gateway.auth) and the operators' stats endpoint."""

from typing import Any

from django.test import Client
from django.utils import timezone

from makercloud.gateway import auth
from makercloud.gateway.models import GatewayStats


def _hook_headers() -> dict[str, str]:
    return {"Authorization": f"Bearer {auth.hook_token()}"}


def test_emqx_authentication_hook_answers_from_the_one_auth_service(fleet: Any) -> None:
    device, secret = fleet.device()
    client = Client()
    url = "/gateway/emqx/authenticate"
    body = {"clientid": device.id, "username": device.id, "password": secret}
    assert client.post(url, body, content_type="application/json", headers=_hook_headers()).json()["result"] == "allow"
    body["password"] = "wrong"
    assert client.post(url, body, content_type="application/json", headers=_hook_headers()).json()["result"] == "deny"
    # without the broker's token nobody may use the hook to test passwords
    body["password"] = secret
    refused = client.post(url, body, content_type="application/json")
    assert refused.status_code == 401 and refused.json()["result"] == "deny"


def test_emqx_authorization_hook_holds_devices_to_their_topics(fleet: Any) -> None:
    device, _ = fleet.device()
    client = Client()

    def verdict(topic: str, action: str, clientid: str = device.id) -> str:
        body = {"clientid": clientid, "username": device.id, "topic": topic, "action": action}
        response = client.post("/gateway/emqx/authorize", body, content_type="application/json",
                               headers=_hook_headers())
        return str(response.json()["result"])

    assert verdict(f"devices/{device.id}/telemetry", "publish") == "allow"
    assert verdict(f"devices/{device.id}/desired", "subscribe") == "allow"
    assert verdict("devices/other/telemetry", "publish") == "deny"
    assert verdict("devices/other/desired", "subscribe") == "deny"
    assert verdict(f"devices/{device.id}/telemetry", "publish", clientid="someone-else") == "deny"


def test_gateway_stats_are_for_operators_only(db: Any, maker: Any, operator: Any, client_for: Any) -> None:
    now = timezone.now()
    GatewayStats.objects.create(instance="gw@host", started_at=now, updated_at=now,
                                counters={"received": 10, "accepted": 7, "rejected.not-json": 3})
    assert client_for(maker).get("/gateway/stats").status_code == 403
    assert Client().get("/gateway/stats").status_code == 403
    stats = client_for(operator).get("/gateway/stats").json()
    assert stats["total"] == {"received": 10, "accepted": 7, "rejected.not-json": 3}
    assert [g["instance"] for g in stats["gateways"]] == ["gw@host"]
