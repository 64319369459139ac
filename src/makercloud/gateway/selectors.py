"""Reads of the gateway's tables, for the fleet page (devices app) and operators."""

from datetime import timedelta
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone

from makercloud.accounts.models import Organisation
from makercloud.gateway.models import GatewayStats, Rejection

STALE_AFTER = timedelta(minutes=2)


def rejections_for(*, organisation: Organisation, device_id: str | None = None) -> QuerySet[Rejection]:
    """What the gateway dropped from this organisation's devices: one row per device and reason, newest first.

    Each row has device (id, name), reason (and get_reason_display()), count, first_at, last_at, last_detail.
    """
    rows = Rejection.objects.filter(organisation=organisation).select_related("device").order_by("-last_at")
    return rows.filter(device_id=device_id) if device_id else rows


def gateway_stats() -> dict[str, Any]:
    """Every gateway's latest counters, and their sum over the gateways that reported recently."""
    now = timezone.now()
    gateways = []
    total: dict[str, float] = {}
    for row in GatewayStats.objects.order_by("instance"):
        live = now - row.updated_at < STALE_AFTER
        gateways.append(
            {"instance": row.instance, "started_at": row.started_at, "updated_at": row.updated_at, "live": live,
             "counters": row.counters}
        )
        if live:
            for key, value in row.counters.items():
                if isinstance(value, int | float) and not isinstance(value, bool):
                    total[key] = total.get(key, 0) + value
    return {"gateways": gateways, "total": total}
