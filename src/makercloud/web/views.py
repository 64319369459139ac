"""The pages that span domains: the landing page, the dashboard and the timeline."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.forms import VerificationForm
from makercloud.accounts.models import Intent, OrganisationKind
from makercloud.accounts.views import describe
from makercloud.ventures import selectors as venture_selectors

TIMELINE_PAGE = 30


def landing(request: HttpRequest) -> HttpResponse:
    ventures = venture_selectors.ventures_public()
    return render(request, "web/landing.html", {"ventures": ventures[:6], "venture_count": ventures.count()})


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    person = request.user
    ventures = venture_selectors.ventures_of(person=person)  # type: ignore[arg-type]
    organisations = accounts_selectors.organisations_of(person=person).filter(  # type: ignore[arg-type]
        kind__in=[OrganisationKind.SUPPLIER, OrganisationKind.INVESTOR]
    )
    is_operator = accounts_selectors.is_operator(person=person)  # type: ignore[arg-type]
    intent = person.intent  # type: ignore[union-attr]
    context = {
        "invitations": accounts_selectors.invitations_for(person=person),  # type: ignore[arg-type]
        "ventures": ventures,
        "organisations": organisations,
        "show_maker": intent == Intent.MAKER or ventures.exists(),
        "show_organisations": intent in {Intent.SUPPLIER, Intent.INVESTOR} or organisations.exists(),
        "show_user": intent == Intent.USER,
        "show_operator": is_operator,
        "awaiting": accounts_selectors.organisations_awaiting_verification() if is_operator else [],
        "verification_form": VerificationForm(),
    }
    return render(request, "web/dashboard.html", context)


def timeline(request: HttpRequest) -> HttpResponse:
    viewer = request.user if request.user.is_authenticated else None
    events = accounts_selectors.events_visible_to(viewer=viewer)
    before = request.GET.get("before", "")
    if before.isdigit():
        events = events.filter(pk__lt=int(before))
    page = list(events.order_by("-pk")[: TIMELINE_PAGE + 1])
    older = page[TIMELINE_PAGE - 1].pk if len(page) > TIMELINE_PAGE else None
    return render(request, "web/timeline.html", {
        "entries": describe(page[:TIMELINE_PAGE]), "older": older, "paged": bool(before),
    })
