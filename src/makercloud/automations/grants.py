"""What an app's grant allows an automation or scene it created (developers.Grant).

An automation created through an OAuth token remembers the grant (`grant_id`); it may use only devices of that grant,
needs its `devices:control` scope, and stops acting the moment the grant is revoked.
"""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from makercloud.developers.models import Grant

CONTROL = "devices:control"


def of_request(request: HttpRequest) -> Grant | None:
    """The grant behind the request's OAuth token, or None (a session or a personal access token)."""
    return getattr(request, "grant", None)


def granted_devices(grant: Grant) -> set[str]:
    return {str(pk) for pk in grant.devices.values_list("pk", flat=True)}


def active(*, grant_id: int) -> Grant | None:
    """The grant if it is still in force (not revoked, not gone)."""
    return Grant.objects.filter(pk=grant_id, revoked_at__isnull=True).first()


def refusal(*, grant: Grant | None) -> str:
    """Why the grant as a whole no longer lets the app act (the empty string when it does)."""
    if grant is None or grant.revoked_at is not None:
        return _("The app's access was revoked.")
    if CONTROL not in (grant.scopes or []):
        return _("The app may not control devices.")
    return ""
