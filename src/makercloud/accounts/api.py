"""People, organisations, memberships, invitations, tokens and the event timeline on the HTTP API.

Handlers only parse, call one service or selector (after fetching the objects it acts on) and render.
"""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts import selectors, services
from makercloud.accounts.auth import caller, optional, requires, session_only, viewer
from makercloud.accounts.models import (
    Intent,
    Invitation,
    Membership,
    OrganisationKind,
    PersonalAccessToken,
    Role,
    VerificationStatus,
)
from makercloud.accounts.scopes import SCOPES
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Email, Id, Input, Instant, LongText, Name, PersonRef

router = Router(tags=["people"])

SCOPE_LIST = ", ".join(f"`{name}`" for name in SCOPES)
InvitableRole = Literal["member", "admin", "owner"]


# Output ---------------------------------------------------------------------------------------------------------


class OrganisationRef(Schema):
    id: int
    name: str
    kind: OrganisationKind


class OrganisationOut(Schema):
    id: int
    kind: OrganisationKind
    name: str
    slug: str
    description: str
    verification: VerificationStatus
    verified_at: datetime | None
    created_at: datetime


class MembershipOut(Schema):
    """One of the caller's own memberships."""

    organisation_id: int
    organisation_name: str = Field(..., alias="organisation.name")
    organisation_kind: OrganisationKind = Field(..., alias="organisation.kind")
    role: Role


class MemberOut(Schema):
    """A member of an organisation, as the public sees them."""

    id: int = Field(..., description="The membership's id (for removing it).")
    person: PersonRef
    role: Role
    joined_at: datetime


class MeOut(Schema):
    id: int
    email: str
    name: str
    intent: Intent
    email_verified: bool
    operator: bool
    memberships: list[MembershipOut]

    @staticmethod
    def resolve_operator(person: Any) -> bool:
        return selectors.is_operator(person=person)

    @staticmethod
    def resolve_memberships(person: Any) -> list[Membership]:
        return list(selectors.memberships_of(person=person))


class InvitationOut(Schema):
    id: int
    organisation: OrganisationRef
    email: str
    role: Role
    invited_by: PersonRef
    status: Literal["open", "accepted", "withdrawn", "expired"]
    created_at: datetime
    expires_at: datetime
    accepted_at: datetime | None
    revoked_at: datetime | None

    @staticmethod
    def resolve_status(invitation: Invitation) -> str:
        if invitation.accepted_at is not None:
            return "accepted"
        if invitation.revoked_at is not None:
            return "withdrawn"
        return "open" if invitation.is_open(at=timezone.now()) else "expired"


class TokenOut(Schema):
    id: int
    name: str
    prefix: str = Field(..., description="Tells tokens apart in lists: the token starts `mc_pat_{prefix}_`.")
    scopes: list[str]
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="The token itself. It is shown this once and never again.")


class EventOut(Schema):
    id: int
    created_at: datetime
    kind: str
    subject_type: str
    subject_id: str
    actor: PersonRef | None
    organisation_id: int | None
    public: bool
    data: dict[str, Any]


# Input ----------------------------------------------------------------------------------------------------------


class MeIn(Input):
    name: Name | None = None
    intent: Intent | None = None


class TokenIn(Input):
    name: str = Field(..., min_length=1, max_length=80, pattern=NO_NUL)
    scopes: list[str] | None = Field(
        None, max_length=len(SCOPES), description=f"Default: all of {SCOPE_LIST}."
    )
    expires_at: Instant | None = Field(None, description="RFC 3339 with a time zone; default: never.")


class OrganisationIn(Input):
    kind: Literal["supplier", "investor"] = Field(..., description="Ventures are founded with POST /ventures.")
    name: Name
    description: LongText = ""


class OrganisationPatch(Input):
    name: Name | None = None
    description: LongText | None = None


class InvitationIn(Input):
    email: Email
    role: InvitableRole = "member"


class AcceptIn(Input):
    token: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL, description="The token from the e-mail.")


class VerificationIn(Input):
    approve: bool
    note: LongText = ""


class EventFilter(Schema):
    subject_type: str | None = Field(None, max_length=40, pattern=NO_NUL, examples=["venture"])
    subject_id: str | None = Field(None, max_length=64, pattern=NO_NUL)
    kind: str | None = Field(None, max_length=80, pattern=NO_NUL, examples=["venture.founded"])


# Me -------------------------------------------------------------------------------------------------------------


@router.get("/me", response=MeOut, auth=requires("profile"), summary="Who is asking")
def me_get(request: HttpRequest) -> Any:
    """The signed-in person: profile, whether they are an operator, and their memberships."""
    return caller(request)


