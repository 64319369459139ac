"""developers selectors (reads): clients — apps for their makers and operators, grants for their people."""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import QuerySet

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import User
from makercloud.developers.errors import AppNotFound
from makercloud.developers.models import App, Grant


def grants_covering(*, device_ids: Iterable[str]) -> dict[str, list[Grant]]:
    """The active grants that reach each of these devices (devices no grant reaches are left out). Two queries."""
    ids = list(device_ids)
    if not ids:
        return {}
    through = Grant.devices.through
    pairs = list(
        through.objects.filter(device_id__in=ids, grant__revoked_at__isnull=True).values_list("device_id", "grant_id")
    )
    grants = {g.pk: g for g in Grant.objects.filter(pk__in={gid for _, gid in pairs}).select_related("app")}
    covering: dict[str, list[Grant]] = defaultdict(list)
    for device_id, grant_id in pairs:
        covering[device_id].append(grants[grant_id])
    return dict(covering)


def _apps_for(actor: User) -> QuerySet[App]:
    apps = App.objects.select_related("venture", "application")
    if accounts_selectors.is_operator(person=actor):
        return apps
    if not actor.is_authenticated:
        return apps.none()
    return apps.filter(venture__memberships__person=actor)


def app_get_for_maker(*, actor: User, app_id: int) -> App:
    """An app its venture's members (or operators) may see and manage; to anyone else it does not exist (404)."""
    app = _apps_for(actor).filter(pk=app_id).first()
    if app is None:
        raise AppNotFound()
    return app
