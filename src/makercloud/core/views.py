"""What every app's pages share: domain errors shown as readable, translated sentences — never a traceback or a 500."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import Http404, HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from makercloud.core.errors import DomainError, NotFound, PermissionDenied

# The English titles of the error classes are API-facing; a page shows these translated sentences instead when a
# service raised an error without its own (translated) detail.
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
}


def explain(error: DomainError) -> str:
    """The sentence to show a person for a domain error."""
    if error.detail and error.detail != error.title:
        return str(error.detail)
    return str(TITLES.get(error.type, TITLES["domain-error"]))


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
