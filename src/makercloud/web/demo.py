"""The demo world: an operator, ventures with makers, suppliers, an investor and users.

Seeding is idempotent: each person and organisation is looked up by its e-mail or name first, so running it again
changes nothing. Later capabilities (devices, calls, the ledger) grow this world.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core import signing
from django.db import transaction

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Membership, Organisation, OrganisationKind, Role, User
from makercloud.automations import demo as automations_demo
from makercloud.calls.models.engine import Call, CallKind, CallState
from makercloud.calls.models.kinds import Support
from makercloud.calls.services import kinds as kinds_services
from makercloud.contracts import demo as contracts_demo
from makercloud.developers import demo as developers_demo
from makercloud.devices import services as device_services
from makercloud.devices.models import Device, DeviceModel
from makercloud.ledger import demo as ledger_demo
from makercloud.ventures import services as venture_services
from makercloud.ventures.models import Origin, Venture

DEMO_PASSWORD = "rendanheyi-2026"  # noqa: S105 — published on purpose: the demo world's people are not real
DEMO_DOMAIN = "demo.makercloud.local"

PEOPLE = [
    # e-mail name, name, intent
    ("operator", "Zhang Min", "user"),
    ("li.wei", "Li Wei", "maker"),
    ("chen.jing", "Chen Jing", "maker"),
    ("wang.fang", "Wang Fang", "maker"),
    ("amara.okafor", "Amara Okafor", "maker"),
    ("sofia.rossi", "Sofia Rossi", "supplier"),
    ("kenji.sato", "Kenji Sato", "supplier"),
    ("hannah.berg", "Hannah Berg", "investor"),
    ("zhao.lei", "Zhao Lei", "user"),
    ("maria.garcia", "María García", "user"),
]

VENTURES = [
    # name, mission, origin, founder, other members
    (
        "Laundry Lab",
        "Washers that finish the job: cycles that learn each family's laundry and tell you when it is done.",
        Origin.EMPLOYEE_SPIN_OUT,
        "li.wei",
        ["chen.jing"],
    ),
    (
        "Cool Air Studio",
        "Quiet, frugal air conditioning for small flats, co-designed with the people who live in them.",
        Origin.OUTSIDE_ENTREPRENEUR,
        "amara.okafor",
        [],
    ),
    (
        "Kitchen Co-create",
        "Fridges that help families waste less food, designed with users who cook every day.",
        Origin.EMPLOYEE_SPIN_OUT,
        "wang.fang",
        ["li.wei"],
    ),
]

ORGANISATIONS = [
    # kind, name, description, owner, verified
    (
        OrganisationKind.SUPPLIER,
        "Precision Motors Ltd",
        "Brushless motors and drives for washers and dryers.",
        "sofia.rossi",
        True,
    ),
    (
        OrganisationKind.SUPPLIER,
        "Sensorik Modules",
        "Humidity, temperature and load sensors with MQTT firmware.",
        "kenji.sato",
        False,
    ),
    (
        OrganisationKind.INVESTOR,
        "Northstar Seed Fund",
        "Early funding for hardware ventures, released by milestone.",
        "hannah.berg",
        True,
    ),
]


# Appliances of the demo world: (venture, model in demo_devices.json, device names, the user whose home has them).
APPLIANCES = [
    ("Laundry Lab", "washer", ["Family washer", "Studio washer", "Laundrette washer 1"], "zhao.lei"),
    ("Cool Air Studio", "aircon", ["Bedroom air conditioner", "Living-room air conditioner"], "maria.garcia"),
]
DEVICE_MODELS = json.loads((Path(__file__).with_name("demo_devices.json")).read_text())


def _email(handle: str) -> str:
    return f"{handle}@{DEMO_DOMAIN}"


@transaction.atomic
def seed(*, say: Callable[[str], None] = print) -> None:
    people: dict[str, User] = {}
    for handle, name, intent in PEOPLE:
        person = User.objects.filter(email=_email(handle)).first() or accounts_services.person_sign_up(
            email=_email(handle), name=name, password=DEMO_PASSWORD, intent=intent, send_verification=False
        )
        if not person.email_verified:  # as if each had opened the link in their confirmation e-mail
            person = accounts_services.person_verify_email(token=signing.dumps(
                {"id": person.pk, "email": person.email}, salt=accounts_services.EMAIL_VERIFICATION_SALT))
        people[handle] = person
    operator = people["operator"]
    if not operator.is_staff:
        accounts_services.operator_grant(person=operator)

    for name, mission, origin, founder, members in VENTURES:
        venture = Venture.objects.filter(organisation__name=name).first() or venture_services.venture_found(
            actor=people[founder], name=name, mission=mission, origin=origin
        )
        _add_members(venture.organisation, [people[m] for m in members])
        if venture.organisation.verification == "pending":
            accounts_services.organisation_verify(
                actor=operator, organisation=venture.organisation, approve=True, note="Demo venture"
            )

    for kind, name, description, owner, verified in ORGANISATIONS:
        organisation = Organisation.objects.filter(name=name).first() or accounts_services.organisation_create(
            actor=people[owner], kind=kind, name=name, description=description
        )
        if verified and organisation.verification == "pending":
            accounts_services.organisation_verify(
                actor=operator, organisation=organisation, approve=True, note="Documents checked"
            )

    devices = _seed_appliances(people)
    automations_demo.seed(people=people)
    developers_demo.seed_apps(people=people)
    say(
        f"Demo world ready: {len(PEOPLE)} people, {len(VENTURES)} ventures, {len(ORGANISATIONS)} other "
        f"organisations, {devices} virtual appliances."
    )
    say(
        f"  sign in as {_email('li.wei')} (maker), {_email('sofia.rossi')} (supplier), "
        f"{_email('zhao.lei')} (user) or {_email('operator')} (operator); password {DEMO_PASSWORD}"
    )
    ledger_demo.seed(people=people, say=say)
    contracts_demo.seed(people=people, say=say)
    _seed_ideas(people)


USER_IDEA = "A fridge that tells me what to cook first"


def _seed_ideas(people: dict[str, User]) -> None:
    """An idea a user posted (María García), and a few supports on it and on Laundry Lab's night-mode idea."""
    if not Call.objects.filter(title=USER_IDEA).exists():
        kinds_services.idea_post(actor=people["maria.garcia"], title=USER_IDEA, description=(
            "Food goes off at the back of my fridge. I'd like it to know what's inside and suggest tonight's "
            "dinner from what expires first."))
    for title, supporters in ((contracts_demo.IDEA, ["zhao.lei", "maria.garcia", "hannah.berg", "wang.fang"]),
                              (USER_IDEA, ["zhao.lei", "chen.jing", "amara.okafor"])):
        call = Call.objects.filter(title=title, kind=CallKind.IDEA, state=CallState.OPEN).first()
        if call is None:
            continue
        for handle in supporters:
            if not Support.objects.filter(call=call, person=people[handle]).exists():
                kinds_services.support_add(actor=people[handle], call=call)


