"""Who may see and control a device: its venture's members, its owner, operators (see only); nobody else."""

from collections.abc import Callable

import pytest
from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Role, User
from makercloud.devices import services
from makercloud.devices.models import Device, Invocation
from makercloud.ventures.models import Venture

READS = ["", "/telemetry", "/events", "/invocations", "/telemetry?bucket=hour"]


@pytest.mark.parametrize("path", READS)
def test_a_stranger_gets_404_as_if_the_device_did_not_exist(
    make_person: Callable[..., User], client_for: Callable[[User], Client], device: Device, path: str
) -> None:
    stranger = client_for(make_person())
    response = stranger.get(f"/api/v1/devices/{device.pk}{path}")
    absent = stranger.get(f"/api/v1/devices/dnosuchdevice000000000{path}")
    assert response.status_code == absent.status_code == 404
    assert response.json()["type"] == absent.json()["type"]


def test_a_stranger_cannot_control_or_even_find_it(
    make_person: Callable[..., User], client_for: Callable[[User], Client], device: Device
) -> None:
    stranger = client_for(make_person())
    desired = stranger.patch(f"/api/v1/devices/{device.pk}/desired", {"state": {"brightness": 5}},
                             content_type="application/json")
    invoke = stranger.post(f"/api/v1/devices/{device.pk}/actions/reboot", {}, content_type="application/json")
    assert desired.status_code == invoke.status_code == 404
    device.refresh_from_db()
    assert device.desired == {} and not Invocation.objects.exists()


def test_an_operator_sees_but_does_not_control(
    operator: User, client_for: Callable[[User], Client], device: Device
) -> None:
    client = client_for(operator)
    assert client.get(f"/api/v1/devices/{device.pk}").status_code == 200
    response = client.patch(f"/api/v1/devices/{device.pk}/desired", {"state": {"brightness": 5}},
                            content_type="application/json")
    assert response.status_code == 403 and response.json()["type"].endswith("/not-device-controller")


def test_a_venture_member_controls_it(
    maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client], venture: Venture,
    device: Device,
) -> None:
    member = make_person()
    _invitation, token = accounts_services.invitation_create(
        actor=maker, organisation=venture.organisation, email=member.email, role=Role.MEMBER
    )
    accounts_services.invitation_accept(actor=member, token=token)
    response = client_for(member).patch(f"/api/v1/devices/{device.pk}/desired", {"state": {"brightness": 5}},
                                        content_type="application/json")
    assert response.status_code == 200 and response.json()["desired"] == {"brightness": 5}


def test_once_a_customer_claims_it_the_venture_sees_it_but_only_the_customer_controls_it(
    maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client],
    provisioned: tuple[Device, str, str],
) -> None:
    device, _secret, code = provisioned
    customer = make_person(intent="user")
    assert client_for(customer).post("/api/v1/devices/claim", {"code": code},
                                     content_type="application/json").status_code == 200
    venture = client_for(maker)
    assert venture.get(f"/api/v1/devices/{device.pk}").status_code == 200  # support still sees the twin
    desired = venture.patch(f"/api/v1/devices/{device.pk}/desired", {"state": {"brightness": 5}},
                            content_type="application/json")
    invoke = venture.post(f"/api/v1/devices/{device.pk}/actions/reboot", {}, content_type="application/json")
    assert desired.status_code == invoke.status_code == 403
    assert desired.json()["type"].endswith("/not-device-controller")
    device.refresh_from_db()
    assert device.desired == {} and not Invocation.objects.filter(device=device).exists()
    assert client_for(customer).patch(f"/api/v1/devices/{device.pk}/desired", {"state": {"brightness": 5}},
                                      content_type="application/json").status_code == 200


def test_the_owner_sees_and_controls_it_until_unbinding(
    make_person: Callable[..., User], client_for: Callable[[User], Client], provisioned: tuple[Device, str, str]
) -> None:
    device, _secret, code = provisioned
    user = make_person(intent="user")
    client = client_for(user)
    assert client.get(f"/api/v1/devices/{device.pk}").status_code == 404
    claimed = client.post("/api/v1/devices/claim", {"code": code.lower().replace("-", " ")},
                          content_type="application/json")
    assert claimed.status_code == 200 and claimed.json()["claimed"] is True
    assert [d["id"] for d in client.get("/api/v1/me/devices").json()["items"]] == [device.pk]
    assert client.post(f"/api/v1/devices/{device.pk}/actions/reboot", {},
                       content_type="application/json").status_code == 201
    assert client.post(f"/api/v1/devices/{device.pk}/unbind").status_code == 200
    assert client.get(f"/api/v1/devices/{device.pk}").status_code == 404


def test_a_claimed_device_cannot_be_claimed_by_someone_else(
    make_person: Callable[..., User], client_for: Callable[[User], Client], provisioned: tuple[Device, str, str]
) -> None:
    device, _secret, code = provisioned
    first, second = make_person(), make_person()
    assert client_for(first).post("/api/v1/devices/claim", {"code": code},
                                  content_type="application/json").status_code == 200
    taken = client_for(second).post("/api/v1/devices/claim", {"code": code}, content_type="application/json")
    assert taken.status_code == 409 and taken.json()["type"].endswith("/already-claimed")
    device.refresh_from_db()
    assert device.owner == first


def test_a_wrong_claim_code_claims_nothing(
    make_person: Callable[..., User], client_for: Callable[[User], Client], device: Device
) -> None:
    response = client_for(make_person()).post("/api/v1/devices/claim", {"code": "AAAA-BBBB-CCCC"},
                                              content_type="application/json")
    assert response.status_code == 422 and response.json()["type"].endswith("/invalid-claim-code")
    device.refresh_from_db()
    assert device.owner is None


def test_the_claim_code_is_stored_only_as_a_hash(provisioned: tuple[Device, str, str]) -> None:
    device, _secret, code = provisioned
    assert code not in str(Device.objects.filter(pk=device.pk).values().first())
    assert device.claim_code_hash == services._sha256(services.normalise_claim_code(code))


def test_a_token_reaches_devices_only_within_its_scopes(
    maker: User, bearer_for: Callable[..., dict[str, str]], device: Device
) -> None:
    reader = bearer_for(maker, scopes=["devices:read"])
    assert Client().get(f"/api/v1/devices/{device.pk}", headers=reader).status_code == 200
    telemetry = Client().get(f"/api/v1/devices/{device.pk}/telemetry", headers=reader)
    control = Client().patch(f"/api/v1/devices/{device.pk}/desired", {"state": {"brightness": 5}},
                             content_type="application/json", headers=reader)
    assert telemetry.status_code == control.status_code == 403
    assert control.json()["type"].endswith("/insufficient-scope") and "devices:control" in control.json()["detail"]
    device.refresh_from_db()
    assert device.desired == {}
