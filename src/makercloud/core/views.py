"""What every app's pages share: domain errors shown as readable, translated sentences — never a traceback or a 500.

A page shows a domain error's own detail when a service gave one (services write it translated), else the error's own
title — the sentence its problem+json carries — in the person's language. The titles of the errors that refuse a page
(403) are listed below for the catalogue; a title without a translation falls back to a translated sentence for its
kind of error (not found, not allowed, …) rather than to English.
"""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.log import log_response
from django.utils.translation import get_language, gettext, gettext_noop
from django.utils.translation import gettext_lazy as _
from django.views import defaults

from makercloud.core import problems
from makercloud.core.errors import DomainError, NotFound, PermissionDenied

request_logger = logging.getLogger("django.request")

# Sentences for an error of a type (or of its kind: the base classes' types) whose title is not meant for people.
TITLES = {
    "domain-error": _("This cannot be done right now."),
    "not-found": _("We could not find that."),
    "permission-denied": _("You may not do this."),
    "conflict": _("This conflicts with the current state. Reload the page and try again."),
    "invalid-input": _("Some of the input is not valid."),
    "email-taken": _("This e-mail address already has an account."),
    "weak-password": _("The password is too weak."),
    "invalid-invitation": _("This invitation cannot be used."),
    "invalid-verification": _("This verification link is not valid."),
    "unknown-scope": _("Unknown scope."),
    "already-member": _("Already a member."),
    "last-owner": _("An organisation needs an owner."),
    "organisation-not-found": _("There is no such organisation."),
    "not-organisation-manager": _("Only the organisation's owners and administrators may do this."),
    "not-operator": _("Only platform operators may do this."),
    "venture-not-found": _("There is no such venture."),
    "csrf-failed": _("The form has expired. Reload the page and try again."),
}

# The titles of the errors that refuse a page (PermissionDenied), exactly as their classes carry them, so that the
# catalogue translates them (a test checks that every such title is translated).
FORBIDDEN_TITLES = (
    gettext_noop("This app cannot be authorised by you"),
    gettext_noop("You may not control this device"),
    gettext_noop("The token does not carry the scope this operation needs"),
    gettext_noop("Only the contract's parties may do this"),
    gettext_noop("Only the account's owner may withdraw from it"),
    gettext_noop("You may not do this for this call"),
    gettext_noop("Only the owners and admins of the app's venture may do this"),
    gettext_noop("Only the call's owners and administrators may do this"),
    gettext_noop("Only the device's owner and its venture's members may control it"),
    gettext_noop("Only the device's owner or its venture's managers may do this"),
    gettext_noop("You may not respond to this call"),
    gettext_noop("Only the idea's author, supporters and proposers discuss it"),
    gettext_noop("Only the call's participants may complain"),
    gettext_noop("Only the venture's owners and administrators (or operators) may change its rules"),
    gettext_noop("Only the venture's members, the rule's parties and operators may see this rule"),
    gettext_noop("Only operators and the venture's owners and administrators may settle its revenue"),
    gettext_noop("Only the venture's members and operators may see this"),
    gettext_noop("Verify your e-mail address first"),
    gettext_noop("You may not move this account's money"),
    gettext_noop("The password is not correct"),
    gettext_noop("The responses are sealed until the deadline"),
    gettext_noop("A sealed bid opens only when its call closes"),
    gettext_noop("Personal access tokens cannot do this; sign in with a browser session"),
)


def explain(error: DomainError) -> str:
    """The sentence to show a person for a domain error, in their language."""
    if error.detail and error.detail != error.title:
        return str(error.detail)
    if error.type in TITLES:
        return str(TITLES[error.type])
    own = gettext(error.title)
    if own != error.title or (get_language() or "en").startswith("en"):
        return f"{own}." if own[-1:].isascii() and own[-1:].isalnum() else own
    kind = next(c.type for c in type(error).__mro__ if issubclass(c, DomainError) and c.type in TITLES)
    return str(TITLES[kind])


def forbidden(request: HttpRequest, exception: Exception) -> HttpResponse:
    """The 403 answer (`config.urls.handler403`): the page shows the reason; the log gets one warning line naming the
    error's type and the path — a refusal is not a fault, so no traceback."""
    if request.path.startswith("/api/"):
        response = problems.problem(status=403, type="permission-denied", title="You may not do this")
    else:
        response = defaults.permission_denied(request, exception, template_name="403.html")
    cause = exception.__cause__
    kind = cause.type if isinstance(cause, DomainError) else type(exception).__name__
    # logged here without the exception, and marked as logged, so that Django does not log it again with a traceback
    log_response("Forbidden (%s): %s", kind, request.path, response=response, request=request,
                 logger=request_logger)
    return response


def pages_for_domain_errors(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Turn a domain error that a view did not handle into the 404 or 403 page, with the reason."""

    @wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            return view(request, *args, **kwargs)
        except NotFound as error:
            raise Http404(explain(error)) from error
        except PermissionDenied as error:
            raise PageForbidden(explain(error)) from error

    return wrapped


def show_error(request: HttpRequest, error: DomainError) -> None:
    """Show a domain error as a message on the next page; not-found and forbidden become their own pages."""
    if isinstance(error, NotFound):
        raise Http404(explain(error)) from error
    if isinstance(error, PermissionDenied):
        raise PageForbidden(explain(error)) from error
    messages.error(request, explain(error))
