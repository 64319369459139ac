"""calls pages of the engine: browse, a call (rules, timeline, Q&A, ranking), post/edit/publish, respond, my
responses, complaints, qualifications, and the operators' queues."""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import MANAGING_ROLES, Membership, Organisation, OrganisationKind
from makercloud.calls.models.engine import (
    Call,
    CallKind,
    CallState,
    ComplaintRemedy,
    QualificationState,
    Response,
    ResponseState,
)
from makercloud.calls.selectors import engine as selectors
from makercloud.calls.services import engine as services
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors, show_error

PAGE_SIZE = 24
CALL_ACTIONS = frozenset({"publish", "cancel", "select", "unsuccessful", "award"})


class JSONField(forms.CharField):
    """A JSON object (or list) typed into a textarea."""

    def __init__(self, *, kind: type = dict, **kwargs: Any) -> None:
        self.kind = kind
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value or self.kind(), indent=2, ensure_ascii=False)

    def clean(self, value: Any) -> Any:
        text = super().clean(value).strip()
        if not text:
            return self.kind()
        try:
            parsed = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": error}) from error
        if not isinstance(parsed, self.kind):
            raise forms.ValidationError(_("Write a JSON object in braces {…}.") if self.kind is dict
                                        else _("Write a JSON list in brackets […]."))
        return parsed


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M")


class CallForm(forms.Form):
    owner = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=gettext_lazy("Posted by"))
    kind = forms.ChoiceField(choices=CallKind.choices, label=gettext_lazy("Kind"))
    title = forms.CharField(max_length=200, label=gettext_lazy("Title"))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False,
                                  label=gettext_lazy("Description"))
    attachments = JSONField(kind=list, label=gettext_lazy("Attachments"),
                            help_text=gettext_lazy('A list of links: [{"name": "Drawing", "url": "https://…"}]'))
    questions_until = forms.DateTimeField(widget=DateTimeInput(), required=False,
                                          label=gettext_lazy("Questions until (UTC)"))
    responses_until = forms.DateTimeField(widget=DateTimeInput(), required=False,
                                          label=gettext_lazy("Responses until (UTC)"))
    standstill_days = forms.IntegerField(min_value=0, max_value=60, initial=5,
                                         label=gettext_lazy("Standstill (days)"),
                                         help_text=gettext_lazy("After the selection, complaints may be filed for "
                                                                "this many days before the award."))
    eligibility = JSONField(label=gettext_lazy("Eligibility"),
                            help_text=gettext_lazy('Who may respond, e.g. {"category": "motors"} for sourcing.'))
    response_form = JSONField(label=gettext_lazy("Response form"),
                              help_text=gettext_lazy("The fields a response fills in."))
    selection = JSONField(label=gettext_lazy("Selection"),
                          help_text=gettext_lazy('The method and its parameters, e.g. {"method": "owner"}.'))

    def __init__(self, *args: Any, person: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        owners = Organisation.objects.filter(
            kind__in=[OrganisationKind.VENTURE, OrganisationKind.PLATFORM],
            memberships__person=person, memberships__role__in=MANAGING_ROLES).distinct()
        self.fields["owner"].queryset = owners  # type: ignore[attr-defined]
        if editing:
            del self.fields["owner"]
            del self.fields["kind"]


class ResponseForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), required=False,
                                          label=gettext_lazy("Respond for"),
                                          empty_label=gettext_lazy("Myself"))
    content = JSONField(label=gettext_lazy("Your response"),
                        help_text=gettext_lazy("The fields of the call's response form, as JSON."))

    def __init__(self, *args: Any, person: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            memberships__person=person).distinct()


class TextForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5000, label=gettext_lazy("Text"))


class ComplaintForm(forms.Form):
    reasons = forms.CharField(widget=forms.Textarea(attrs={"rows": 5}), max_length=10_000,
                              label=gettext_lazy("Reasons"))
    evidence = JSONField(kind=list, label=gettext_lazy("Evidence"),
                         help_text=gettext_lazy('Links: [{"name": "Test report", "url": "https://…"}]'))


