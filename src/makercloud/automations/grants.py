"""What an app's grant allows an automation or scene it created (developers.Grant, engineer A's part of issue 4).

An automation created through an OAuth token remembers the grant (`grant_id`); it may use only devices of that grant,
needs its `devices:control` scope, and stops acting the moment the grant is revoked. The grant model is looked up
lazily and by name: while it does not exist, an automation under a grant is refused (fail closed).
"""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

CONTROL = "devices:control"


def _grant_model() -> Any:
    from makercloud.developers import models as developers_models

    return getattr(developers_models, "Grant", None)


def of_request(request: HttpRequest) -> Any:
    """The grant behind the request's OAuth token, or None (a session or a personal access token)."""
    return getattr(request, "grant", None)


def granted_devices(grant: Any) -> set[str]:
    return {str(pk) for pk in grant.devices.values_list("pk", flat=True)}


def refusal(*, grant_id: int, device_ids: set[str]) -> str:
    """Why the grant does not (or no longer) cover these devices; the empty string when it does."""
    model = _grant_model()
    grant = model.objects.filter(pk=grant_id).first() if model is not None else None
    if grant is None or getattr(grant, "revoked_at", None) is not None:
        return _("The app's access was revoked.")
    if CONTROL not in (grant.scopes or []):
        return _("The app may not control devices.")
    missing = sorted(device_ids - granted_devices(grant))
    if missing:
        return _("The app was not granted device %(device)s.") % {"device": missing[0]}
    return ""
