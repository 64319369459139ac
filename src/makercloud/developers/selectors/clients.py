"""developers selectors (reads): clients — apps for their makers and operators, grants for their people."""

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, timedelta
from typing import Any

from django.db.models import QuerySet, Sum
from django.db.models.functions import Trunc
from django.utils import timezone

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import User
from makercloud.developers.errors import AppNotFound, GrantNotFound
from makercloud.developers.models import App, AppStatus, AppUsage, Grant
from makercloud.developers.services import clients as services


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


def apps_of(*, actor: User, status: str | None = None) -> QuerySet[App]:
    """The apps of the actor's ventures (operators: every app), newest first."""
    apps = _apps_for(actor).distinct()
    if status:
        apps = apps.filter(status=status)
    return apps


def review_queue() -> QuerySet[App]:
    """Apps waiting for an operator, oldest submission first."""
    return App.objects.filter(status=AppStatus.IN_REVIEW).select_related("venture").order_by("submitted_at", "pk")


def app_usage(*, app: App, days: int = 30) -> dict[str, Any]:
    """Tokens issued, API calls and rate-limited calls per day (UTC), and the active grants now."""
    services.usage_flush()
    since = timezone.now() - timedelta(days=days)
    rows = (
        AppUsage.objects.filter(app=app, minute__gte=since)
        .annotate(day=Trunc("minute", "day", tzinfo=UTC))
        .values("day")
        .annotate(calls=Sum("calls"), limited=Sum("limited"), tokens=Sum("tokens"))
        .order_by("day")
    )
    totals = AppUsage.objects.filter(app=app).aggregate(tokens=Sum("tokens"), calls=Sum("calls"),
                                                        limited=Sum("limited"))
    return {
        "tokens_issued": int(totals["tokens"] or 0),
        "api_calls": int(totals["calls"] or 0),
        "rate_limited_calls": int(totals["limited"] or 0),
        "active_grants": Grant.objects.filter(app=app, revoked_at__isnull=True).count(),
        "days": [
            {"day": row["day"].date(), "calls": int(row["calls"] or 0), "limited": int(row["limited"] or 0),
             "tokens": int(row["tokens"] or 0)}
            for row in rows
        ],
    }


def grants_of(*, person: User) -> QuerySet[Grant]:
    """A person's active grants (connected apps), newest first."""
    return (
        Grant.objects.filter(person=person, revoked_at__isnull=True)
        .select_related("app__venture")
        .prefetch_related("devices")
    )


def grant_get(*, person: User, grant_id: int) -> Grant:
    grant = grants_of(person=person).filter(pk=grant_id).first()
    if grant is None:
        raise GrantNotFound()
    return grant


def app_for_client(*, client_id: str) -> App | None:
    return App.objects.select_related("venture", "application").filter(application__client_id=client_id).first()
