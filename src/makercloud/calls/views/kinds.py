"""calls pages of the kinds (engineer B): an idea's supports, stages, discussion and points; a sourcing call's
published formula (and the owner's rating of its supplier); a funding round's tranches.

URLs have two segments after the call's id (calls/<id>/idea/…), so the engine's calls/<id>/<action> does not take
them."""

from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from makercloud.accounts import selectors as accounts_selectors
from makercloud.calls.kinds import idea as idea_kind
from makercloud.calls.kinds import sourcing as sourcing_kind
from makercloud.calls.models.engine import CallKind, CallState
from makercloud.calls.selectors import engine as engine_selectors
from makercloud.calls.selectors import kinds as selectors
from makercloud.calls.services import engine as engine_services
from makercloud.calls.services import kinds as services
from makercloud.calls.views.engine import JSONField
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors, show_error


class IdeaForm(forms.Form):
    title = forms.CharField(max_length=200, label=gettext_lazy("Title"),
                            help_text=gettext_lazy("The need or the idea in a line."))
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 8}), max_length=10_000,
                                  label=gettext_lazy("Description"),
                                  help_text=gettext_lazy("What it is for, who needs it, what it should do."))
    attachments = JSONField(kind=list, label=gettext_lazy("Links (optional)"),
                            help_text=gettext_lazy('A list of links: [{"name": "Sketch", "url": "https://…"}]'))


class CommentForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=5_000,
                           label=gettext_lazy("Your comment"))


class EvidenceForm(forms.Form):
    evidence = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=10_000,
                               label=gettext_lazy("Evidence that the milestone is met"))


class RatingForm(forms.Form):
    stars = forms.TypedChoiceField(choices=[(n, str(n)) for n in range(5, 0, -1)], coerce=int,
                                   label=gettext_lazy("Stars"))
    comment = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=2_000, required=False,
                              label=gettext_lazy("Comment"))