def _add_members(organisation: Organisation, people: list[User]) -> None:
    """Members join the way real ones do: invited by an owner, then accepting."""
    owner = Membership.objects.filter(organisation=organisation, role=Role.OWNER).select_related("person").first()
    if owner is None:
        return
    for person in people:
        if Membership.objects.filter(organisation=organisation, person=person).exists():
            continue
        _invitation, token = accounts_services.invitation_create(
            actor=owner.person, organisation=organisation, email=person.email
        )
        accounts_services.invitation_accept(actor=person, token=token)


def _venture_owner(name: str) -> tuple[Venture, User]:
    venture = Venture.objects.select_related("organisation").get(organisation__name=name)
    owner = Membership.objects.filter(organisation=venture.organisation, role=Role.OWNER).select_related("person")
    return venture, owner.order_by("id").first().person  # type: ignore[union-attr]


def _seed_appliances(people: dict[str, User]) -> int:
    """Each venture publishes its device model and provisions sandbox appliances, claimed into a user's home."""
    count = 0
    for venture_name, model_name, names, home in APPLIANCES:
        venture, owner = _venture_owner(venture_name)
        model, _created = device_services.device_model_publish(
            actor=owner, organisation=venture.organisation, document=DEVICE_MODELS[model_name]
        )
        for name in names:
            if not Device.objects.filter(organisation=venture.organisation, name=name).exists():
                _device, _secret, claim_code = device_services.device_provision(
                    actor=owner, organisation=venture.organisation, model=model, name=name, sandbox=True
                )
                device_services.device_claim(actor=people[home], code=claim_code)
            count += 1
    return count


@dataclass(frozen=True)
class DemoFleet:
    """Virtual appliances to run: their model's document and (device id, secret) pairs."""

    document: dict[str, Any]
    devices: list[tuple[str, str]]


@transaction.atomic
def fleets() -> list[DemoFleet]:
    """The demo appliances, ready to connect. Secrets are never stored in clear, so each start rotates them."""
    result = []
    for venture_name, _model_name, names, _home in APPLIANCES:
        venture, owner = _venture_owner(venture_name)
        devices = Device.objects.filter(organisation=venture.organisation, name__in=names, sandbox=True, enabled=True)
        pairs = [(d.id, device_services.device_rotate_secret(actor=owner, device=d)) for d in devices]
        if pairs:
            model: DeviceModel = devices[0].model
            result.append(DemoFleet(document=model.document, devices=pairs))
    return result
