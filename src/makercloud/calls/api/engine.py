"""calls on the HTTP API: the engine.

    GET, POST /calls                          browse (drafts: their owners' managers) · post a draft
    GET, PATCH /calls/{id}                    one call with its rules and rules_hash · change (an amendment once open)
    POST /calls/{id}/publish|cancel|award|unsuccessful
    GET, POST /calls/{id}/responses           responses (per policy; sealed calls: own only, until the deadline)
    GET /calls/{id}/ranking                   the published ranking, after evaluation
    GET /responses · POST /responses/{id}/confirm|withdraw
    GET, POST /calls/{id}/questions · POST /calls/{id}/questions/{qid}/answer
    GET /calls/{id}/timeline
    GET, POST /calls/{id}/complaints · GET /complaints (operators' queue) · POST /complaints/{id}/decision
    GET, POST /qualifications · POST /qualifications/{id}/decision|withdraw · GET /qualified-suppliers
"""

from datetime import datetime
from typing import Annotated, Any

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.auth import caller, optional, requires, viewer
from makercloud.calls.errors import ResponseNotFound
from makercloud.calls.models.engine import (
    Call,
    CallKind,
    CallState,
    Complaint,
    ComplaintRemedy,
    ComplaintState,
    QualificationState,
    Response,
    ResponseState,
)
from makercloud.calls.selectors import engine as selectors
from makercloud.calls.services import engine as services
from makercloud.core.pagination import CursorPage
from makercloud.core.problems import responses
from makercloud.core.schemas import NO_NUL, Id, Input, Instant, LongText

router = Router(tags=["calls"])

Title = Annotated[str, Field(min_length=1, max_length=200, pattern=NO_NUL)]
Reason = Annotated[str, Field(min_length=1, max_length=10_000, pattern=NO_NUL)]
Category = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_-]*$")]


class Link(Schema):
    name: str = Field(..., min_length=1, max_length=200, pattern=NO_NUL)
    url: str = Field(..., max_length=500, pattern=r"^https?://[^\s\x00]+$", description="An http(s) address.")


class LinkIn(Input, Link):
    pass


class CallOut(Schema):
    id: int
    kind: CallKind
    state: CallState
    owner_id: int = Field(..., description="The venture's (or the platform's) organisation.")
    owner_name: str = Field(..., alias="owner.name")
    title: str
    description: str
    attachments: list[dict[str, Any]]
    eligibility: dict[str, Any]
    response_form: dict[str, Any]
    selection: dict[str, Any]
    sealed: bool = Field(..., description="Responses are sealed: nothing about them shows before the deadline.")
    rules_hash: str = Field(..., description="sha256 of the canonical JSON of `rules` (empty for a draft).")
    rules: dict[str, Any] = Field(..., description="What rules_hash covers: recompute it to check.")
    terms_version: int
    questions_until: datetime | None
    responses_until: datetime | None
    standstill_days: int
    standstill_until: datetime | None
    frozen_at: datetime | None = Field(..., description="The first response (hidden for a sealed call until it "
                                                        "closes).")
    response_count: int | None = Field(..., description="Valid responses; null while a sealed call is open.")
    selected_response_id: int | None
    award_reason: str
    end_reason: str
    published_at: datetime | None
    closed_at: datetime | None
    awarded_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_rules(call: Call) -> dict[str, Any]:
        return call.rules()

    @staticmethod
    def resolve_frozen_at(call: Call) -> datetime | None:
        return None if call.sealed and not call.responses_opened else call.frozen_at

    @staticmethod
    def resolve_response_count(call: Call) -> int | None:
        return selectors.response_count(call=call)

    @staticmethod
    def resolve_selected_response_id(call: Call) -> int | None:
        return call.winner_id if call.state not in {CallState.DRAFT, CallState.OPEN, CallState.CLOSED} else None