class DecisionForm(forms.Form):
    upheld = forms.TypedChoiceField(choices=[("1", gettext_lazy("Uphold")), ("0", gettext_lazy("Dismiss"))],
                                    coerce=lambda v: v == "1", label=gettext_lazy("Decision"))
    remedy = forms.ChoiceField(choices=ComplaintRemedy.choices, initial=ComplaintRemedy.NONE,
                               label=gettext_lazy("Remedy"))
    reasons = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000,
                              label=gettext_lazy("Reasons (public)"))


class QualificationForm(forms.Form):
    organisation = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=gettext_lazy("Supplier"))
    category = forms.SlugField(max_length=64, label=gettext_lazy("Category"),
                               help_text=gettext_lazy("The module category, e.g. motors, sensors, displays."))
    documents = JSONField(kind=list, label=gettext_lazy("Documents"),
                          help_text=gettext_lazy('Links: [{"name": "ISO 9001 certificate", "url": "https://…"}]'))

    def __init__(self, *args: Any, person: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = Organisation.objects.filter(  # type: ignore[attr-defined]
            kind=OrganisationKind.SUPPLIER, memberships__person=person,
            memberships__role__in=MANAGING_ROLES).distinct()


class QualificationDecisionForm(forms.Form):
    qualified = forms.TypedChoiceField(choices=[("1", gettext_lazy("Qualify")), ("0", gettext_lazy("Reject"))],
                                       coerce=lambda v: v == "1", label=gettext_lazy("Decision"))
    valid_until = forms.DateTimeField(widget=DateTimeInput(), required=False, label=gettext_lazy("Valid until (UTC)"))
    reasons = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000,
                              label=gettext_lazy("Reasons"))