@router.patch("/me", response=MeOut, auth=requires("profile"), summary="Change your profile")
def me_update(request: HttpRequest, body: MeIn) -> Any:
    """Change your name or what you came to do (`intent`). Fields left out or null stay as they are."""
    return services.person_update(person=caller(request), name=body.name, intent=body.intent)


@router.get("/me/tokens", response=list[TokenOut], auth=requires("profile"), summary="Your personal access tokens")
@paginate(CursorPage)
def me_tokens(request: HttpRequest) -> Any:
    """Every token you have made, including revoked and expired ones. The tokens themselves are never shown."""
    return selectors.tokens_of(person=caller(request))


@router.post("/me/tokens", response={201: TokenCreatedOut}, auth=session_only(),
             summary="Make a personal access token")
def me_token_create(request: HttpRequest, body: TokenIn) -> Any:
    """Make a token for scripts. The response carries the token once; store it, it cannot be shown again.

    Only a signed-in session can do this: a token cannot mint tokens (403 `session-required`).
    """
    token, raw = services.token_create(
        person=caller(request), name=body.name, scopes=body.scopes, expires_at=body.expires_at
    )
    return Status(201, _token_created(token, raw))


def _token_created(token: PersonalAccessToken, raw: str) -> TokenCreatedOut:
    return TokenCreatedOut.model_validate({**TokenOut.from_orm(token).model_dump(), "token": raw})


@router.delete("/me/tokens/{token_id}", response={204: None}, auth=requires("profile"), summary="Revoke a token")
def me_token_revoke(request: HttpRequest, token_id: Id) -> Any:
    """Revoke one of your tokens at once. Revoking a revoked token is a no-op; a token can revoke itself."""
    person = caller(request)
    services.token_revoke(actor=person, token=selectors.token_get(person=person, token_id=token_id))
    return Status(204, None)


@router.get("/me/invitations", response=list[InvitationOut], auth=requires("organisations:read"),
            summary="Invitations waiting for you")
@paginate(CursorPage)
def me_invitations(request: HttpRequest) -> Any:
    """Open invitations sent to your e-mail address. Accept one with the token from its e-mail."""
    return selectors.invitations_for(person=caller(request))


# Organisations --------------------------------------------------------------------------------------------------


@router.get("/organisations", response=list[OrganisationOut], auth=requires("organisations:read"),
            tags=["organisations"], summary="Your organisations")
@paginate(CursorPage)
def organisations_mine(request: HttpRequest) -> Any:
    """The organisations you are a member of: ventures, suppliers, investors (and the platform, for operators)."""
    return selectors.organisations_of(person=caller(request))


@router.post("/organisations", response={201: OrganisationOut}, auth=requires("organisations:write"),
             tags=["organisations"], summary="Register a supplier or investor")
def organisation_create(request: HttpRequest, body: OrganisationIn) -> Any:
    """Register a supplier or an investor (or solver); you become its owner. It starts waiting for verification."""
    organisation = services.organisation_create(
        actor=caller(request), kind=body.kind, name=body.name, description=body.description
    )
    return Status(201, organisation)


@router.get("/organisations/{organisation_id}", response=OrganisationOut, auth=optional("organisations:read"),
            tags=["organisations"], summary="An organisation's profile")
def organisation_get(request: HttpRequest, organisation_id: Id) -> Any:
    """An organisation's public profile. No credentials needed."""
    return selectors.organisation_get(organisation_id=organisation_id)


@router.patch("/organisations/{organisation_id}", response=OrganisationOut, auth=requires("organisations:write"),
              tags=["organisations"], summary="Change an organisation")
def organisation_update(request: HttpRequest, organisation_id: Id, body: OrganisationPatch) -> Any:
    """Change the name or description. Owners, administrators and operators only."""
    return services.organisation_update(
        actor=caller(request), organisation=selectors.organisation_get(organisation_id=organisation_id),
        name=body.name, description=body.description,
    )


@router.get("/organisations/{organisation_id}/members", response=list[MemberOut],
            auth=optional("organisations:read"), tags=["organisations"], summary="An organisation's members")
@paginate(CursorPage)
def organisation_members(request: HttpRequest, organisation_id: Id) -> Any:
    """Who is in the organisation and in which role — public, like a company's team page. E-mails are not shown."""
    return selectors.members_of(organisation=selectors.organisation_get(organisation_id=organisation_id))


@router.delete("/organisations/{organisation_id}/members/{membership_id}", response={204: None, **responses(409)},
               auth=requires("organisations:write"), tags=["organisations"], summary="Remove a member")
