"""Reads about people and organisations that need a permission check or a join."""

from django.db.models import Q, QuerySet
from django.utils import timezone

from makercloud.accounts.errors import (
    InvitationNotFound,
    MembershipNotFound,
    NotOrganisationManager,
    OrganisationNotFound,
    TokenNotFound,
)
from makercloud.accounts.models import (
    MANAGING_ROLES,
    Invitation,
    Membership,
    Organisation,
    OrganisationKind,
    PersonalAccessToken,
    Role,
    User,
)
from makercloud.core.models import Event


def is_operator(*, person: User | None) -> bool:
    if person is None or not person.is_authenticated or not person.pk:
        return False
    cached = getattr(person, "_is_operator", None)
    if cached is None:
        cached = Membership.objects.filter(
            person=person, organisation__kind=OrganisationKind.PLATFORM, role=Role.OPERATOR
        ).exists()
        person._is_operator = cached  # type: ignore[attr-defined]
    return bool(cached)


def role_in(*, person: User, organisation: Organisation) -> str | None:
    if not person.is_authenticated:
        return None
    return (
        Membership.objects.filter(person=person, organisation=organisation).values_list("role", flat=True).first()
    )


def can_manage(*, person: User, organisation: Organisation) -> bool:
    return role_in(person=person, organisation=organisation) in MANAGING_ROLES or is_operator(person=person)


def ensure_can_manage(*, person: User, organisation: Organisation) -> None:
    if not can_manage(person=person, organisation=organisation):
        raise NotOrganisationManager()


def is_member(*, person: User, organisation: Organisation) -> bool:
    return role_in(person=person, organisation=organisation) is not None


def organisation_get(*, organisation_id: int) -> Organisation:
    """An organisation's public profile: name, kind, description and verification are public."""
    organisation = Organisation.objects.filter(pk=organisation_id).first()
    if organisation is None:
        raise OrganisationNotFound()
    return organisation


def organisations_of(*, person: User) -> QuerySet[Organisation]:
    return Organisation.objects.filter(memberships__person=person).order_by("name")


def memberships_of(*, person: User) -> QuerySet[Membership]:
    return Membership.objects.filter(person=person).select_related("organisation").order_by("organisation__name")


def members_of(*, organisation: Organisation) -> QuerySet[Membership]:
    """Who is in an organisation and in which role — public, like a company's team page."""
    return Membership.objects.filter(organisation=organisation).select_related("person").order_by("joined_at", "id")


def invitations_of(*, viewer: User, organisation: Organisation) -> QuerySet[Invitation]:
    ensure_can_manage(person=viewer, organisation=organisation)
    return Invitation.objects.filter(organisation=organisation).select_related("invited_by")


def invitations_for(*, person: User) -> QuerySet[Invitation]:
    """Open invitations addressed to a person's e-mail."""
    return Invitation.objects.filter(
        email__iexact=person.email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).select_related("organisation", "invited_by")


def tokens_of(*, person: User) -> QuerySet[PersonalAccessToken]:
    return PersonalAccessToken.objects.filter(person=person)


def organisations_awaiting_verification() -> QuerySet[Organisation]:
    return Organisation.objects.filter(verification="pending").exclude(kind=OrganisationKind.PLATFORM).order_by(
        "created_at"
    )


def events_visible_to(*, viewer: User | None) -> QuerySet[Event]:
    """The timeline a person may read: public events, their own, their organisations'; operators read all."""
    events = Event.objects.select_related("actor")
    if viewer is not None and is_operator(person=viewer):
        return events
    if viewer is None or not viewer.is_authenticated:
        return events.filter(public=True)
    org_ids = Membership.objects.filter(person=viewer).values("organisation_id")
    return events.filter(Q(public=True) | Q(actor=viewer) | Q(organisation_id__in=org_ids))


def events_of(*, viewer: User | None, subject_type: str, subject_id: str | int) -> QuerySet[Event]:
    return events_visible_to(viewer=viewer).filter(subject_type=subject_type, subject_id=str(subject_id))


def organisation_by_slug(*, slug: str) -> Organisation:
    """An organisation's public profile by its short name (the web pages' address for it)."""
    organisation = Organisation.objects.filter(slug=slug).first()
    if organisation is None:
        raise OrganisationNotFound()
    return organisation


def organisations_by_id(*, ids: list[int | None]) -> dict[int, Organisation]:
    """Public profiles of several organisations at once, for naming them in a timeline."""
    wanted = {i for i in ids if i is not None}
    return {o.pk: o for o in Organisation.objects.filter(pk__in=wanted)} if wanted else {}


def events_of_organisation(*, viewer: User | None, organisation: Organisation) -> QuerySet[Event]:
    """An organisation's (or venture's) timeline as the viewer may read it."""
    return events_visible_to(viewer=viewer).filter(organisation_id=organisation.pk)


# Single objects and filtered timelines for the API ---------------------------------------------------------------



def membership_get(*, organisation: Organisation, membership_id: int) -> Membership:
    membership = members_of(organisation=organisation).filter(pk=membership_id).first()
    if membership is None:
        raise MembershipNotFound()
    return membership


def invitation_get(*, invitation_id: int) -> Invitation:
    invitation = Invitation.objects.select_related("organisation", "invited_by").filter(pk=invitation_id).first()
    if invitation is None:
        raise InvitationNotFound()
    return invitation


def token_get(*, person: User, token_id: int) -> PersonalAccessToken:
    """One of a person's own tokens; someone else's is as good as absent."""
    token = tokens_of(person=person).filter(pk=token_id).first()
    if token is None:
        raise TokenNotFound()
    return token


def events_search(
    *, viewer: User | None, subject_type: str | None = None, subject_id: str | None = None, kind: str | None = None
) -> QuerySet[Event]:
    """The viewer's timeline, narrowed to one subject type, one subject and/or one kind of event."""
    events = events_visible_to(viewer=viewer)
    if subject_type is not None:
        events = events.filter(subject_type=subject_type)
    if subject_id is not None:
        events = events.filter(subject_id=subject_id)
    if kind is not None:
        events = events.filter(kind=kind)
    return events
