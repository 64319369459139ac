"""Venture pages. People, invitations and leaving are the organisation's, shared with accounts' pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.views import describe, organisation_panel
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors
from makercloud.ventures import selectors, services
from makercloud.ventures.forms import VentureForm

PAGE_SIZE = 24


def venture_list(request: HttpRequest) -> HttpResponse:
    ventures = selectors.ventures_public()
    page = Paginator(ventures, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "ventures/list.html", {"page": page})


@pages_for_domain_errors
def venture_detail(request: HttpRequest, slug: str) -> HttpResponse:
    venture = selectors.venture_by_slug(slug=slug)
    viewer = request.user if request.user.is_authenticated else None
    context = {
        **organisation_panel(request, venture.organisation),
        "venture": venture,
        "entries": describe(list(
            accounts_selectors.events_of_organisation(viewer=viewer, organisation=venture.organisation)[:20]
        )),
    }
    return render(request, "ventures/detail.html", context)


@login_required
def venture_new(request: HttpRequest) -> HttpResponse:
    form = VentureForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            venture = services.venture_found(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("%(name)s is founded. Invite the makers you will build it with.")
                             % {"name": venture.name})
            return redirect("ventures:detail", slug=venture.slug)
    return render(request, "ventures/form.html", {"form": form, "creating": True}, status=400 if form.errors else 200)


@login_required
@pages_for_domain_errors
def venture_edit(request: HttpRequest, slug: str) -> HttpResponse:
    venture = selectors.venture_by_slug(slug=slug)
    if not accounts_selectors.can_manage(person=request.user, organisation=venture.organisation):  # type: ignore[arg-type]
        raise PageForbidden(_("Only the venture's owners and administrators may change it."))
    initial = {"name": venture.name, "mission": venture.mission, "origin": venture.origin}
    form = VentureForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.venture_update(actor=request.user, venture=venture, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect("ventures:detail", slug=venture.slug)
    return render(request, "ventures/form.html", {"form": form, "venture": venture}, status=400 if form.errors else 200)
