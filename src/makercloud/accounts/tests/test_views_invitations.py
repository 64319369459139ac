"""Accepting an invitation at /invitations/<token>/, and every way it can fail."""

from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from makercloud.accounts import services
from makercloud.accounts.models import Invitation, Membership, Organisation, User
from makercloud.ventures import services as venture_services


@pytest.fixture
def venture_invitation(maker: User) -> tuple[Organisation, Invitation, str]:
    venture = venture_services.venture_found(actor=maker, name="Cool Fridge", mission="Quiet fridges.",
                                             origin="outside")
    invitation, token = services.invitation_create(actor=maker, organisation=venture.organisation,
                                                   email="guest@example.com")
    return venture.organisation, invitation, token


def test_the_invited_person_sees_who_invites_them_and_joins(
    venture_invitation: tuple[Organisation, Invitation, str], make_person: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    organisation, _invitation, token = venture_invitation
    guest = make_person("guest@example.com", name="Guest Person")
    client = client_for(guest)
    page = client.get(f"/invitations/{token}/").content.decode()
    assert "Li Wei invites guest@example.com to join Cool Fridge as Member." in page
    response = client.post(f"/invitations/{token}/")
    assert response.status_code == 302 and response["Location"] == "/ventures/cool-fridge/"
    assert Membership.objects.filter(person=guest, organisation=organisation, role="member").exists()
    assert "Welcome to Cool Fridge" in client.get(response["Location"]).content.decode()


def test_signed_out_visitors_are_offered_sign_in_and_sign_up_that_come_back(
    venture_invitation: tuple[Organisation, Invitation, str],
) -> None:
    _organisation, _invitation, token = venture_invitation
    page = Client().get(f"/invitations/{token}/").content.decode()
    assert f"/accounts/login/?next=/invitations/{token}/" in page
    assert f"/accounts/signup/?next=/invitations/{token}/&amp;email=guest%40example.com" in page

    client = Client()
    response = client.post(
        f"/accounts/signup/?next=/invitations/{token}/",
        {"email": "guest@example.com", "name": "Guest", "password": "a-long-unusual-passphrase", "intent": "maker",
         "next": f"/invitations/{token}/"},
    )
    assert response["Location"] == f"/invitations/{token}/"
    assert "Accept and join Cool Fridge" in client.get(response["Location"]).content.decode()


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        ("expired", "This invitation has expired."),
        ("withdrawn", "This invitation was withdrawn."),
        ("accepted", "This invitation has already been accepted."),
    ],
)
def test_spoilt_invitations_say_why_and_add_nobody(
    venture_invitation: tuple[Organisation, Invitation, str], make_person: Callable[..., User],
    client_for: Callable[[User], Client], spoil: str, message: str,
) -> None:
    organisation, invitation, token = venture_invitation
    field = {"expired": "expires_at", "withdrawn": "revoked_at", "accepted": "accepted_at"}[spoil]
    when = timezone.now() - timedelta(minutes=1)
    Invitation.objects.filter(pk=invitation.pk).update(**{field: when})
    guest = make_person("guest@example.com")
    client = client_for(guest)
    assert message in client.get(f"/invitations/{token}/").content.decode()
    followed = client.post(f"/invitations/{token}/", follow=True).content.decode()
    assert message in followed
    assert not Membership.objects.filter(person=guest, organisation=organisation).exists()


def test_a_person_signed_in_with_another_address_is_told_so(
    venture_invitation: tuple[Organisation, Invitation, str], make_person: Callable[..., User],
    client_for: Callable[[User], Client],
) -> None:
    organisation, _invitation, token = venture_invitation
    other = make_person("other@example.com")
    client = client_for(other)
    page = client.get(f"/invitations/{token}/").content.decode()
    assert "This invitation was sent to guest@example.com, but you are signed in as other@example.com" in page
    followed = client.post(f"/invitations/{token}/", follow=True).content.decode()
    assert "Sign in with that address to accept it." in followed
    assert not Membership.objects.filter(person=other, organisation=organisation).exists()


def test_an_unknown_token_is_a_clear_404(db: object) -> None:
    response = Client().get("/invitations/no-such-token/")
    assert response.status_code == 404
    assert "This invitation does not exist." in response.content.decode()