class CallIn(Input):
    owner_id: Id = Field(..., description="A venture's organisation you manage (operators: the platform's).")
    kind: CallKind
    title: Title
    description: LongText = ""
    attachments: list[LinkIn] = Field(default_factory=list, max_length=20)
    eligibility: dict[str, Any] = Field(default_factory=dict, description="Who may respond (the kind's keys).")
    response_form: dict[str, Any] = Field(default_factory=dict, description="The response's fields.")
    selection: dict[str, Any] = Field(default_factory=dict, description="The method and its parameters.")
    questions_until: Instant | None = None
    responses_until: Instant | None = None
    standstill_days: int = Field(5, ge=0, le=60)


class CallPatch(Input):
    title: Title | None = None
    description: LongText | None = None
    attachments: list[LinkIn] | None = Field(None, max_length=20)
    eligibility: dict[str, Any] | None = None
    response_form: dict[str, Any] | None = None
    selection: dict[str, Any] | None = None
    questions_until: Instant | None = None
    responses_until: Instant | None = None
    standstill_days: int | None = Field(None, ge=0, le=60)


class ReasonIn(Input):
    reason: Reason


class AwardIn(Input):
    response_id: Id | None = Field(None, description="While evaluated: the response you select (owner-picked "
                                                     "kinds). Omit after the standstill to award.")
    reason: Reason | None = None


class ResponseIn(Input):
    content: dict[str, Any] = Field(..., description="The kind's response form, filled in.")
    organisation_id: Id | None = Field(None, description="Respond for an organisation you are a member of.")


class CallResponseOut(Schema):
    id: int
    call_id: int
    respondent_id: int
    respondent_name: str = Field(..., alias="respondent.name")
    organisation_id: int | None
    state: ResponseState
    terms_version: int
    receipt: str = Field(..., description="sha256 of what you submitted, your proof of submission (yours only).")
    content: dict[str, Any] | None = Field(..., description="Null where you may not read it (sealed, others').")
    score: str | None
    rank: int | None
    created_at: datetime

    @staticmethod
    def resolve_receipt(response: Response, context: dict[str, Any]) -> str:
        person = viewer(context["request"])
        return response.receipt if person is not None and response.respondent_id == person.pk else ""

    @staticmethod
    def resolve_content(response: Response, context: dict[str, Any]) -> dict[str, Any] | None:
        readable = selectors.can_read_content(viewer=viewer(context["request"]), response=response)
        return response.content if readable else None

    @staticmethod
    def resolve_score(response: Response) -> str | None:
        return str(response.score) if response.score is not None else None


class RankOut(Schema):
    rank: int
    response_id: int = Field(..., alias="id")
    respondent_name: str
    organisation_id: int | None
    score: str | None
    state: ResponseState

    @staticmethod
    def resolve_respondent_name(response: Response) -> str:
        return response.organisation.name if response.organisation else response.respondent.name

    @staticmethod
    def resolve_score(response: Response) -> str | None:
        return str(response.score) if response.score is not None else None


class QuestionIn(Input):
    text: Annotated[str, Field(min_length=1, max_length=5_000, pattern=NO_NUL)]


class AnswerOut(Schema):
    text: str
    author_name: str = Field(..., alias="author.name")
    created_at: datetime


class QuestionOut(Schema):
    id: int
    text: str
    asker_name: str = Field(..., alias="asker.name")
    created_at: datetime
    answer: AnswerOut | None

    @staticmethod
    def resolve_answer(question: Any) -> Any:
        return getattr(question, "answer", None) if hasattr(question, "answer") else None


class CallEventOut(Schema):
    id: int
    kind: str
    created_at: datetime
    actor_name: str | None
    data: dict[str, Any]

    @staticmethod
    def resolve_actor_name(event: Any) -> str | None:
        return event.actor.name if event.actor_id else None


class ComplaintIn(Input):
    reasons: Reason
    evidence: list[LinkIn] = Field(default_factory=list, max_length=20)


