"""The demo world: an operator, ventures with makers, suppliers, an investor and users.

Seeding is idempotent: each person and organisation is looked up by its e-mail or name first, so running it again
changes nothing. Later capabilities (devices, calls, the ledger) grow this world.
"""

from collections.abc import Callable

from django.db import transaction

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Membership, Organisation, OrganisationKind, Role, User
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


def _email(handle: str) -> str:
    return f"{handle}@{DEMO_DOMAIN}"


@transaction.atomic
def seed(*, say: Callable[[str], None] = print) -> None:
    people: dict[str, User] = {}
    for handle, name, intent in PEOPLE:
        person = User.objects.filter(email=_email(handle)).first() or accounts_services.person_sign_up(
            email=_email(handle), name=name, password=DEMO_PASSWORD, intent=intent, send_verification=False
        )
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

    say(f"Demo world ready: {len(PEOPLE)} people, {len(VENTURES)} ventures, {len(ORGANISATIONS)} other organisations.")
    say(
        f"  sign in as {_email('li.wei')} (maker), {_email('sofia.rossi')} (supplier), "
        f"{_email('zhao.lei')} (user) or {_email('operator')} (operator); password {DEMO_PASSWORD}"
    )


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
