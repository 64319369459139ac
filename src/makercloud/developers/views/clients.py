"""developers pages: clients — the developer portal, the operators' review queue, the consent screen, connected apps.

Thin: parse, call one service or selector, render.
"""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST
from oauth2_provider.forms import AllowForm
from oauth2_provider.views import AuthorizationView

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import OrganisationKind, User
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors
from makercloud.developers.models import OAUTH_SCOPES, App, AppStatus, ClientType
from makercloud.developers.selectors import clients as selectors
from makercloud.developers.services import clients as services

SCOPE_CHOICES = [(scope, scope) for scope in OAUTH_SCOPES]


# Forms ----------------------------------------------------------------------------------------------------------


class AppForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=80)
    description = forms.CharField(label=gettext_lazy("Description"), required=False, max_length=2000,
                                  widget=forms.Textarea(attrs={"rows": 3}))
    client_type = forms.ChoiceField(label=gettext_lazy("Client type"), choices=ClientType.choices,
                                    widget=forms.RadioSelect)
    redirect_uris = forms.CharField(
        label=gettext_lazy("Redirect URIs"), widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("One per line. https://, or http:// for localhost only. Matched exactly."),
    )
    scopes = forms.MultipleChoiceField(label=gettext_lazy("Scopes"), choices=SCOPE_CHOICES,
                                       widget=forms.CheckboxSelectMultiple)
    icon = forms.FileField(label=gettext_lazy("Icon"), required=False,
                           help_text=gettext_lazy("A PNG or JPEG of at most 64 KiB."))

    def __init__(self, *args: Any, venture_choices: list[tuple[int, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if venture_choices is not None:
            self.fields["venture"] = forms.TypedChoiceField(label=gettext_lazy("Venture"), choices=venture_choices,
                                                            coerce=int)
            self.order_fields(["venture"])
        else:
            del self.fields["client_type"]

    def uris(self) -> list[str]:
        return [line.strip() for line in self.cleaned_data["redirect_uris"].splitlines() if line.strip()]

    def icon_bytes(self) -> bytes | None:
        upload = self.cleaned_data.get("icon")
        if not upload:
            return None
        if upload.size > services.MAX_ICON_BYTES:
            raise services.InvalidApp(detail=_("The icon is larger than 64 KiB."))
        return bytes(upload.read())


class ReviewForm(forms.Form):
    decision = forms.ChoiceField(choices=[("approve", "approve"), ("reject", "reject"), ("suspend", "suspend")])
    reason = forms.CharField(label=gettext_lazy("Reason"), required=False, max_length=2000,
                             widget=forms.Textarea(attrs={"rows": 2}))


class ConsentForm(AllowForm):
    """DOT's hidden authorisation fields, and what the person chose: scopes and devices."""

    granted = forms.MultipleChoiceField(required=False, choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple)
    devices = forms.MultipleChoiceField(required=False, choices=[], widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, device_choices: list[tuple[str, str]] | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["devices"].choices = device_choices or []


# The consent screen ---------------------------------------------------------------------------------------------


class ConsentView(AuthorizationView):
    """DOT's authorisation endpoint with makercloud's consent screen: plain words for each scope, the person's
    choice of devices, scopes they may untick. The grant records the choice; the code (and so the token) carries
    only the scopes granted."""

    template_name = "developers/clients/consent.html"
    form_class = ConsentForm

    def _app(self) -> App | None:
        """The app behind the request's client id (looked up once per request)."""
        if not hasattr(self, "_found"):
            client_id = self.request.POST.get("client_id") or self.request.GET.get("client_id") or ""
            self._found = selectors.app_for_client(client_id=client_id)
        return self._found

    def get_form_kwargs(self) -> dict[str, Any]:
        kwargs = super().get_form_kwargs()
        app = self._app()
        person = self.request.user
        devices = services.consent_devices(app=app, person=person) if app and person.is_authenticated else []
        kwargs["device_choices"] = [(d.pk, d.name) for d in devices]
        return kwargs

    def get(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        app = self._app()
        if app is not None:
            try:
                services.ensure_authorisable(app=app, person=request.user)  # type: ignore[arg-type]
            except DomainError as error:
                return render(request, self.template_name, {"refused": explain(error), "app": app}, status=403)
        return super().get(request, *args, **kwargs)

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)
        app = self._app()
        requested = [s for s in (context.get("scopes") or []) if s in OAUTH_SCOPES]
        context["app"] = app
        context["scope_items"] = [{"name": s, "text": OAUTH_SCOPES[s]} for s in requested]
        form = context.get("form")
        if form is not None and not form.is_bound:
            form.initial["granted"] = requested
        if app is not None and self.request.user.is_authenticated:
            context["devices"] = services.consent_devices(app=app, person=self.request.user)
            context["sandbox"] = app.status != AppStatus.APPROVED
        return context

    def form_valid(self, form: ConsentForm) -> HttpResponse:
        app = self._app()
        if not form.cleaned_data.get("allow") or app is None:
            return super().form_valid(form)  # denied: DOT sends access_denied to the app
        requested = form.cleaned_data["scope"].split()
        granted = [s for s in form.cleaned_data.get("granted") or [] if s in requested]
        try:
            services.grant_consent(person=self.request.user, app=app, scopes=granted,
                                   device_ids=form.cleaned_data.get("devices") or [])
        except DomainError as error:
            form.add_error(None, explain(error))
            return self.form_invalid(form)
        form.cleaned_data["scope"] = " ".join(granted)
        return super().form_valid(form)

    def form_invalid(self, form: ConsentForm) -> HttpResponse:
        app = self._app()
        scopes = form.data.get("scope", "").split()
        context = {
            "form": form, "app": app, "application": app.application if app else None,
            "scope_items": [{"name": s, "text": OAUTH_SCOPES[s]} for s in scopes if s in OAUTH_SCOPES],
            "devices": services.consent_devices(app=app, person=self.request.user) if app else [],
            "sandbox": app is not None and app.status != AppStatus.APPROVED,
        }
        return render(self.request, self.template_name, context, status=400)


# The developer portal -------------------------------------------------------------------------------------------


def _ventures_of(person: User) -> list[tuple[int, str]]:
    """The ventures for which this person may register apps."""
    return [(o.pk, o.name) for o in accounts_selectors.organisations_of(person=person)
            if o.kind == OrganisationKind.VENTURE and services.is_app_manager(person=person, venture=o)]


@login_required
def portal(request: HttpRequest) -> HttpResponse:
    """A maker's apps, and the form to register one."""
    person: User = request.user  # type: ignore[assignment]
    ventures = _ventures_of(person)
    form = AppForm(request.POST or None, request.FILES or None, venture_choices=ventures)
    created = secret = None
    if request.method == "POST" and form.is_valid():
        venture = next(o for o in accounts_selectors.organisations_of(person=person)
                       if o.pk == form.cleaned_data["venture"])
        try:
            created, secret = services.app_register(
                actor=person, venture=venture, name=form.cleaned_data["name"],
                description=form.cleaned_data["description"], client_type=form.cleaned_data["client_type"],
                redirect_uris=form.uris(), scopes=form.cleaned_data["scopes"], icon=form.icon_bytes(),
            )
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            form = AppForm(venture_choices=ventures)
    context = {
        "apps": selectors.apps_of(actor=person).filter(venture__memberships__person=person),
        "form": form, "created": created, "secret": secret, "has_ventures": bool(ventures),
    }
    return render(request, "developers/clients/portal.html", context, status=400 if form.errors else 200)


@login_required
@pages_for_domain_errors
def app_detail(request: HttpRequest, app_id: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    app = selectors.app_get_for_maker(actor=person, app_id=app_id)
    is_maker = services.is_app_manager(person=person, venture=app.venture)
    initial = {"name": app.name, "description": app.description, "redirect_uris": "\n".join(app.redirect_uris),
               "scopes": app.scopes}
    action = request.POST.get("action", "save") if request.method == "POST" else ""
    bound = action == "save" and is_maker
    form = AppForm(request.POST if bound else None, request.FILES if bound else None, initial=initial)
    secret = None
    if request.method == "POST" and is_maker:
        try:
            if action == "rotate":
                secret = services.app_rotate_secret(actor=person, app=app)
                messages.success(request, _("A new client secret was made; the old one no longer works."))
            elif action == "submit":
                services.app_submit(actor=person, app=app)
                messages.success(request, _("Submitted: the platform's operators will review the app."))
            elif form.is_valid():
                services.app_update(actor=person, app=app, name=form.cleaned_data["name"],
                                    description=form.cleaned_data["description"], redirect_uris=form.uris(),
                                    scopes=form.cleaned_data["scopes"], icon=form.icon_bytes())
                messages.success(request, _("The app was saved."))
        except DomainError as error:
            form.add_error(None, explain(error))
        if not form.errors and secret is None:
            return redirect("developers:app", app_id=app.pk)
        app = selectors.app_get_for_maker(actor=person, app_id=app_id)
    context = {
        "app": app, "form": form, "secret": secret, "is_maker": is_maker,
        "usage": selectors.app_usage(app=app), "review_form": ReviewForm(),
        "is_operator": accounts_selectors.is_operator(person=person),
    }
    return render(request, "developers/clients/app.html", context, status=400 if form.errors else 200)


def app_icon(request: HttpRequest, app_id: int) -> HttpResponse:
    """An app's icon (public: the consent screen shows it), served as the image type it was checked to be."""
    app = App.objects.filter(pk=app_id).only("icon", "icon_type").first()
    if app is None or not app.icon_type or not app.icon:
        raise Http404(_("This app has no icon."))
    response = HttpResponse(bytes(app.icon), content_type=app.icon_type)
    response["Content-Security-Policy"] = "default-src 'none'"
    response["Cache-Control"] = "public, max-age=300"
    return response


@login_required
def review_queue(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    if not accounts_selectors.is_operator(person=person):
        raise PageForbidden(_("Only platform operators review apps."))
    context = {"queue": selectors.review_queue(), "form": ReviewForm(),
               "approved": selectors.apps_of(actor=person, status=AppStatus.APPROVED)[:50]}
    return render(request, "developers/clients/review.html", context)


@login_required
@require_POST
@pages_for_domain_errors
def app_review(request: HttpRequest, app_id: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    app = selectors.app_get_for_maker(actor=person, app_id=app_id)
    form = ReviewForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose approve, reject or suspend."))
    else:
        try:
            services.app_review(actor=person, app=app, decision=form.cleaned_data["decision"],
                                reason=form.cleaned_data["reason"])
        except DomainError as error:
            messages.error(request, explain(error))
        else:
            messages.success(request, _("“%(name)s” is now %(status)s.")
                             % {"name": app.name, "status": App.objects.get(pk=app.pk).get_status_display()})
    if request.POST.get("next") == "app":
        return redirect("developers:app", app_id=app.pk)
    return redirect("developers:review")


# Connected apps -------------------------------------------------------------------------------------------------


@login_required
def connected_apps(request: HttpRequest) -> HttpResponse:
    grants = list(selectors.grants_of(person=request.user))  # type: ignore[arg-type]
    for grant in grants:
        grant.scope_texts = [OAUTH_SCOPES[s] for s in grant.scopes if s in OAUTH_SCOPES]  # type: ignore[attr-defined]
    context = {"grants": grants}
    return render(request, "developers/clients/connected.html", context)


@login_required
@require_POST
@pages_for_domain_errors
def grant_revoke(request: HttpRequest, grant_id: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    grant = selectors.grant_get(person=person, grant_id=grant_id)
    services.grant_revoke(actor=person, grant=grant)
    messages.success(request, _("“%(name)s” is disconnected: it can no longer reach your devices.")
                     % {"name": grant.app.name})
    return redirect("developers:connected")


urlpatterns: list[URLPattern] = [
    path("developers/", portal, name="portal"),
    path("developers/apps/<int:app_id>/", app_detail, name="app"),
    path("developers/review/", review_queue, name="review"),
    path("developers/apps/<int:app_id>/review", app_review, name="app_review"),
    path("apps/<int:app_id>/icon", app_icon, name="app_icon"),
    path("connected-apps/", connected_apps, name="connected"),
    path("connected-apps/<int:grant_id>/revoke", grant_revoke, name="grant_revoke"),
]