class ComplaintOut(Schema):
    id: int
    call_id: int
    complainant_name: str = Field(..., alias="complainant.name")
    reasons: str
    evidence: list[dict[str, Any]] | None = Field(..., description="The complainant, the call's owner and operators.")
    state: ComplaintState
    remedy: str
    decision_reasons: str
    decided_at: datetime | None
    created_at: datetime

    @staticmethod
    def resolve_evidence(complaint: Complaint, context: dict[str, Any]) -> list[dict[str, Any]] | None:
        visible = selectors.can_see_evidence(viewer=viewer(context["request"]), complaint=complaint)
        return complaint.evidence if visible else None


class DecisionIn(Input):
    upheld: bool
    reasons: Reason
    remedy: ComplaintRemedy = ComplaintRemedy.NONE


class QualificationIn(Input):
    organisation_id: Id = Field(..., description="A supplier organisation you manage.")
    category: Category
    documents: list[LinkIn] = Field(..., min_length=1, max_length=20)


class QualificationDecisionIn(Input):
    qualified: bool
    reasons: Reason
    valid_until: Instant | None = None


class WithdrawIn(Input):
    reasons: LongText = ""


class QualificationOut(Schema):
    id: int
    organisation_id: int
    organisation_name: str = Field(..., alias="organisation.name")
    category: str
    documents: list[dict[str, Any]]
    state: QualificationState
    valid_until: datetime | None
    reasons: str
    decided_at: datetime | None
    created_at: datetime


class QualifiedOut(Schema):
    organisation_id: int
    organisation_name: str = Field(..., alias="organisation.name")
    category: str
    valid_until: datetime | None


class CallFilters(Schema):
    kind: CallKind | None = None
    state: CallState | None = None
    owner_id: Id | None = None
    q: str | None = Field(None, max_length=200, pattern=NO_NUL, description="Search titles and descriptions.")


def _links(links: list[LinkIn] | None) -> list[dict[str, Any]] | None:
    return None if links is None else [link.model_dump() for link in links]


# Calls -----------------------------------------------------------------------------------------------------------


@router.get("/calls", response=list[CallOut], auth=optional("calls:read"), summary="Browse open calls")
@paginate(CursorPage)
def calls_list(request: HttpRequest, filters: Query[CallFilters]) -> Any:
    """Published calls of every kind, newest first, and the drafts of the organisations you manage."""
    return selectors.calls_visible(viewer=viewer(request), kind=filters.kind, state=filters.state,
                                   owner_id=filters.owner_id, search=filters.q)


@router.post("/calls", response={201: CallOut, **responses(404)}, auth=requires("calls:write"),
             summary="Post a call (draft)")
def call_create(request: HttpRequest, body: CallIn) -> Any:
    """A draft call of a venture you manage. Publish it to open it for responses under its rules."""
    owner = accounts_selectors.organisation_get(organisation_id=body.owner_id)
    call = services.call_create(
        actor=caller(request), owner=owner, kind=body.kind, title=body.title, description=body.description,
        attachments=_links(body.attachments), eligibility=body.eligibility, response_form=body.response_form,
        selection=body.selection, questions_until=body.questions_until, responses_until=body.responses_until,
        standstill_days=body.standstill_days,
    )
    return Status(201, call)


@router.get("/calls/{call_id}", response=CallOut, auth=optional("calls:read"), summary="A call")
def call_get(request: HttpRequest, call_id: Id) -> Any:
    """A call with its published rules, their sha256 and its timeline."""
    return selectors.call_get(viewer=viewer(request), call_id=call_id)


@router.patch("/calls/{call_id}", response={200: CallOut, **responses(409)}, auth=requires("calls:write"),
              summary="Change a call")
def call_update(request: HttpRequest, call_id: Id, body: CallPatch) -> Any:
    """A draft changes freely. Once open, a change to the terms (eligibility, form, selection, timeline) is an
    amendment before the deadline: a new terms_version and rules_hash, every response must be confirmed again."""
    changes = body.model_dump(exclude_unset=True)
    if "attachments" in changes:
        changes["attachments"] = _links(body.attachments)
    return services.call_update(actor=caller(request), call=selectors.call_for_owner(
        viewer=caller(request), call_id=call_id), **changes)


