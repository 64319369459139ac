"""calls on the HTTP API: the kinds sub-domain (engineer B).

    POST /ideas                                 a verified person posts an idea (the platform's; they are its author)
    GET /calls/{id}/idea                        an idea's supports, stages and the next stage's deadline (public)
    POST /calls/{id}/supports                   support an idea (verified people, once each)
    GET, POST /calls/{id}/comments              the idea's discussion (public · author, supporters, proposers)
    GET /calls/{id}/contribution-points         co-creators' points on an awarded idea (public)
    POST /rules/{rule_id}/co-creators/from-points   set a rule's @co_creators from the venture's ideas' points
    POST /calls/{id}/supplier-rating            the owner rates an awarded sourcing call's supplier (1–5)
    GET /calls/{id}/tranches                    a funding round's tranches (venture, investor, operators)
    POST /tranches/{id}/report · POST /tranches/{id}/release
"""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts.auth import caller, optional, requires, viewer
from makercloud.calls.api.engine import CallOut, LinkIn, Title
from makercloud.calls.models.kinds import ContributionRole, IdeaState, TrancheState
from makercloud.calls.selectors import engine as engine_selectors
from makercloud.calls.selectors import kinds as selectors
from makercloud.calls.services import kinds as services
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input
from makercloud.ledger.models.rules import SharingRule
from makercloud.ledger.rules.errors import RuleNotFound

router = Router(tags=["calls"])

Text = Annotated[str, Field(min_length=1, max_length=5_000, pattern=NO_NUL)]


class StageOut(Schema):
    number: int
    supports: int = Field(..., description="The supports the stage needs.")
    days: int = Field(..., description="Days to reach it, from publication or the previous stage.")
    reached: bool


class IdeaOut(Schema):
    call_id: int
    supports: int
    stage: int = Field(..., description="How many stages are reached.")
    stages: list[StageOut]
    stage_deadline: datetime | None = Field(..., description="When the next stage is due; missing it ends the idea.")
    state: IdeaState
    supported_by_me: bool


class IdeaIn(Input):
    title: Title
    description: Annotated[str, Field(min_length=1, max_length=10_000, pattern=NO_NUL)] = Field(
        ..., description="The need or the idea, in your words.")
    attachments: list[LinkIn] = Field(default_factory=list, max_length=20, description="Links (http or https).")


class CommentIn(Input):
    text: Text


class CommentOut(Schema):
    id: int
    author_name: str = Field(..., alias="author.name")
    text: str
    created_at: datetime


class PointsOut(Schema):
    person_id: int
    person_name: str = Field(..., alias="person.name")
    role: ContributionRole
    points: int


class FeedOut(Schema):
    rule_id: int
    set: str
    members: list[dict[str, int]]


class RatingIn(Input):
    stars: int = Field(..., ge=1, le=5)
    comment: Annotated[str, Field(max_length=2_000, pattern=NO_NUL)] = ""


class RatingOut(Schema):
    supplier_id: int
    stars: int
    mean: str | None = Field(..., description="The supplier's mean rating now.")
    ratings: int


class TrancheOut(Schema):
    id: int
    number: int
    milestone: str
    amount: int = Field(..., description="Minor units.")
    currency: str
    state: TrancheState
    investor_name: str | None
    evidence: str
    reported_at: datetime | None
    released_at: datetime | None
    transfer_id: str | None

    @staticmethod
    def resolve_investor_name(tranche: Any) -> str | None:
        organisation = tranche.response.organisation
        return organisation.name if organisation else None

    @staticmethod
    def resolve_transfer_id(tranche: Any) -> str | None:
        return str(tranche.transfer_id) if tranche.transfer_id else None


class EvidenceIn(Input):
    evidence: Annotated[str, Field(min_length=1, max_length=10_000, pattern=NO_NUL)]


def _idea(request: HttpRequest, call_id: int) -> dict[str, Any]:
    person = viewer(request)
    call = engine_selectors.call_get(viewer=person, call_id=call_id)
    progress = selectors.idea_progress(call=call)
    return {"call_id": call.pk, "supports": progress.supports, "stage": progress.stage,
            "stages": selectors.idea_stages(call=call, progress=progress), "stage_deadline": progress.stage_deadline,
            "state": progress.state, "supported_by_me": selectors.has_supported(viewer=person, call=call)}


@router.post("/ideas", response={201: CallOut, **responses(403, 429)}, auth=requires("calls:write"),
             summary="Post an idea")
def idea_post(request: HttpRequest, body: IdeaIn) -> Any:
    """A person with a verified e-mail address posts a need or an idea. It is published at once as the platform's
    idea (kind `idea`, default stages), with you as its author: you take part in its discussion and earn the
    author's contribution points when a proposal is picked. Operators moderate it (they may cancel it with a public
    reason). At most 3 a day (429 too-many-ideas); unverified: 403 not-verified."""
    return Status(201, services.idea_post(actor=caller(request), title=body.title, description=body.description,
                                          attachments=[link.model_dump() for link in body.attachments]))