def _viewer(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


@login_required
def idea_new(request: HttpRequest) -> HttpResponse:
    """Post an idea: any verified person; it is published at once as the platform's idea, with them as its author."""
    form = IdeaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            call = services.idea_post(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your idea is published. Share it: verified people can now support it."))
            return redirect("calls:idea", call_id=call.pk)
    return render(request, "calls/kinds/idea_new.html", {
        "form": form, "verified": request.user.email_verified,  # type: ignore[union-attr]
        "per_day": services.IDEAS_PER_DAY, "stages": idea_kind.DEFAULT_STAGES,
    }, status=400 if form.errors else 200)


@pages_for_domain_errors
def idea_page(request: HttpRequest, call_id: int) -> HttpResponse:
    viewer = _viewer(request)
    call = engine_selectors.call_get(viewer=viewer, call_id=call_id)
    if call.kind != CallKind.IDEA:
        return redirect("calls:detail", call_id=call.pk)
    progress = selectors.idea_progress(call=call)
    call.refresh_from_db()
    stages = selectors.idea_stages(call=call, progress=progress)
    target = stages[min(progress.stage, len(stages) - 1)]["supports"]
    return render(request, "calls/kinds/idea.html", {
        "call": call, "progress": progress, "stages": stages, "target": target,
        "percent": min(100, progress.supports * 100 // max(1, int(target))),  # type: ignore[call-overload]
        "supported": selectors.has_supported(viewer=viewer, call=call),
        "can_support": call.state == CallState.OPEN and progress.state != "expired",
        "can_discuss": services.can_discuss(person=viewer, call=call),
        "comments": selectors.comments_of(call=call)[:200], "form": CommentForm(),
        "points": selectors.contribution_points_of(call=call)[:200],
    })


@login_required
@require_POST
@pages_for_domain_errors
def idea_support(request: HttpRequest, call_id: int) -> HttpResponse:
    call = engine_selectors.call_get(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    try:
        services.support_add(actor=request.user, call=call)  # type: ignore[arg-type]
    except DomainError as error:
        messages.error(request, explain(error))  # not verified, supported already, ended: said on the idea's page
    else:
        messages.success(request, _("Thank you: you support this idea."))
    return redirect("calls:idea", call_id=call_id)


@login_required
@require_POST
@pages_for_domain_errors
def idea_comment(request: HttpRequest, call_id: int) -> HttpResponse:
    call = engine_selectors.call_get(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    form = CommentForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Write a comment of at most 5,000 characters."))
    else:
        try:
            services.comment_post(actor=request.user, call=call, text=form.cleaned_data["text"])  # type: ignore
        except DomainError as error:
            messages.error(request, explain(error))
    return redirect("calls:idea", call_id=call_id)


@pages_for_domain_errors
def formula_page(request: HttpRequest, call_id: int) -> HttpResponse:
    """A sourcing call's published formula, its weights as percentages, and (once evaluated) the ranking."""
    viewer = _viewer(request)
    call = engine_selectors.call_get(viewer=viewer, call_id=call_id)
    if call.kind != CallKind.SOURCING:
        return redirect("calls:detail", call_id=call.pk)
    weights = sourcing_kind.weights_of(call)
    total = sum(weights.values()) or 1
    shares = [(name, weight, (Decimal(weight) * 100 / total).quantize(Decimal("0.1"))) for name, weight in
              weights.items()]
    rateable = (call.state in {CallState.AWARDED, CallState.CONTRACTED}
                and engine_services.can_manage_call(person=viewer, call=call))
    return render(request, "calls/kinds/formula.html", {
        "call": call, "weights": shares, "selection": call.selection or {}, "form": call.response_form or {},
        "ranking": engine_selectors.ranked(call=call), "rateable": rateable, "rating_form": RatingForm(),
    })


@login_required
@require_POST
@pages_for_domain_errors
def supplier_rate(request: HttpRequest, call_id: int) -> HttpResponse:
    call = engine_selectors.call_for_owner(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    form = RatingForm(request.POST)
    if form.is_valid():
        try:
            services.supplier_rate(actor=request.user, call=call, stars=form.cleaned_data["stars"],  # type: ignore
                                   comment=form.cleaned_data["comment"])
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("The supplier is rated."))
    else:
        messages.error(request, _("Rate with one to five stars."))
    return redirect("calls:formula", call_id=call_id)


@login_required
@pages_for_domain_errors
def tranches_page(request: HttpRequest, call_id: int) -> HttpResponse:
    call = engine_selectors.call_get(viewer=request.user, call_id=call_id)  # type: ignore[arg-type]
    tranches = list(selectors.tranches_of(viewer=request.user, call=call))  # type: ignore[arg-type]
    return render(request, "calls/kinds/tranches.html", {
        "call": call, "tranches": tranches,
        "manager": engine_services.can_manage_call(person=request.user, call=call),  # type: ignore[arg-type]
        "investor": bool(tranches) and tranches[0].response.organisation is not None and accounts_selectors
        .can_manage(person=request.user, organisation=tranches[0].response.organisation),  # type: ignore[arg-type]
        "form": EvidenceForm(),
    })


@login_required
@require_POST
@pages_for_domain_errors
def tranche_action(request: HttpRequest, tranche_id: int, action: str) -> HttpResponse:
    tranche = selectors.tranche_get(viewer=request.user, tranche_id=tranche_id)  # type: ignore[arg-type]
    try:
        if action == "report":
            form = EvidenceForm(request.POST)
            if not form.is_valid():
                messages.error(request, _("Describe the evidence that the milestone is met."))
                return redirect("calls:tranches", call_id=tranche.call_id)
            services.tranche_report(actor=request.user, tranche=tranche,  # type: ignore[arg-type]
                                    evidence=form.cleaned_data["evidence"])
            messages.success(request, _("The milestone is reported; the investor is asked to release the tranche."))
        elif action == "release":
            services.tranche_release(actor=request.user, tranche=tranche)  # type: ignore[arg-type]
            messages.success(request, _("The tranche is released."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as error:
        show_error(request, error)
    return redirect("calls:tranches", call_id=tranche.call_id)


urlpatterns: list[URLPattern] = [
    path("ideas/new", idea_new, name="idea-new"),
    path("calls/<int:call_id>/idea/", idea_page, name="idea"),
    path("calls/<int:call_id>/idea/support", idea_support, name="idea-support"),
    path("calls/<int:call_id>/idea/comments", idea_comment, name="idea-comment"),
    path("calls/<int:call_id>/sourcing/formula", formula_page, name="formula"),
    path("calls/<int:call_id>/sourcing/rating", supplier_rate, name="supplier-rate"),
    path("calls/<int:call_id>/funding/tranches", tranches_page, name="tranches"),
    path("tranches/<int:tranche_id>/<str:action>", tranche_action, name="tranche-action"),
]