@router.post("/calls/{call_id}/publish", response={200: CallOut, **responses(409)}, auth=requires("calls:write"),
             summary="Publish a call")
def call_publish(request: HttpRequest, call_id: Id) -> Any:
    """Publish a draft: its rules and their sha256 (`rules_hash`) become public and responses are accepted until
    `responses_until`. The owner's owners and administrators (and operators)."""
    return services.call_publish(actor=caller(request), call=selectors.call_for_owner(
        viewer=caller(request), call_id=call_id))


@router.post("/calls/{call_id}/cancel", response={200: CallOut, **responses(409)}, auth=requires("calls:write"),
             summary="Cancel a call")
def call_cancel(request: HttpRequest, call_id: Id, body: ReasonIn) -> Any:
    """Cancel before the award, with a public reason."""
    return services.call_cancel(actor=caller(request), call=selectors.call_for_owner(
        viewer=caller(request), call_id=call_id), reason=body.reason)


@router.post("/calls/{call_id}/award", response={200: CallOut, **responses(409)}, auth=requires("calls:write"),
             summary="Select or award")
def call_award(request: HttpRequest, call_id: Id, body: AwardIn) -> Any:
    """While `evaluated`: select `response_id` with a published `reason` (the standstill starts). While in
    `standstill`, once it is over and every complaint is decided: award (the scheduler also does it)."""
    call = selectors.call_for_owner(viewer=caller(request), call_id=call_id)
    if body.response_id is not None:
        response = Response.objects.filter(pk=body.response_id, call=call).first()
        if response is None:
            raise ResponseNotFound()
        return services.call_select(actor=caller(request), call=call, response=response, reason=body.reason or "")
    return services.call_award(call=call, actor=caller(request))


@router.post("/calls/{call_id}/unsuccessful", response={200: CallOut, **responses(409)},
             auth=requires("calls:write"), summary="End without a selection")
def call_unsuccessful(request: HttpRequest, call_id: Id, body: ReasonIn) -> Any:
    """While `evaluated`: end the call without a selection, with a public reason."""
    return services.call_unsuccessful(actor=caller(request), call=selectors.call_for_owner(
        viewer=caller(request), call_id=call_id), reason=body.reason)


@router.get("/calls/{call_id}/timeline", response=list[CallEventOut], auth=optional("calls:read"),
            summary="A call's timeline")
@paginate(CursorPage)
def call_timeline(request: HttpRequest, call_id: Id) -> Any:
    """Every public step of the call (and those you may read), newest first."""
    return selectors.timeline_of(viewer=viewer(request), call=selectors.call_get(viewer=viewer(request),
                                                                                  call_id=call_id))


# Responses -------------------------------------------------------------------------------------------------------


@router.post("/calls/{call_id}/responses", response={201: CallResponseOut, **responses(409)},
             auth=requires("calls:write"), summary="Respond to a call")
def response_submit(request: HttpRequest, call_id: Id, body: ResponseIn) -> Any:
    """Respond before the deadline. The kind validates the content; a sealed call's content is sealed: keep the
    `receipt`, it is your proof of what you submitted."""
    call = selectors.call_get(viewer=caller(request), call_id=call_id)
    organisation = (accounts_selectors.organisation_get(organisation_id=body.organisation_id)
                    if body.organisation_id else None)
    response = services.response_submit(actor=caller(request), call=call, content=body.content,
                                        organisation=organisation)
    return Status(201, response)


@router.get("/calls/{call_id}/responses", response={200: list[CallResponseOut], **responses(403)},
            auth=optional("calls:read"), summary="A call's responses")
@paginate(CursorPage)
def call_responses(request: HttpRequest, call_id: Id) -> Any:
    """The owner's managers and operators: every response once allowed (a sealed call's only after its deadline);
    everyone else: their own. Anonymous callers get 403 on a sealed call before its deadline."""
    call = selectors.call_get(viewer=viewer(request), call_id=call_id)
    return selectors.responses_of_call(viewer=viewer(request), call=call)


