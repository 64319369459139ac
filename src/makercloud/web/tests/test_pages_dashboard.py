"""The dashboard shows every section that applies to the person, with empty states that say what comes next."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.ventures import services as venture_services


def test_a_maker_without_a_venture_is_invited_to_found_one(maker: User, client_for: Callable[[User], Client]) -> None:
    page = client_for(maker).get("/dashboard/").content.decode()
    assert "Your ventures" in page and "You are not in a venture yet." in page and 'href="/ventures/new/"' in page
    assert "Your home" not in page and "waiting for verification" not in page


def test_a_maker_sees_their_ventures_and_invitations(
    maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    venture_services.venture_found(actor=maker, name="Cool Fridge", mission="Fridges.", origin="outside")
    founder = make_person("founder@example.com", name="Founder")
    other = venture_services.venture_found(actor=founder, name="Sun Kettle", mission="Kettles.", origin="outside")
    accounts_services.invitation_create(actor=founder, organisation=other.organisation, email=maker.email)
    page = client_for(maker).get("/dashboard/").content.decode()
    assert "Cool Fridge" in page
    assert "Founder invites you to Sun Kettle as Member." in page


def test_a_user_sees_their_home_and_what_comes_next(
    make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    page = client_for(make_person(intent="user")).get("/dashboard/").content.decode()
    assert "Your appliances appear here once the device API arrives." in page
    assert "Your ventures" not in page


def test_a_supplier_sees_the_verification_status_of_their_organisations(
    make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    supplier = make_person(intent="supplier")
    client = client_for(supplier)
    assert "Register your company as a supplier" in client.get("/dashboard/").content.decode()
    accounts_services.organisation_create(actor=supplier, kind="supplier", name="Quiet Motors")
    page = client.get("/dashboard/").content.decode()
    assert "Quiet Motors" in page and "Waiting for verification" in page


def test_a_person_with_several_roles_sees_every_section(
    operator: User, client_for: Callable[[User], Client]
) -> None:
    venture_services.venture_found(actor=operator, name="Ops Venture", mission="Tools.", origin="employee")
    accounts_services.organisation_create(actor=operator, kind="investor", name="Ops Capital")
    page = client_for(operator).get("/dashboard/").content.decode()
    assert "Operator: organisations waiting for verification" in page
    assert "Your ventures" in page and "Ops Venture" in page
    assert "Your organisations" in page and "Ops Capital" in page


def test_the_dashboard_needs_a_signed_in_person(db: object) -> None:
    response = Client().get("/dashboard/")
    assert response.status_code == 302 and response["Location"] == "/accounts/login/?next=/dashboard/"
