"""The statements' small known world, shared by the statement tests (this module builds it; it holds no tests).

Quiet Washer shares every sale, subscription and service: 5% to the platform, 30% to its supplier, 10% to its two
co-creators by points (3 : 1), the rest to itself. Its sales (UTC):

    2026-09-10  sale 100.00           2026-09-20  sale 100.00
    2026-10-02  sale 100.00 ×3        2026-10-05  subscription 20.00 (ecosystem)
    2026-10-09  refund of one October sale
    2026-11-03  sale 200.00

Its washers: W1 claimed by Ada on 2026-09-05, W2 by Bo on 2026-10-01, W3 in no home. W1 sent telemetry on
2026-10-12 and was last seen on 2026-11-02; W2 sent an event on 2026-10-20.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Organisation, OrganisationKind, User
from makercloud.core.money import Money
from makercloud.devices import services as device_services
from makercloud.devices.models import Device, DeviceEvent, TelemetryPoint
from makercloud.ledger.services.rules import MemberSpec, party_set_update, rule_create
from makercloud.ledger.services.settlement import settle
from makercloud.ventures import services as ventures_services
from makercloud.ventures.models import Venture

RULE = """# Quiet Washer's sharing rule
split sale, subscription, service
  5% to @platform
  30% to @suppliers by bom_cost
  10% to @co_creators by points
  remaining to @venture
"""

WASHER: dict[str, Any] = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1",
    "id": "urn:makercloud:quiet-washer",
    "title": "Quiet washer",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {"drum_rpm": {"type": "integer", "minimum": 0, "maximum": 1600, "forms": [{"href": "mqtt://x/r"}]}},
    "events": {"done": {"data": {"type": "string"}, "forms": [{"href": "mqtt://x/done"}]}},
}


def at(day: str) -> datetime:
    return datetime.fromisoformat(day).replace(tzinfo=UTC)


@dataclass
class World:
    venture: Venture
    owner: User
    supplier: Organisation
    ada: User  # co-creator, 3 points; owns W1
    bo: User  # co-creator, 1 point; owns W2
    devices: list[Device]


def _sell(venture: Venture, event_id: str, amount: int, day: str, kind: str = "sale",
          revenue_class: str = "product", refund_of: str | None = None) -> None:
    settle(event_id=event_id, venture=venture.organisation, kind=kind, revenue_class=revenue_class,
           amount=Money(amount, "CNY"), occurred_at=at(day), actor=None, refund_of=refund_of)


def build_world(make_person: Callable[..., User]) -> World:
    owner = make_person("owner@example.com", name="Olu Owner")
    ada = make_person("ada@example.com", name="Ada", intent="user")
    bo = make_person("bo@example.com", name="Bo", intent="user")
    venture = ventures_services.venture_found(actor=owner, name="Quiet Washer", mission="Washers you do not hear.",
                                              origin="outside")
    supplier_owner = make_person("supplier@example.com", name="Sam Supplier", intent="supplier")
    supplier = accounts_services.organisation_create(actor=supplier_owner, kind=OrganisationKind.SUPPLIER,
                                                     name="Drum Motors")
    version = rule_create(actor=owner, venture=venture.organisation, name="Washer sales", text=RULE)
    party_set_update(actor=owner, rule=version.rule, name="suppliers",
                     members=[MemberSpec(organisation=supplier, weight=1)])
    party_set_update(actor=owner, rule=version.rule, name="co_creators",
                     members=[MemberSpec(person=ada, weight=3), MemberSpec(person=bo, weight=1)])

    _sell(venture, "sep-1", 10000, "2026-09-10")
    _sell(venture, "sep-2", 10000, "2026-09-20")
    for n in (1, 2, 3):
        _sell(venture, f"oct-{n}", 10000, "2026-10-02")
    _sell(venture, "oct-sub", 2000, "2026-10-05", kind="subscription", revenue_class="ecosystem")
    _sell(venture, "oct-refund", 10000, "2026-10-09", kind="refund", refund_of="oct-3")
    _sell(venture, "nov-1", 20000, "2026-11-03")

    model, _created = device_services.device_model_publish(actor=owner, organisation=venture.organisation,
                                                           document=WASHER)
    devices = []
    for name, person, claimed in (("W1", ada, "2026-09-05"), ("W2", bo, "2026-10-01"), ("W3", None, None)):
        device, _secret, code = device_services.device_provision(
            actor=owner, organisation=venture.organisation, model=model, name=name)
        if person is not None:
            device_services.device_claim(actor=person, code=code)
            Device.objects.filter(pk=device.pk).update(claimed_at=at(claimed))  # type: ignore[arg-type]
        devices.append(device)
    w1, w2, _w3 = devices
    TelemetryPoint.objects.create(device=w1, ts=at("2026-10-12"), name="drum_rpm", number=1200, value=1200)
    DeviceEvent.objects.create(device=w2, ts=at("2026-10-20"), name="done", data="cotton")
    Device.objects.filter(pk=w1.pk).update(last_seen_at=at("2026-11-02"))
    return World(venture=venture, owner=owner, supplier=supplier, ada=ada, bo=bo, devices=devices)