@router.get("/calls/{call_id}/ranking", response=list[RankOut], auth=optional("calls:read"),
            summary="A call's ranking")
def call_ranking(request: HttpRequest, call_id: Id) -> Any:
    """Public once the call is evaluated: rank, score and respondent of every ranked response. Empty before."""
    return selectors.ranked(call=selectors.call_get(viewer=viewer(request), call_id=call_id))


@router.get("/responses", response=list[CallResponseOut], auth=requires("calls:read"), summary="My responses")
@paginate(CursorPage)
def responses_mine(request: HttpRequest) -> Any:
    """Your responses (and those of the organisations you manage) to every call, newest first."""
    return selectors.responses_of(viewer=caller(request))


@router.post("/responses/{response_id}/confirm", response={200: CallResponseOut, **responses(409)},
             auth=requires("calls:write"), summary="Confirm a response under new terms")
def response_confirm(request: HttpRequest, response_id: Id) -> Any:
    """Confirm a response invalidated by an amendment: it is valid again under the call's current terms. Before the
    deadline."""
    response = selectors.response_get(viewer=caller(request), response_id=response_id)
    return services.response_confirm(actor=caller(request), response=response)


@router.post("/responses/{response_id}/withdraw", response={200: CallResponseOut, **responses(409)},
             auth=requires("calls:write"), summary="Withdraw a response")
def response_withdraw(request: HttpRequest, response_id: Id) -> Any:
    """Withdraw your response before the deadline."""
    response = selectors.response_get(viewer=caller(request), response_id=response_id)
    return services.response_withdraw(actor=caller(request), response=response)


# Questions -------------------------------------------------------------------------------------------------------


@router.get("/calls/{call_id}/questions", response=list[QuestionOut], auth=optional("calls:read"),
            summary="A call's questions and answers")
def call_questions(request: HttpRequest, call_id: Id) -> Any:
    """The call's public questions and their answers, oldest first."""
    return list(selectors.questions_of(call=selectors.call_get(viewer=viewer(request), call_id=call_id)))


@router.post("/calls/{call_id}/questions", response={201: QuestionOut, **responses(409)},
             auth=requires("calls:write"), summary="Ask a public question")
def question_ask(request: HttpRequest, call_id: Id, body: QuestionIn) -> Any:
    """Ask a public question while the call is open, until `questions_until` (or the deadline)."""
    call = selectors.call_get(viewer=caller(request), call_id=call_id)
    return Status(201, services.question_ask(actor=caller(request), call=call, text=body.text))


@router.post("/calls/{call_id}/questions/{question_id}/answer", response={200: QuestionOut, **responses(409)},
             auth=requires("calls:write"), summary="Answer a question publicly")
def question_answer(request: HttpRequest, call_id: Id, question_id: Id, body: QuestionIn) -> Any:
    """The owner answers a question publicly while the call is open (answering again replaces the answer)."""
    call = selectors.call_get(viewer=caller(request), call_id=call_id)
    question = selectors.question_get(call=call, question_id=question_id)
    services.question_answer(actor=caller(request), question=question, text=body.text)
    return selectors.questions_of(call=call).get(pk=question.pk)


# Complaints ------------------------------------------------------------------------------------------------------


@router.get("/calls/{call_id}/complaints", response=list[ComplaintOut], auth=optional("calls:read"),
            summary="A call's complaints")
def call_complaints(request: HttpRequest, call_id: Id) -> Any:
    """Public: reasons, decisions and their reasons. Evidence: the complainant, the owner and operators."""
    call = selectors.call_get(viewer=viewer(request), call_id=call_id)
    return list(selectors.complaints_of(call=call))


@router.post("/calls/{call_id}/complaints", response={201: ComplaintOut, **responses(409)},
             auth=requires("calls:write"), summary="Complain during the standstill")
def complaint_submit(request: HttpRequest, call_id: Id, body: ComplaintIn) -> Any:
    """A participant (a respondent, or a member of a responding organisation) complains during the standstill, with
    reasons and evidence links. The award waits until operators decide."""
    call = selectors.call_get(viewer=caller(request), call_id=call_id)
    complaint = services.complaint_submit(actor=caller(request), call=call, reasons=body.reasons,
                                          evidence=_links(body.evidence))
    return Status(201, complaint)


