"""Ventures on the HTTP API: the public directory, founding, changing, members and invitations."""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts import services as accounts_services
from makercloud.accounts.api import InvitableRole, InvitationOut, MemberOut
from makercloud.accounts.auth import caller, optional, requires
from makercloud.accounts.models import VerificationStatus
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Email, Id, Input, Name
from makercloud.ventures import selectors, services
from makercloud.ventures.models import Origin, Venture

router = Router(tags=["ventures"])

Mission = Annotated[str, Field(min_length=1, max_length=10_000, pattern=NO_NUL)]


class VentureOut(Schema):
    id: int
    organisation_id: int = Field(..., description="Its organisation: members, invitations and verification.")
    name: str
    slug: str
    mission: str
    origin: Origin
    verification: VerificationStatus = Field(..., alias="organisation.verification")
    founded_at: datetime
    member_count: int

    @staticmethod
    def resolve_member_count(venture: Venture) -> int:
        counted = getattr(venture, "member_count", None)  # the selectors annotate it; a new venture has its founder
        return counted if counted is not None else venture.organisation.memberships.count()


class VentureIn(Input):
    name: Name
    mission: Mission = Field(..., description="In a sentence: what the venture is for.")
    origin: Origin = Field(..., description="`employee`: a spin-out of the manufacturer's staff; `outside`: not.")


class VenturePatch(Input):
    name: Name | None = None
    mission: Mission | None = None
    origin: Origin | None = None


class VentureInvitationIn(Input):
    email: Email
    role: InvitableRole = "member"


@router.get("/ventures", response=list[VentureOut], auth=optional("ventures:read"), summary="The venture directory")
@paginate(CursorPage)
def ventures_list(request: HttpRequest) -> Any:
    """Every venture on the platform, newest first. Public: no credentials needed."""
    return selectors.ventures_public()


@router.post("/ventures", response={201: VentureOut}, auth=requires("ventures:write"), summary="Found a venture")
def venture_found(request: HttpRequest, body: VentureIn) -> Any:
    """Found a venture; you become the owner of its organisation, which then waits for verification."""
    venture = services.venture_found(actor=caller(request), name=body.name, mission=body.mission, origin=body.origin)
    return Status(201, venture)


@router.get("/ventures/{venture_id}", response=VentureOut, auth=optional("ventures:read"), summary="A venture")
def venture_get(request: HttpRequest, venture_id: Id) -> Any:
    """One venture's public profile."""
    return selectors.venture_get(venture_id=venture_id)


@router.patch("/ventures/{venture_id}", response=VentureOut, auth=requires("ventures:write"),
              summary="Change a venture")
def venture_update(request: HttpRequest, venture_id: Id, body: VenturePatch) -> Any:
    """Change the name, mission or origin. The venture's owners and administrators (and operators) only."""
    return services.venture_update(
        actor=caller(request), venture=selectors.venture_get(venture_id=venture_id),
        name=body.name, mission=body.mission, origin=body.origin,
    )


@router.get("/ventures/{venture_id}/members", response=list[MemberOut], auth=optional("ventures:read"),
            summary="A venture's makers")
@paginate(CursorPage)
def venture_members(request: HttpRequest, venture_id: Id) -> Any:
    """The makers in the venture and their roles. Public; e-mails are not shown."""
    return accounts_selectors.members_of(organisation=selectors.venture_get(venture_id=venture_id).organisation)


@router.post("/ventures/{venture_id}/members", response={201: InvitationOut, **responses(409, 429)},
             auth=requires("ventures:write"), summary="Invite a maker")
def venture_invite(request: HttpRequest, venture_id: Id, body: VentureInvitationIn) -> Any:
    """Invite someone by e-mail to join the venture. Owners and administrators only.

    They become a member when they accept (POST /invitations/accept with the token from the e-mail). Invitations
    send e-mail and are limited as organisations' are (POST /organisations/{id}/invitations): past a limit, 429
    `rate-limited` with Retry-After.
    """
    invitation, _token = accounts_services.invitation_create(
        actor=caller(request), organisation=selectors.venture_get(venture_id=venture_id).organisation,
        email=body.email, role=body.role,
    )
    return Status(201, invitation)


@router.post("/ventures/{venture_id}/leave", response={204: None, **responses(409)},
             auth=requires("ventures:write"), summary="Leave a venture")
def venture_leave(request: HttpRequest, venture_id: Id) -> Any:
    """Leave a venture you are in. Its last owner cannot leave (409 `last-owner`)."""
    accounts_services.membership_leave(
        actor=caller(request), organisation=selectors.venture_get(venture_id=venture_id).organisation
    )
    return Status(204, None)
