"""Reads of the call engine, each checked against who asks.

Drafts: their owner's managers and operators. Published calls, their rules, timeline, questions and answers and
complaints (without evidence): everyone. Responses: the respondent their own; the owner's managers and operators all —
but a sealed call's responses (content, count, even their existence) to nobody but each respondent until the call
has closed at its deadline.
"""

from datetime import datetime

from django.db.models import Q, QuerySet
from django.utils import timezone

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import MANAGING_ROLES, Membership, Organisation, User
from makercloud.calls.errors import (
    CallNotFound,
    ComplaintNotFound,
    NotCallOwner,
    QualificationNotFound,
    QuestionNotFound,
    ResponseNotFound,
    ResponsesSealed,
)
from makercloud.calls.models.engine import (
    Call,
    CallState,
    Complaint,
    ComplaintState,
    QualificationState,
    Question,
    Response,
    ResponseState,
    SupplierQualification,
)
from makercloud.calls.services.engine import can_manage_call, ensure_operator
from makercloud.core.models import Event


def _signed_in(viewer: User | None) -> bool:
    return viewer is not None and viewer.is_authenticated and bool(viewer.pk)


def calls_visible(*, viewer: User | None, kind: str | None = None, state: str | None = None,
                  owner_id: int | None = None, search: str | None = None) -> QuerySet[Call]:
    """Published calls, and the drafts of the organisations the viewer manages (operators: every draft)."""
    calls = Call.objects.select_related("owner")
    if not _signed_in(viewer):
        calls = calls.exclude(state=CallState.DRAFT)
    elif not accounts_selectors.is_operator(person=viewer):
        managed = Membership.objects.filter(person=viewer, role__in=MANAGING_ROLES).values("organisation_id")
        calls = calls.filter(~Q(state=CallState.DRAFT) | Q(owner__in=managed))
    if kind:
        calls = calls.filter(kind=kind)
    if state:
        calls = calls.filter(state=state)
    if owner_id:
        calls = calls.filter(owner_id=owner_id)
    if search:
        calls = calls.filter(Q(title__icontains=search) | Q(description__icontains=search))
    return calls.order_by("-id")


def call_get(*, viewer: User | None, call_id: int) -> Call:
    call = Call.objects.select_related("owner", "winner", "winner__organisation", "winner__respondent").filter(
        pk=call_id).first()
    if call is None or (call.state == CallState.DRAFT and not can_manage_call(person=viewer, call=call)):
        raise CallNotFound()
    return call


def call_for_owner(*, viewer: User, call_id: int) -> Call:
    call = call_get(viewer=viewer, call_id=call_id)
    if not can_manage_call(person=viewer, call=call):
        raise NotCallOwner()
    return call


def response_count(*, call: Call) -> int | None:
    """How many valid responses — None while a sealed call's count is secret."""
    if call.sealed and not call.responses_opened:
        return None
    return Response.objects.filter(call=call, state__in=[ResponseState.SUBMITTED, ResponseState.CONFIRMED]).count()


def _mine(viewer: User) -> Q:
    managed = Membership.objects.filter(person=viewer, role__in=MANAGING_ROLES).values("organisation_id")
    return Q(respondent=viewer) | Q(organisation__in=managed)


def responses_of_call(*, viewer: User | None, call: Call) -> QuerySet[Response]:
    """The call's responses: all of them to its owner's managers and operators once allowed (a sealed call's after
    its deadline); otherwise the viewer's own. The public sees the ranking on the call (ranked(), after evaluation)."""
    responses = Response.objects.filter(call=call).select_related("respondent", "organisation").order_by("id")
    if call.sealed and not call.responses_opened:
        if not _signed_in(viewer):
            raise ResponsesSealed()
        return responses.filter(_mine(viewer))  # type: ignore[arg-type]
    if can_manage_call(person=viewer, call=call):
        return responses
    if not _signed_in(viewer):
        return responses.none()
    return responses.filter(_mine(viewer))  # type: ignore[arg-type]


def ranked(*, call: Call) -> list[Response]:
    """The published ranking (rank, score, respondent) once the call is evaluated; empty before."""
    if call.state in {CallState.DRAFT, CallState.OPEN, CallState.CLOSED, CallState.CANCELLED}:
        return []
    return list(Response.objects.filter(call=call, rank__isnull=False).select_related("respondent", "organisation")
                .order_by("rank"))


def response_get(*, viewer: User, response_id: int) -> Response:
    response = Response.objects.select_related("call", "call__owner", "respondent", "organisation").filter(
        pk=response_id).first()
    if response is None:
        raise ResponseNotFound()
    if not responses_of_call(viewer=viewer, call=response.call).filter(pk=response.pk).exists():
        raise ResponseNotFound()
    return response


