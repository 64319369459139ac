"""Pages about people, organisations, invitations and tokens. Thin: parse, call one service or selector, render."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme, urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from makercloud.accounts import forms, selectors, services
from makercloud.accounts.errors import EmailTaken, InvalidInvitation, WeakPassword
from makercloud.accounts.models import Organisation, OrganisationKind, Role
from makercloud.core.errors import DomainError
from makercloud.core.models import Event
from makercloud.core.ratelimits import TooManyRequests
from makercloud.core.views import explain, pages_for_domain_errors, show_error


def _next_url(request: HttpRequest, default: str) -> str:
    candidate = request.POST.get("next") or request.GET.get("next") or ""
    if candidate and url_has_allowed_host_and_scheme(
        candidate, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return candidate
    return default


def organisation_url(organisation: Organisation) -> str:
    """Where an organisation's page is: a venture has its own page, every other organisation the shared one."""
    if organisation.kind == OrganisationKind.VENTURE:
        return reverse("ventures:detail", kwargs={"slug": organisation.slug})
    return reverse("web:organisation", kwargs={"slug": organisation.slug})


# People ---------------------------------------------------------------------------------------------------------


def sign_up(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect(_next_url(request, reverse("web:dashboard")))
    form = forms.SignUpForm(request.POST or None, initial={"email": request.GET.get("email", "")})
    status = 400 if form.is_bound else 200
    if request.method == "POST" and form.is_valid():
        try:
            person = services.person_sign_up(**form.cleaned_data, client=request.META.get("REMOTE_ADDR", ""))
        except EmailTaken as error:
            form.add_error("email", explain(error))
        except WeakPassword as error:
            form.add_error("password", explain(error))
        except TooManyRequests as error:
            form.add_error(None, explain(error))
            status = 429
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            login(request, person, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, _("Welcome to makercloud, %(name)s. We sent you a link to confirm your "
                                        "e-mail address.") % {"name": person.get_short_name()})
            return redirect(_next_url(request, reverse("web:dashboard")))
    return render(request, "accounts/sign_up.html", {"form": form, "next": _next_url(request, "")}, status=status)


def verify_email(request: HttpRequest, token: str) -> HttpResponse:
    try:
        person = services.person_verify_email(token=token)
    except DomainError as error:
        return render(request, "accounts/verify.html", {"problem": explain(error)}, status=400)
    return render(request, "accounts/verify.html", {"person": person})


@login_required
@require_POST
def resend_verification(request: HttpRequest) -> HttpResponse:
    try:
        sent = services.person_resend_verification(person=request.user)  # type: ignore[arg-type]
    except TooManyRequests as error:
        messages.error(request, explain(error))
    else:
        if sent:
            messages.success(request, _("We sent a new confirmation link to %(email)s.")
                             % {"email": request.user.email})  # type: ignore[union-attr]
        else:
            messages.info(request, _("Your e-mail address is already confirmed."))
    return redirect("accounts:profile")


class PasswordChange(auth_views.PasswordChangeView):
    """Django's password change, recorded in the person's timeline."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.person_password_changed(person=form.user, how="changed")
        return response


class PasswordResetConfirm(auth_views.PasswordResetConfirmView):
    """Django's new password from an e-mailed link, recorded in the person's timeline."""

    def form_valid(self, form: Any) -> HttpResponse:
        response = super().form_valid(form)
        services.person_password_changed(person=form.user, how="reset")
        return response


class PasswordReset(auth_views.PasswordResetView):
    """Django's password reset, rate limited: past a limit the form comes back with the reason (429), no e-mail."""

    def form_valid(self, form: Any) -> HttpResponse:
        try:
            services.password_reset_count(email=form.cleaned_data["email"],
                                          client=self.request.META.get("REMOTE_ADDR", ""))
        except TooManyRequests as error:
            form.add_error(None, explain(error))
            response = self.render_to_response(self.get_context_data(form=form), status=429)
            response["Retry-After"] = str(error.retry_after)
            return response
        return super().form_valid(form)


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    person = request.user
    form = forms.ProfileForm(request.POST or None, initial={"name": person.name, "intent": person.intent})  # type: ignore[union-attr]
    if request.method == "POST" and form.is_valid():
        try:
            services.person_update(person=person, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your profile is saved."))
            return redirect("accounts:profile")
    return render(request, "accounts/profile.html", {"form": form}, status=400 if form.errors else 200)


# Personal access tokens -----------------------------------------------------------------------------------------


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    form = forms.TokenForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        expiry = form.expiry()
        try:
            created, raw = services.token_create(
                person=request.user,  # type: ignore[arg-type]
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires_at=timezone.now() + expiry if expiry else None,
            )
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            form = forms.TokenForm()
            created.raw = raw  # type: ignore[attr-defined]  # shown on this response only, never stored
    context = {
        "form": form,
        "created": created,
        "tokens": selectors.tokens_of(person=request.user),  # type: ignore[arg-type]
        "now": timezone.now(),
    }
    return render(request, "accounts/tokens.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
@pages_for_domain_errors
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = selectors.tokens_of(person=request.user).filter(pk=token_id).first()  # type: ignore[arg-type]
    if token is None:
        messages.error(request, _("There is no such token."))
    else:
        services.token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
        messages.success(request, _("The token “%(name)s” is revoked; scripts using it are refused from now on.")
                         % {"name": token.name})
    return redirect("accounts:tokens")


# Organisations --------------------------------------------------------------------------------------------------


def organisation_panel(request: HttpRequest, organisation: Organisation) -> dict[str, object]:
    """What the shared people panel of an organisation or venture page shows to this viewer."""
    person = request.user
    can_manage = selectors.can_manage(person=person, organisation=organisation)  # type: ignore[arg-type]
    return {
        "organisation": organisation,
        "members": selectors.members_of(organisation=organisation),
        "can_manage": can_manage,
        "is_member": selectors.is_member(person=person, organisation=organisation),  # type: ignore[arg-type]
        "invitations": (
            selectors.invitations_of(viewer=person, organisation=organisation).filter(  # type: ignore[arg-type]
                accepted_at=None, revoked_at=None
            )
            if can_manage else []
        ),
        "invitation_form": forms.InvitationForm(
            initial={"email": request.GET.get("invite", ""), "role": request.GET.get("role", Role.MEMBER)}
        ),
        "now": timezone.now(),
        "page_url": organisation_url(organisation),
    }


@login_required
def organisation_new(request: HttpRequest) -> HttpResponse:
    form = forms.OrganisationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            organisation = services.organisation_create(actor=request.user, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("%(org)s is registered. A platform operator will verify it soon.")
                             % {"org": organisation.name})
            return redirect(organisation_url(organisation))
    return render(request, "accounts/organisation_form.html", {"form": form, "creating": True},
                  status=400 if form.errors else 200)


@pages_for_domain_errors
def organisation_detail(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    if organisation.kind == OrganisationKind.VENTURE:
        return redirect(organisation_url(organisation))
    viewer = request.user if request.user.is_authenticated else None
    context = {
        **organisation_panel(request, organisation),
        "entries": describe(list(selectors.events_of_organisation(viewer=viewer, organisation=organisation)[:20])),
        "verification_form": forms.VerificationForm(),
    }
    return render(request, "accounts/organisation_detail.html", context)


@login_required
@pages_for_domain_errors
def organisation_edit(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    if not selectors.can_manage(person=request.user, organisation=organisation):  # type: ignore[arg-type]
        raise PageForbidden(_("Only the organisation's owners and administrators may change it."))
    initial = {"name": organisation.name, "description": organisation.description}
    form = forms.OrganisationEditForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.organisation_update(actor=request.user, organisation=organisation, **form.cleaned_data)  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect(organisation_url(organisation))
    return render(request, "accounts/organisation_form.html", {"form": form, "organisation": organisation},
                  status=400 if form.errors else 200)


@login_required
@require_POST
@pages_for_domain_errors
def organisation_invite(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    if not selectors.can_manage(person=request.user, organisation=organisation):  # type: ignore[arg-type]
        raise PageForbidden(_("Only the organisation's owners and administrators may invite people."))
    form = forms.InvitationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter a valid e-mail address to invite."))
    else:
        try:
            invitation, _token = services.invitation_create(
                actor=request.user, organisation=organisation, **form.cleaned_data  # type: ignore[arg-type]
            )
        except DomainError as error:
            show_error(request, error)
            kept = urlencode({"invite": form.cleaned_data["email"], "role": form.cleaned_data["role"]})
            return redirect(f"{organisation_url(organisation)}?{kept}#people")  # the form keeps what was typed
        else:
            messages.success(request, _("We sent an invitation to %(email)s.") % {"email": invitation.email})
    return redirect(organisation_url(organisation) + "#people")


@login_required
@require_POST
@pages_for_domain_errors
def invitation_withdraw(request: HttpRequest, slug: str, invitation_id: int) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    invitation = selectors.invitations_of(viewer=request.user, organisation=organisation).filter(  # type: ignore[arg-type]
        pk=invitation_id
    ).first()
    if invitation is None:
        messages.error(request, _("There is no such invitation."))
    else:
        try:
            services.invitation_revoke(actor=request.user, invitation=invitation)  # type: ignore[arg-type]
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("The invitation to %(email)s is withdrawn.") % {"email": invitation.email})
    return redirect(organisation_url(organisation) + "#people")


@login_required
@require_POST
@pages_for_domain_errors
def member_remove(request: HttpRequest, slug: str, membership_id: int) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    membership = selectors.members_of(organisation=organisation).filter(pk=membership_id).first()
    if membership is None:
        messages.error(request, _("This person is no longer a member."))
    else:
        try:
            services.membership_remove(actor=request.user, membership=membership)  # type: ignore[arg-type]
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("%(person)s is no longer a member of %(org)s.")
                             % {"person": membership.person, "org": organisation.name})
    return redirect(organisation_url(organisation) + "#people")


@login_required
@require_POST
@pages_for_domain_errors
def organisation_leave(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    try:
        services.membership_leave(actor=request.user, organisation=organisation)  # type: ignore[arg-type]
    except DomainError as error:
        show_error(request, error)
        return redirect(organisation_url(organisation) + "#people")
    messages.success(request, _("You have left %(org)s.") % {"org": organisation.name})
    return redirect("web:dashboard")


@login_required
@require_POST
@pages_for_domain_errors
def organisation_verify(request: HttpRequest, slug: str) -> HttpResponse:
    organisation = selectors.organisation_by_slug(slug=slug)
    form = forms.VerificationForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether to verify or reject."))
    else:
        approve = form.cleaned_data["decision"] == "verify"
        services.organisation_verify(
            actor=request.user, organisation=organisation, approve=approve,  # type: ignore[arg-type]
            note=form.cleaned_data["note"],
        )
        if approve:
            messages.success(request, _("%(org)s is verified.") % {"org": organisation.name})
        else:
            messages.success(request, _("%(org)s is rejected.") % {"org": organisation.name})
    return redirect(_next_url(request, organisation_url(organisation)))


# Invitations ----------------------------------------------------------------------------------------------------


def invitation(request: HttpRequest, token: str) -> HttpResponse:
    try:
        found = services.invitation_by_token(token=token)
    except InvalidInvitation as error:
        return render(request, "accounts/invitation.html", {"problem": explain(error)}, status=404)
    if request.method == "POST" and request.user.is_authenticated:
        try:
            services.invitation_accept(actor=request.user, token=token)
        except DomainError as error:
            messages.error(request, explain(error))
        else:
            messages.success(request, _("Welcome to %(org)s.") % {"org": found.organisation.name})
            return redirect(organisation_url(found.organisation))
        return redirect(request.path)
    now = timezone.now()
    if found.accepted_at is not None:
        state = "accepted"
    elif found.revoked_at is not None:
        state = "withdrawn"
    elif found.expires_at <= now:
        state = "expired"
    elif request.user.is_authenticated and request.user.email.lower() != found.email.lower():
        state = "wrong-address"
    else:
        state = "open"
    return render(request, "accounts/invitation.html", {"invitation": found, "state": state, "token": token})


# Timelines -------------------------------------------------------------------------------------------------------


def _sentence(kind: str) -> str | None:
    # A function, not a module constant, so that each sentence is translated in the reader's language.
    return {
        "person.signed_up": _("%(actor)s joined makercloud."),
        "person.signed_up+operator": _("%(actor)s opened an account for %(person)s."),
        "person.changed": _("%(actor)s changed the account of %(person)s."),
        "person.password_changed": _("The password of %(person)s was changed."),
        "person.email_verified": _("%(actor)s confirmed their e-mail address."),
        "person.updated": _("%(actor)s updated their profile."),
        "person.made_operator": _("%(actor)s appointed a platform operator."),
        "organisation.created": _("%(actor)s registered %(org)s."),
        "organisation.updated": _("%(actor)s updated the profile of %(org)s."),
        "organisation.verified": _("%(actor)s verified %(org)s."),
        "organisation.rejected": _("%(actor)s declined to verify %(org)s."),
        "organisation.deleted": _("%(actor)s deleted %(org)s."),
        "invitation.sent": _("%(actor)s invited %(email)s to %(org)s as %(role)s."),
        "invitation.withdrawn": _("%(actor)s withdrew the invitation of %(email)s to %(org)s."),
        "member.joined": _("%(person)s joined %(org)s as %(role)s."),
        "member.joined+operator": _("%(actor)s added %(person)s to %(org)s as %(role)s."),
        "member.role_changed": _("%(actor)s made %(person)s %(role)s of %(org)s."),
        "member.left": _("%(person)s left %(org)s."),
        "member.removed": _("%(actor)s removed %(person)s from %(org)s."),
        "token.created": _("%(actor)s created the access token “%(name)s”."),
        "token.revoked": _("%(actor)s revoked the access token “%(name)s”."),
        "venture.founded": _("%(actor)s founded the venture %(org)s."),
        "venture.updated": _("%(actor)s updated the venture %(org)s."),
    }.get(kind)


@dataclass(frozen=True)
class Entry:
    event: Event
    text: str
    organisation: Organisation | None

    @property
    def at(self) -> datetime:
        return self.event.created_at


def _role(value: Any) -> str:
    return str(Role(value).label) if value in Role.values else str(value or "")


def describe(events: list[Event]) -> list[Entry]:
    organisations = selectors.organisations_by_id(ids=[e.organisation_id for e in events])
    entries = []
    for event in events:
        data = event.data if isinstance(event.data, dict) else {}
        organisation = organisations.get(event.organisation_id) if event.organisation_id else None
        values = {
            "actor": str(event.actor) if event.actor else _("The platform"),
            "org": organisation.name if organisation else data.get("name", _("an organisation")),
            "email": data.get("email", ""),
            "role": _role(data.get("role")),
            "person": data.get("person") or (str(event.actor) if event.actor else ""),
            "name": data.get("name", ""),
        }
        # What an operator did in the admin for someone else reads as theirs ("+operator"), when it has its own words.
        sentence = (data.get("added_by") == "operator" and _sentence(f"{event.kind}+operator")) or _sentence(event.kind)
        text = sentence % values if sentence else _("%(actor)s: %(kind)s") % {**values, "kind": event.kind}
        entries.append(Entry(event=event, text=text, organisation=organisation))
    return entries