def _viewer(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def _posted_id(request: HttpRequest, name: str) -> int | None:
    """A row's id from a posted field, or None when it is missing or not one (letters, 0, too large for the
    database): the page then says what to choose, instead of failing."""
    try:
        value = forms.IntegerField(min_value=1, max_value=2**63 - 1).clean(request.POST.get(name))
    except forms.ValidationError:
        return None
    return int(value)


# Browse and read -------------------------------------------------------------------------------------------------


def call_list(request: HttpRequest) -> HttpResponse:
    kind = request.GET.get("kind") if request.GET.get("kind") in CallKind.values else None
    state = request.GET.get("state") if request.GET.get("state") in CallState.values else None
    search = (request.GET.get("q") or "").strip()[:200] or None
    calls = selectors.calls_visible(viewer=_viewer(request), kind=kind, state=state, search=search)
    page = Paginator(calls, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "calls/engine/list.html", {
        "page": page, "kinds": CallKind.choices, "states": CallState.choices, "kind": kind, "state": state,
        "q": search or "",
    })


@pages_for_domain_errors
def call_detail(request: HttpRequest, call_id: int) -> HttpResponse:
    viewer = _viewer(request)
    call = selectors.call_get(viewer=viewer, call_id=call_id)
    manager = services.can_manage_call(person=viewer, call=call)
    mine = list(selectors.responses_of(viewer=viewer).filter(call=call)) if viewer is not None else []
    all_responses: list[Response] = []
    if manager and (not call.sealed or call.responses_opened):
        all_responses = list(selectors.responses_of_call(viewer=viewer, call=call))
    contract = getattr(call, "contract_drawn", None)
    context = {
        "call": call,
        "manager": manager,
        "rules_json": json.dumps(call.rules(), indent=2, ensure_ascii=False, sort_keys=True),
        "response_count": selectors.response_count(call=call),
        "questions": selectors.questions_of(call=call),
        "ranking": selectors.ranked(call=call),
        "timeline": selectors.timeline_of(viewer=viewer, call=call)[:50],
        "complaints": selectors.complaints_of(call=call),
        "mine": mine,
        "all_responses": all_responses,
        "can_complain": viewer is not None and call.state == CallState.STANDSTILL
        and services.is_participant(person=viewer, call=call),
        "question_form": TextForm(),
        "owner_picks": services.owner_picks(call),
        "ResponseState": ResponseState,
        # the contract drawn up from the award: its page shows the public its signed existence, parties their terms
        "contract": contract if contract is not None and (contract.ever_signed or manager) else None,
    }
    return render(request, "calls/engine/detail.html", context)


# Owners: post, edit, publish, cancel, select ---------------------------------------------------------------------


@login_required
def call_new(request: HttpRequest) -> HttpResponse:
    form = CallForm(request.POST or None, person=request.user)
    if request.method == "POST" and form.is_valid():
        data = dict(form.cleaned_data)
        try:
            call = services.call_create(actor=request.user, **data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("The draft is saved. Check its rules, then publish it."))
            return redirect("calls:detail", call_id=call.pk)
    return render(request, "calls/engine/form.html", {"form": form, "creating": True},
                  status=400 if form.errors else 200)


@login_required
@pages_for_domain_errors
def call_edit(request: HttpRequest, call_id: int) -> HttpResponse:
    call = selectors.call_for_owner(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    initial = {name: getattr(call, name) for name in (
        "title", "description", "attachments", "questions_until", "responses_until", "standstill_days",
        "eligibility", "response_form", "selection")}
    form = CallForm(request.POST or None, person=request.user, editing=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        changes = {name: value for name, value in form.cleaned_data.items() if form.has_changed() and
                   name in form.changed_data}
        try:
            services.call_update(actor=request.user, call=call, **changes)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect("calls:detail", call_id=call.pk)
    return render(request, "calls/engine/form.html", {"form": form, "call": call},
                  status=400 if form.errors else 200)


@login_required
@require_POST
@pages_for_domain_errors
def call_action(request: HttpRequest, call_id: int, action: str) -> HttpResponse:
    if action not in CALL_ACTIONS:
        raise Http404(_("There is no such action."))
    call = selectors.call_for_owner(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    reason = (request.POST.get("reason") or "").strip()
    actor: Any = request.user
    try:
        if action == "publish":
            services.call_publish(actor=actor, call=call)
            messages.success(request, _("The call is published: its rules are public and responses are open."))
        elif action == "cancel":
            services.call_cancel(actor=actor, call=call, reason=reason)
            messages.success(request, _("The call is cancelled."))
        elif action == "select":
            response_id = _posted_id(request, "response")
            response = None if response_id is None else Response.objects.filter(call=call, pk=response_id).first()
            if response is None:  # not a number, or not one of this call's responses: said on the call's page
                messages.error(request, _("Choose one of the responses."))
            else:
                services.call_select(actor=actor, call=call, response=response, reason=reason)
                messages.success(request, _("The response is selected; the standstill has started."))
        elif action == "unsuccessful":
            services.call_unsuccessful(actor=actor, call=call, reason=reason)
            messages.success(request, _("The call ended without a selection."))
        elif action == "award":
            services.call_award(call=call, actor=actor)
            messages.success(request, _("The call is awarded."))
    except DomainError as error:
        show_error(request, error)
    return redirect("calls:detail", call_id=call.pk)


# Respondents -----------------------------------------------------------------------------------------------------


@login_required
@pages_for_domain_errors
def call_respond(request: HttpRequest, call_id: int) -> HttpResponse:
    call = selectors.call_get(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    form = ResponseForm(request.POST or None, person=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            response = services.response_submit(actor=request.user, call=call,  # type: ignore[arg-type]
                                                content=form.cleaned_data["content"],
                                                organisation=form.cleaned_data["organisation"])
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your response is in. Your receipt: %(receipt)s") % {
                "receipt": response.receipt})
            return redirect("calls:detail", call_id=call.pk)
    return render(request, "calls/engine/respond.html", {"form": form, "call": call},
                  status=400 if form.errors else 200)


@login_required
@require_POST
@pages_for_domain_errors
def response_action(request: HttpRequest, response_id: int, action: str) -> HttpResponse:
    if action not in {"confirm", "withdraw"}:
        raise Http404(_("There is no such action."))
    response = selectors.response_get(viewer=request.user, response_id=response_id)  # type: ignore[arg-type]
    try:
        if action == "confirm":
            services.response_confirm(actor=request.user, response=response)  # type: ignore[arg-type]
            messages.success(request, _("Your response is confirmed under the new terms."))
        elif action == "withdraw":
            services.response_withdraw(actor=request.user, response=response)  # type: ignore[arg-type]
            messages.success(request, _("Your response is withdrawn."))
    except DomainError as error:
        show_error(request, error)
    return redirect("calls:detail", call_id=response.call_id)


@login_required
def responses_mine(request: HttpRequest) -> HttpResponse:
    responses = selectors.responses_of(viewer=request.user)  # type: ignore[arg-type]
    page = Paginator(responses, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "calls/engine/mine.html", {"page": page})


# Questions -------------------------------------------------------------------------------------------------------


@login_required
@require_POST
@pages_for_domain_errors
def question_ask(request: HttpRequest, call_id: int) -> HttpResponse:
    call = selectors.call_get(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    form = TextForm(request.POST)
    if form.is_valid():
        try:
            services.question_ask(actor=request.user, call=call, text=form.cleaned_data["text"])  # type: ignore[arg-type]
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("Your question is public; the answer will be too."))
    else:
        messages.error(request, _("Write your question."))
    return redirect(f"{call_url(call)}#questions")


@login_required
@require_POST
@pages_for_domain_errors
def question_answer(request: HttpRequest, call_id: int, question_id: int) -> HttpResponse:
    call = selectors.call_get(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    question = selectors.question_get(call=call, question_id=question_id)
    form = TextForm(request.POST)
    if form.is_valid():
        try:
            services.question_answer(actor=request.user, question=question,  # type: ignore[arg-type]
                                     text=form.cleaned_data["text"])
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("Your answer is public."))
    else:
        messages.error(request, _("Write the answer."))
    return redirect(f"{call_url(call)}#questions")


def call_url(call: Call) -> str:
    from django.urls import reverse

    return reverse("calls:detail", args=[call.pk])


# Complaints ------------------------------------------------------------------------------------------------------


@pages_for_domain_errors
def call_complaints(request: HttpRequest, call_id: int) -> HttpResponse:
    viewer = _viewer(request)
    call = selectors.call_get(viewer=viewer, call_id=call_id)
    can_complain = viewer is not None and call.state == CallState.STANDSTILL and services.is_participant(
        person=viewer, call=call)
    form = ComplaintForm(request.POST or None)
    if request.method == "POST":
        if viewer is None:
            return redirect(f"/accounts/login/?next={request.path}")
        if form.is_valid():
            try:
                services.complaint_submit(actor=viewer, call=call, reasons=form.cleaned_data["reasons"],
                                          evidence=form.cleaned_data["evidence"])
            except DomainError as error:
                form.add_error(None, explain(error))
            else:
                messages.success(request, _("Your complaint is filed. The award waits for the operators' decision."))
                return redirect("calls:complaints", call_id=call.pk)
    complaints = [(c, selectors.can_see_evidence(viewer=viewer, complaint=c))
                  for c in selectors.complaints_of(call=call)]
    return render(request, "calls/engine/complaints.html", {
        "call": call, "complaints": complaints, "form": form, "can_complain": can_complain,
    }, status=400 if form.errors else 200)


@login_required
@pages_for_domain_errors
def complaint_queue(request: HttpRequest) -> HttpResponse:
    complaints = selectors.complaints_pending(viewer=request.user)  # type: ignore[arg-type]
    return render(request, "calls/engine/complaint_queue.html", {
        "complaints": [(c, DecisionForm(auto_id=f"c{c.pk}-%s")) for c in complaints[:100]]})


@login_required
@require_POST
@pages_for_domain_errors
def complaint_decide(request: HttpRequest, complaint_id: int) -> HttpResponse:
    complaint = selectors.complaint_get(complaint_id=complaint_id)
    form = DecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a decision and give its reasons."))
        return redirect("calls:complaint-queue")
    try:
        services.complaint_decide(actor=request.user, complaint=complaint,  # type: ignore[arg-type]
                                  upheld=form.cleaned_data["upheld"], reasons=form.cleaned_data["reasons"],
                                  remedy=form.cleaned_data["remedy"])
    except DomainError as error:
        show_error(request, error)
    else:
        messages.success(request, _("The decision is published."))
    return redirect("calls:complaint-queue")


# Qualifications --------------------------------------------------------------------------------------------------


@login_required
def qualifications(request: HttpRequest) -> HttpResponse:
    form = QualificationForm(request.POST or None, person=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            services.qualification_apply(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your application is with the operators."))
            return redirect("calls:qualifications")
    managed = Membership.objects.filter(person=request.user,  # type: ignore[misc]
                                        role__in=MANAGING_ROLES).values("organisation_id")
    mine = selectors.qualifications_visible(viewer=request.user).filter(  # type: ignore[arg-type]
        organisation__in=managed)
    return render(request, "calls/engine/qualifications.html", {
        "form": form, "qualifications": mine, "has_supplier": form.fields["organisation"].queryset.exists(),  # type: ignore[attr-defined]
        "qualified": selectors.qualified_suppliers()[:200],
    }, status=400 if form.errors else 200)


@login_required
@require_POST
@pages_for_domain_errors
def qualification_withdraw(request: HttpRequest, qualification_id: int) -> HttpResponse:
    qualification = selectors.qualification_get(viewer=request.user,  # type: ignore[arg-type]
                                                qualification_id=qualification_id)
    try:
        services.qualification_withdraw(actor=request.user, qualification=qualification,  # type: ignore[arg-type]
                                        reasons=request.POST.get("reasons", ""))
    except DomainError as error:
        show_error(request, error)
    else:
        messages.success(request, _("The qualification is withdrawn."))
    if accounts_selectors.is_operator(person=request.user):  # type: ignore[arg-type]
        return redirect("calls:qualification-queue")
    return redirect("calls:qualifications")


@login_required
@pages_for_domain_errors
def qualification_queue(request: HttpRequest) -> HttpResponse:
    pending = selectors.qualifications_pending(viewer=request.user)  # type: ignore[arg-type]
    qualified = selectors.qualifications_visible(viewer=request.user).filter(  # type: ignore[arg-type]
        state=QualificationState.QUALIFIED)
    return render(request, "calls/engine/qualification_queue.html", {
        "pending": [(q, QualificationDecisionForm(auto_id=f"q{q.pk}-%s")) for q in pending[:100]],
        "qualified": qualified[:200]})


@login_required
@require_POST
@pages_for_domain_errors
def qualification_decide(request: HttpRequest, qualification_id: int) -> HttpResponse:
    qualification = selectors.qualification_get(viewer=request.user,  # type: ignore[arg-type]
                                                qualification_id=qualification_id)
    form = QualificationDecisionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose a decision and give its reasons."))
        return redirect("calls:qualification-queue")
    try:
        services.qualification_decide(actor=request.user, qualification=qualification,  # type: ignore[arg-type]
                                      **form.cleaned_data)
    except DomainError as error:
        show_error(request, error)
    else:
        messages.success(request, _("The decision is recorded and the supplier is told."))
    return redirect("calls:qualification-queue")


urlpatterns = [
    path("calls/", call_list, name="list"),
    path("calls/new", call_new, name="new"),
    path("calls/mine", responses_mine, name="mine"),
    path("calls/<int:call_id>/", call_detail, name="detail"),
    path("calls/<int:call_id>/edit", call_edit, name="edit"),
    path("calls/<int:call_id>/respond", call_respond, name="respond"),
    path("calls/<int:call_id>/questions", question_ask, name="ask"),
    path("calls/<int:call_id>/questions/<int:question_id>/answer", question_answer, name="answer"),
    path("calls/<int:call_id>/complaints", call_complaints, name="complaints"),
    path("calls/<int:call_id>/<str:action>", call_action, name="action"),
    path("responses/<int:response_id>/<str:action>", response_action, name="response-action"),
    path("operations/complaints", complaint_queue, name="complaint-queue"),
    path("operations/complaints/<int:complaint_id>/decision", complaint_decide, name="complaint-decide"),
    path("qualifications/", qualifications, name="qualifications"),
    path("qualifications/<int:qualification_id>/withdraw", qualification_withdraw, name="qualification-withdraw"),
    path("operations/qualifications", qualification_queue, name="qualification-queue"),
    path("operations/qualifications/<int:qualification_id>/decision", qualification_decide,
         name="qualification-decide"),
]