def organisation_member_remove(request: HttpRequest, organisation_id: Id, membership_id: Id) -> Any:
    """Remove someone from the organisation. Managers only; the last owner cannot be removed (409 `last-owner`)."""
    organisation = selectors.organisation_get(organisation_id=organisation_id)
    services.membership_remove(
        actor=caller(request),
        membership=selectors.membership_get(organisation=organisation, membership_id=membership_id),
    )
    return Status(204, None)


@router.post("/organisations/{organisation_id}/invitations", response={201: InvitationOut, **responses(409, 429)},
             auth=requires("organisations:write"), tags=["organisations"], summary="Invite someone")
def organisation_invite(request: HttpRequest, organisation_id: Id, body: InvitationIn) -> Any:
    """Invite someone by e-mail as member, administrator or owner. Managers only.

    The invitation's token goes only to the e-mail address; it expires in 14 days. Inviting a member again is a
    409 `already-member`. Invitations send e-mail, so they are limited: 50 an hour per inviter and per organisation,
    5 a day per address (clock hours and UTC days). Past a limit: 429 `rate-limited` with Retry-After, and `limit`
    names the one that is spent (`invitations-per-inviter`, `invitations-per-organisation`,
    `invitations-per-address`).
    """
    invitation, _token = services.invitation_create(
        actor=caller(request), organisation=selectors.organisation_get(organisation_id=organisation_id),
        email=body.email, role=body.role,
    )
    return Status(201, invitation)


@router.get("/organisations/{organisation_id}/invitations", response=list[InvitationOut],
            auth=requires("organisations:read"), tags=["organisations"], summary="An organisation's invitations")
@paginate(CursorPage)
def organisation_invitations(request: HttpRequest, organisation_id: Id) -> Any:
    """Every invitation the organisation has sent, with its status. Managers only."""
    return selectors.invitations_of(
        viewer=caller(request), organisation=selectors.organisation_get(organisation_id=organisation_id)
    )


# Registered before /invitations/{invitation_id}: Django tries URL patterns in order.
@router.post("/invitations/accept", response={201: MembershipOut, **responses(409)},
             auth=requires("organisations:write"), tags=["organisations"], summary="Accept an invitation")
def invitation_accept(request: HttpRequest, body: AcceptIn) -> Any:
    """Join an organisation with the token from an invitation e-mail sent to your address.

    An unknown, expired, withdrawn or already used token, or one sent to another address, is a 400
    `invalid-invitation`.
    """
    return Status(201, services.invitation_accept(actor=caller(request), token=body.token))


@router.delete("/invitations/{invitation_id}", response={204: None}, auth=requires("organisations:write"),
               tags=["organisations"], summary="Withdraw an invitation")
def invitation_withdraw(request: HttpRequest, invitation_id: Id) -> Any:
    """Withdraw an invitation that has not been accepted. Managers of its organisation only."""
    services.invitation_revoke(actor=caller(request), invitation=selectors.invitation_get(invitation_id=invitation_id))
    return Status(204, None)


@router.post("/organisations/{organisation_id}/leave", response={204: None, **responses(409)},
             auth=requires("organisations:write"), tags=["organisations"], summary="Leave an organisation")
def organisation_leave(request: HttpRequest, organisation_id: Id) -> Any:
    """Leave an organisation you are a member of. Its last owner cannot leave (409 `last-owner`)."""
    services.membership_leave(
        actor=caller(request), organisation=selectors.organisation_get(organisation_id=organisation_id)
    )
    return Status(204, None)


@router.post("/organisations/{organisation_id}/verification", response=OrganisationOut,
             auth=requires("organisations:write"), tags=["organisations"], summary="Verify an organisation")
def organisation_verify(request: HttpRequest, organisation_id: Id, body: VerificationIn) -> Any:
    """Approve or reject an organisation's verification, with a note. Platform operators only (403 `not-operator`)."""
    return services.organisation_verify(
        actor=caller(request), organisation=selectors.organisation_get(organisation_id=organisation_id),
        approve=body.approve, note=body.note,
    )


# Events ---------------------------------------------------------------------------------------------------------


@router.get("/events", response=list[EventOut], auth=optional("events:read"), tags=["events"],
            summary="The event timeline")
@paginate(CursorPage)
def events(request: HttpRequest, filters: Query[EventFilter]) -> Any:
    """What happened, newest first: public events for everyone; signed in, also your own and your organisations'.

    Narrow it with `subject_type` and `subject_id` (e.g. `venture` and its id) and `kind` (e.g. `venture.founded`).
    """
    return selectors.events_search(viewer=viewer(request), **filters.model_dump())