@router.get("/calls/{call_id}/idea", response=IdeaOut, auth=optional("calls:read"), summary="An idea's supports")
def idea_get(request: HttpRequest, call_id: Id) -> Any:
    """Supports, stages reached and the next stage's deadline (an idea that missed it has ended)."""
    return _idea(request, call_id)


@router.post("/calls/{call_id}/supports", response={201: IdeaOut, **responses(409)}, auth=requires("calls:write"),
             summary="Support an idea")
def support_add(request: HttpRequest, call_id: Id) -> Any:
    """Verified people support an open idea, once each (a second support is 409 already-supported)."""
    call = engine_selectors.call_get(viewer=caller(request), call_id=call_id)
    services.support_add(actor=caller(request), call=call)
    return Status(201, _idea(request, call_id))


@router.get("/calls/{call_id}/comments", response=list[CommentOut], auth=optional("calls:read"),
            summary="An idea's discussion")
@paginate(CursorPage)
def comments_list(request: HttpRequest, call_id: Id) -> Any:
    """The discussion of an idea among its author, supporters, proposers and the owner's managers, oldest first.
    Public for a public idea."""
    return selectors.comments_of(call=engine_selectors.call_get(viewer=viewer(request), call_id=call_id))


@router.post("/calls/{call_id}/comments", response={201: CommentOut, **responses(409)}, auth=requires("calls:write"),
             summary="Discuss an idea")
def comment_post(request: HttpRequest, call_id: Id, body: CommentIn) -> Any:
    """The idea's author and its owner's managers, its supporters and the makers who proposed."""
    call = engine_selectors.call_get(viewer=caller(request), call_id=call_id)
    return Status(201, services.comment_post(actor=caller(request), call=call, text=body.text))


@router.get("/calls/{call_id}/contribution-points", response=list[PointsOut], auth=optional("calls:read"),
            summary="Co-creators' points")
def points_list(request: HttpRequest, call_id: Id) -> Any:
    """Who earned what on an awarded idea: the author, each supporter, the chosen proposer."""
    return list(selectors.contribution_points_of(call=engine_selectors.call_get(viewer=viewer(request),
                                                                                  call_id=call_id)))


@router.post("/rules/{rule_id}/co-creators/from-points", response={200: FeedOut, **responses(409)},
             auth=requires("ledger:write"), summary="Set a rule's co-creators from points")
def points_feed(request: HttpRequest, rule_id: Id) -> Any:
    """The rule's @co_creators become the people with points on the venture's ideas, weighted by their points."""
    rule = SharingRule.objects.select_related("venture").filter(pk=rule_id).first()
    if rule is None:
        raise RuleNotFound()
    party_set = services.contribution_points_feed(actor=caller(request), rule=rule)
    return {"rule_id": rule.pk, "set": party_set.name,
            "members": [{"person_id": m.person_id, "weight": m.weight} for m in party_set.members.all()]}


@router.post("/calls/{call_id}/supplier-rating", response={201: RatingOut, **responses(409)},
             auth=requires("calls:write"), summary="Rate the supplier")
def supplier_rate(request: HttpRequest, call_id: Id, body: RatingIn) -> Any:
    """The owner of an awarded sourcing call rates its supplier once; later calls' formula uses the mean."""
    call = engine_selectors.call_for_owner(viewer=caller(request), call_id=call_id)
    rating = services.supplier_rate(actor=caller(request), call=call, stars=body.stars, comment=body.comment)
    mean, count = selectors.supplier_rating(organisation=rating.supplier_id)
    return Status(201, {"supplier_id": rating.supplier_id, "stars": rating.stars,
                        "mean": str(mean) if mean is not None else None, "ratings": count})


@router.get("/calls/{call_id}/tranches", response={200: list[TrancheOut], **responses(403)},
            auth=requires("calls:read"), summary="A funding round's tranches")
def tranches_list(request: HttpRequest, call_id: Id) -> Any:
    """A funding round's tranches in order: milestone, amount, whether it was reported met and released. The
    owner's managers, the investor's members and operators."""
    call = engine_selectors.call_get(viewer=caller(request), call_id=call_id)
    return list(selectors.tranches_of(viewer=caller(request), call=call))


@router.post("/tranches/{tranche_id}/report", response={200: TrancheOut, **responses(409)},
             auth=requires("calls:write"), summary="Report a milestone met")
def tranche_report(request: HttpRequest, tranche_id: Id, body: EvidenceIn) -> Any:
    """The venture reports the tranche's milestone met, with evidence; the investor then releases it. Tranches are
    reported in order (409 otherwise)."""
    tranche = selectors.tranche_get(viewer=caller(request), tranche_id=tranche_id)
    return services.tranche_report(actor=caller(request), tranche=tranche, evidence=body.evidence)


@router.post("/tranches/{tranche_id}/release", response={200: TrancheOut, **responses(409)},
             auth=requires("calls:write"), summary="Release a tranche")
def tranche_release(request: HttpRequest, tranche_id: Id) -> Any:
    """The investor releases a reported tranche: a ledger transfer to the venture's operating account."""
    tranche = selectors.tranche_get(viewer=caller(request), tranche_id=tranche_id)
    return services.tranche_release(actor=caller(request), tranche=tranche)