def can_read_content(*, viewer: User | None, response: Response) -> bool:
    """The content of a response: its respondent, and (once opened, for sealed calls) the owner's managers and
    operators."""
    if not _signed_in(viewer):
        return False
    call = response.call
    if call.sealed and not call.responses_opened:
        return False  # the respondent has the receipt; the content is sealed even to them
    if response.respondent_id == viewer.pk:  # type: ignore[union-attr]
        return True
    return can_manage_call(person=viewer, call=call)


def responses_of(*, viewer: User) -> QuerySet[Response]:
    """My responses, to every call."""
    return Response.objects.filter(_mine(viewer)).select_related("call", "organisation").order_by("-id")


def questions_of(*, call: Call) -> QuerySet[Question]:
    return Question.objects.filter(call=call).select_related("asker", "answer", "answer__author").order_by("id")


def question_get(*, call: Call, question_id: int) -> Question:
    question = Question.objects.filter(call=call, pk=question_id).select_related("call").first()
    if question is None:
        raise QuestionNotFound()
    return question


def complaints_of(*, call: Call) -> QuerySet[Complaint]:
    """Complaints are public (reasons, decision and its reasons); evidence shows only to can_see_evidence."""
    return Complaint.objects.filter(call=call).select_related("complainant", "decided_by").order_by("id")


def can_see_evidence(*, viewer: User | None, complaint: Complaint) -> bool:
    if not _signed_in(viewer):
        return False
    return complaint.complainant_id == viewer.pk or can_manage_call(  # type: ignore[union-attr]
        person=viewer, call=complaint.call)


def complaint_get(*, complaint_id: int) -> Complaint:
    complaint = Complaint.objects.select_related("call", "call__owner", "complainant").filter(pk=complaint_id).first()
    if complaint is None or complaint.call.state == CallState.DRAFT:
        raise ComplaintNotFound()
    return complaint


def complaints_pending(*, viewer: User) -> QuerySet[Complaint]:
    """The operators' queue: complaints waiting for a decision, oldest first."""
    ensure_operator(person=viewer)
    return Complaint.objects.filter(state=ComplaintState.FILED).select_related("call", "complainant").order_by("id")


def timeline_of(*, viewer: User | None, call: Call) -> QuerySet[Event]:
    """The call's timeline: its events the viewer may read (public ones for everyone)."""
    return accounts_selectors.events_of(viewer=viewer, subject_type="call", subject_id=call.pk)


# Supplier qualification ------------------------------------------------------------------------------------------


def supplier_is_qualified(*, organisation: Organisation | int, category: str, at: datetime | None = None) -> bool:
    """Whether a supplier holds a live qualification for a category (sourcing calls' eligibility)."""
    at = at or timezone.now()
    return SupplierQualification.objects.filter(
        organisation=organisation, category=category, state=QualificationState.QUALIFIED,
    ).filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at)).exists()


def qualifications_of(*, viewer: User, organisation: Organisation) -> QuerySet[SupplierQualification]:
    accounts_selectors.ensure_can_manage(person=viewer, organisation=organisation)
    return SupplierQualification.objects.filter(organisation=organisation).order_by("-id")


def qualifications_visible(*, viewer: User) -> QuerySet[SupplierQualification]:
    """Operators: every qualification; others: those of the organisations they manage."""
    qualifications = SupplierQualification.objects.select_related("organisation")
    if accounts_selectors.is_operator(person=viewer):
        return qualifications.order_by("-id")
    managed = Membership.objects.filter(person=viewer, role__in=MANAGING_ROLES).values("organisation_id")
    return qualifications.filter(organisation__in=managed).order_by("-id")


def qualification_get(*, viewer: User, qualification_id: int) -> SupplierQualification:
    qualification = qualifications_visible(viewer=viewer).filter(pk=qualification_id).first()
    if qualification is None:
        raise QualificationNotFound()
    return qualification


def qualifications_pending(*, viewer: User) -> QuerySet[SupplierQualification]:
    ensure_operator(person=viewer)
    return SupplierQualification.objects.filter(state=QualificationState.APPLIED).select_related(
        "organisation", "applied_by").order_by("id")


def qualified_suppliers(*, category: str | None = None) -> QuerySet[SupplierQualification]:
    """Public: who is qualified for what (a supplier's standing is public, like its profile)."""
    live = SupplierQualification.objects.filter(state=QualificationState.QUALIFIED).filter(
        Q(valid_until__isnull=True) | Q(valid_until__gt=timezone.now())).select_related("organisation")
    return live.filter(category=category) if category else live
