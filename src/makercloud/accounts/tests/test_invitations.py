from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from makercloud.accounts import selectors, services
from makercloud.accounts.errors import AlreadyMember, InvalidInvitation, LastOwner, NotOrganisationManager
from makercloud.accounts.models import Invitation, Membership, Role


@pytest.fixture
def supplier(maker):
    return services.organisation_create(actor=maker, kind="supplier", name="Precision Motors")


def test_an_invited_person_joins_with_the_role_from_the_e_mailed_link(maker, supplier, make_person,
                                                                      django_capture_on_commit_callbacks):
    guest = make_person("guest@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        invitation, token = services.invitation_create(actor=maker, organisation=supplier, email="Guest@example.com",
                                                       role=Role.ADMIN)
    assert token in mail.outbox[0].body and mail.outbox[0].to == ["guest@example.com"]
    assert invitation.token_hash != token  # only the hash is stored
    membership = services.invitation_accept(actor=guest, token=token)
    assert membership.role == Role.ADMIN and selectors.can_manage(person=guest, organisation=supplier)
    with pytest.raises(InvalidInvitation, match="already been accepted"):
        services.invitation_accept(actor=guest, token=token)


def test_an_invitation_is_only_for_its_address(maker, supplier, make_person):
    _invitation, token = services.invitation_create(actor=maker, organisation=supplier, email="guest@example.com")
    stranger = make_person("stranger@example.com")
    with pytest.raises(InvalidInvitation, match=r"guest@example\.com"):
        services.invitation_accept(actor=stranger, token=token)
    assert not Membership.objects.filter(person=stranger).exists()


def test_expired_withdrawn_and_unknown_invitations_are_refused(maker, supplier, make_person):
    guest = make_person("guest@example.com")
    expired, expired_token = services.invitation_create(actor=maker, organisation=supplier, email=guest.email)
    Invitation.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(InvalidInvitation, match="expired"):
        services.invitation_accept(actor=guest, token=expired_token)
    withdrawn, withdrawn_token = services.invitation_create(actor=maker, organisation=supplier, email=guest.email)
    services.invitation_revoke(actor=maker, invitation=withdrawn)
    with pytest.raises(InvalidInvitation, match="withdrawn"):
        services.invitation_accept(actor=guest, token=withdrawn_token)
    with pytest.raises(InvalidInvitation, match="does not exist"):
        services.invitation_accept(actor=guest, token="made-up")
    assert not selectors.is_member(person=guest, organisation=supplier)


def test_only_managers_invite_and_members_are_not_invited_twice(maker, supplier, make_person):
    outsider = make_person("outsider@example.com")
    with pytest.raises(NotOrganisationManager):
        services.invitation_create(actor=outsider, organisation=supplier, email="x@example.com")
    with pytest.raises(AlreadyMember):
        services.invitation_create(actor=maker, organisation=supplier, email=maker.email)
    assert not Invitation.objects.exists()


def test_the_last_owner_cannot_leave_but_a_member_can(maker, supplier, make_person):
    member = make_person("member@example.com")
    _invitation, token = services.invitation_create(actor=maker, organisation=supplier, email=member.email)
    services.invitation_accept(actor=member, token=token)
    with pytest.raises(LastOwner):
        services.membership_leave(actor=maker, organisation=supplier)
    services.membership_leave(actor=member, organisation=supplier)
    assert list(selectors.members_of(organisation=supplier).values_list("person__email", flat=True)) == [maker.email]
