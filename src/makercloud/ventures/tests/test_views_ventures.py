"""Venture pages: found, list, detail, edit, invite, remove, leave — and who may not."""

from collections.abc import Callable

import pytest
from django.core import mail
from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Invitation, Membership, User
from makercloud.ventures import services
from makercloud.ventures.models import Venture


@pytest.fixture
def venture(maker: User) -> Venture:
    return services.venture_found(actor=maker, name="Cool Fridge", mission="Quiet fridges for small flats.",
                                  origin="employee")


def test_founding_a_venture_shows_it_on_the_landing_page_and_the_list(
    maker: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(maker)
    response = client.post("/ventures/new/", {"name": "Sun Kettle", "mission": "Kettles that boil on sunlight.",
                                              "origin": "outside"})
    assert response.status_code == 302 and response["Location"] == "/ventures/sun-kettle/"
    assert "Sun Kettle" in Client().get("/").content.decode()
    listing = Client().get("/ventures/").content.decode()
    assert "Sun Kettle" in listing and "Kettles that boil on sunlight." in listing
    detail = Client().get("/ventures/sun-kettle/").content.decode()
    assert "Li Wei" in detail and "founded the venture Sun Kettle" in detail


def test_founding_without_a_mission_re_renders_with_the_error(
    maker: User, client_for: Callable[[User], Client]
) -> None:
    response = client_for(maker).post("/ventures/new/", {"name": "Sun Kettle", "mission": "  ", "origin": "outside"})
    assert response.status_code == 400 and "field-errors" in response.content.decode()
    assert not Venture.objects.exists()


def test_founding_needs_a_signed_in_person(db: object) -> None:
    response = Client().post("/ventures/new/", {"name": "X", "mission": "Y", "origin": "outside"})
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
    assert not Venture.objects.exists()


def test_a_non_member_cannot_edit_or_invite(
    venture: Venture, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    stranger = client_for(make_person("stranger@example.com"))
    assert stranger.get("/ventures/cool-fridge/edit/").status_code == 403
    response = stranger.post("/ventures/cool-fridge/edit/", {"name": "Taken", "mission": "Mine.", "origin": "outside"})
    assert response.status_code == 403
    assert stranger.post("/organisations/cool-fridge/invite/", {"email": "x@example.com"}).status_code == 403
    venture.refresh_from_db()
    assert (venture.name, venture.mission) == ("Cool Fridge", "Quiet fridges for small flats.")
    assert not Invitation.objects.exists()
    page = stranger.get("/ventures/cool-fridge/").content.decode()
    assert "Edit venture" not in page and "Invite someone" not in page


def test_a_plain_member_cannot_edit_either(
    venture: Venture, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    member = make_person("member@example.com")
    _invitation, token = accounts_services.invitation_create(
        actor=venture.organisation.memberships.get().person, organisation=venture.organisation, email=member.email
    )
    accounts_services.invitation_accept(actor=member, token=token)
    assert client_for(member).get("/ventures/cool-fridge/edit/").status_code == 403


def test_the_owner_edits_the_venture(venture: Venture, maker: User, client_for: Callable[[User], Client]) -> None:
    response = client_for(maker).post("/ventures/cool-fridge/edit/",
                                      {"name": "Cool Fridge Co", "mission": "Silent fridges.", "origin": "employee"})
    assert response.status_code == 302
    page = Client().get("/ventures/cool-fridge/").content.decode()
    assert "Cool Fridge Co" in page and "Silent fridges." in page


def test_the_owner_invites_by_e_mail_and_sees_the_pending_invitation(
    venture: Venture, maker: User, client_for: Callable[[User], Client], django_capture_on_commit_callbacks: object
) -> None:
    client = client_for(maker)
    with django_capture_on_commit_callbacks(execute=True):  # type: ignore[operator]
        page = client.post("/organisations/cool-fridge/invite/", {"email": "Guest@Example.com", "role": "member"},
                           follow=True)
    assert page.redirect_chain[-1][0] == "/ventures/cool-fridge/#people"
    assert "Invitations waiting for an answer" in page.content.decode()
    assert "guest@example.com" in page.content.decode()
    assert len(mail.outbox) == 1 and "/invitations/" in mail.outbox[0].body


def test_inviting_a_member_again_says_they_are_already_in(
    venture: Venture, maker: User, client_for: Callable[[User], Client]
) -> None:
    page = client_for(maker).post("/organisations/cool-fridge/invite/", {"email": maker.email}, follow=True)
    assert "is already a member of Cool Fridge" in page.content.decode()
    assert not Invitation.objects.exists()


def test_the_owner_removes_a_member_and_a_member_leaves(
    venture: Venture, maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    first, second = make_person("one@example.com", name="One"), make_person("two@example.com", name="Two")
    for person in (first, second):
        _invitation, token = accounts_services.invitation_create(actor=maker, organisation=venture.organisation,
                                                                 email=person.email)
        accounts_services.invitation_accept(actor=person, token=token)
    membership = Membership.objects.get(person=first, organisation=venture.organisation)
    page = client_for(maker).post(f"/organisations/cool-fridge/members/{membership.pk}/remove/", follow=True)
    assert "One is no longer a member of Cool Fridge." in page.content.decode()
    page = client_for(second).post("/organisations/cool-fridge/leave/", follow=True)
    assert page.redirect_chain[-1][0] == "/dashboard/" and "You have left Cool Fridge." in page.content.decode()
    assert list(Membership.objects.filter(organisation=venture.organisation).values_list("person", flat=True)) == [
        maker.pk
    ]


def test_the_last_owner_cannot_leave_and_is_told_why(
    venture: Venture, maker: User, client_for: Callable[[User], Client]
) -> None:
    page = client_for(maker).post("/organisations/cool-fridge/leave/", follow=True)
    assert "needs another owner before its last owner can leave" in page.content.decode()
    assert Membership.objects.filter(person=maker, organisation=venture.organisation).exists()


def test_an_unknown_venture_is_a_404_page(db: object) -> None:
    response = Client().get("/ventures/nothing-here/")
    assert response.status_code == 404 and "There is no such venture." in response.content.decode()


def test_members_find_the_ventures_devices_from_its_page_and_strangers_do_not(maker, make_person, client_for):
    from makercloud.ventures import services

    services.venture_found(actor=maker, name="Laundry Lab", mission="Washers that learn.", origin="employee")
    fleet = "/ventures/laundry-lab/devices/"
    assert fleet in client_for(maker).get("/ventures/laundry-lab/").content.decode()
    assert client_for(maker).get(fleet).status_code == 200
    stranger = client_for(make_person())
    assert fleet not in stranger.get("/ventures/laundry-lab/").content.decode()
    assert stranger.get(fleet).status_code == 404
