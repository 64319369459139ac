"""Every write about ventures. People and invitations go through the accounts services."""

from django.db import transaction
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import OrganisationKind, User
from makercloud.core.errors import InvalidInput
from makercloud.core.events import record_event
from makercloud.ventures.models import Origin, Venture


def _check_origin(origin: str) -> None:
    if origin not in Origin.values:
        raise InvalidInput(detail=_("Origin must be one of: %(values)s.") % {"values": ", ".join(Origin.values)})


@transaction.atomic
def venture_found(*, actor: User, name: str, mission: str, origin: str) -> Venture:
    """A maker founds a venture and becomes its owner."""
    _check_origin(origin)
    if not mission.strip():
        raise InvalidInput(detail=_("Say in a sentence what the venture is for."))
    organisation = accounts_services.organisation_create(actor=actor, kind=OrganisationKind.VENTURE, name=name)
    venture = Venture.objects.create(organisation=organisation, mission=mission.strip(), origin=origin)
    record_event(actor=actor, subject=venture, kind="venture.founded", organisation=organisation, public=True,
                 data={"name": organisation.name, "origin": origin})
    return venture


@transaction.atomic
def venture_update(
    *, actor: User, venture: Venture, name: str | None = None, mission: str | None = None, origin: str | None = None
) -> Venture:
    accounts_selectors.ensure_can_manage(person=actor, organisation=venture.organisation)
    if name is not None:
        accounts_services.organisation_update(actor=actor, organisation=venture.organisation, name=name)
    changed: dict[str, str] = {}
    if mission is not None:
        if not mission.strip():
            raise InvalidInput(detail=_("Say in a sentence what the venture is for."))
        if mission.strip() != venture.mission:
            venture.mission = changed["mission"] = mission.strip()
    if origin is not None and origin != venture.origin:
        _check_origin(origin)
        venture.origin = changed["origin"] = origin
    if changed:
        venture.save(update_fields=list(changed))
        record_event(actor=actor, subject=venture, kind="venture.updated", organisation=venture.organisation,
                     public=True, data=changed)
    return venture