@router.get("/complaints", response=list[ComplaintOut], auth=requires("calls:read"),
            summary="Complaints waiting for a decision")
def complaints_pending(request: HttpRequest) -> Any:
    """Operators only: the queue, oldest first."""
    return list(selectors.complaints_pending(viewer=caller(request))[:200])


@router.post("/complaints/{complaint_id}/decision", response={200: ComplaintOut, **responses(409)},
             auth=requires("calls:write"), summary="Decide a complaint")
def complaint_decide(request: HttpRequest, complaint_id: Id, body: DecisionIn) -> Any:
    """Operators decide publicly with reasons. Upheld, `remedy` can overturn the selection: `disqualify` (the next
    ranked is selected, a new standstill starts) or `reevaluate`."""
    complaint = services.complaint_decide(
        actor=caller(request), complaint=selectors.complaint_get(complaint_id=complaint_id), upheld=body.upheld,
        reasons=body.reasons, remedy=body.remedy,
    )
    return complaint


# Supplier qualification ------------------------------------------------------------------------------------------


class QualificationFilters(Schema):
    state: QualificationState | None = None
    organisation_id: Id | None = None


@router.get("/qualifications", response=list[QualificationOut], auth=requires("calls:read"),
            summary="Supplier qualifications")
@paginate(CursorPage)
def qualifications_list(request: HttpRequest, filters: Query[QualificationFilters]) -> Any:
    """Those of the supplier organisations you manage; operators: all (filter `state=applied` for the queue)."""
    qualifications = selectors.qualifications_visible(viewer=caller(request))
    if filters.state:
        qualifications = qualifications.filter(state=filters.state)
    if filters.organisation_id:
        qualifications = qualifications.filter(organisation_id=filters.organisation_id)
    return qualifications


@router.post("/qualifications", response={201: QualificationOut, **responses(404, 409)},
             auth=requires("calls:write"), summary="Apply for a qualification")
def qualification_apply(request: HttpRequest, body: QualificationIn) -> Any:
    """A supplier organisation you manage applies for a category, with document links; operators decide."""
    organisation = accounts_selectors.organisation_get(organisation_id=body.organisation_id)
    return Status(201, services.qualification_apply(
        actor=caller(request), organisation=organisation, category=body.category, documents=_links(body.documents)))


@router.post("/qualifications/{qualification_id}/decision", response={200: QualificationOut, **responses(409)},
             auth=requires("calls:write"), summary="Qualify or reject")
def qualification_decide(request: HttpRequest, qualification_id: Id, body: QualificationDecisionIn) -> Any:
    """Operators only, with reasons; a qualification may be valid until a date (then it lapses)."""
    return services.qualification_decide(
        actor=caller(request), qualification=selectors.qualification_get(
            viewer=caller(request), qualification_id=qualification_id),
        qualified=body.qualified, reasons=body.reasons, valid_until=body.valid_until,
    )


@router.post("/qualifications/{qualification_id}/withdraw", response={200: QualificationOut, **responses(409)},
             auth=requires("calls:write"), summary="Withdraw a qualification")
def qualification_withdraw(request: HttpRequest, qualification_id: Id, body: WithdrawIn) -> Any:
    """The supplier withdraws its application or qualification; operators may withdraw a qualification, with
    reasons."""
    return services.qualification_withdraw(
        actor=caller(request), qualification=selectors.qualification_get(
            viewer=caller(request), qualification_id=qualification_id), reasons=body.reasons)


@router.get("/qualified-suppliers", response=list[QualifiedOut], auth=optional("calls:read"),
            summary="Qualified suppliers")
@paginate(CursorPage)
def qualified_suppliers(request: HttpRequest, category: Category | None = None) -> Any:
    """Public: which suppliers are qualified for which category, and until when."""
    return selectors.qualified_suppliers(category=category)


