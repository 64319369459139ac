"""Writes of the gateway's own tables: rejection counters and stats."""

from datetime import datetime
from typing import Any

from django.db import connection
from django.utils import timezone

from makercloud.gateway.models import GatewayStats

_REJECTIONS_UPSERT = """
INSERT INTO gateway_rejection (device_id, organisation_id, reason, count, first_at, last_at, last_detail)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (device_id, reason) DO UPDATE SET
    count = gateway_rejection.count + excluded.count,
    last_at = CASE WHEN excluded.last_at > gateway_rejection.last_at THEN excluded.last_at
                   ELSE gateway_rejection.last_at END,
    last_detail = excluded.last_detail
"""


def rejections_record(*, counts: dict[tuple[str, int, str], list[Any]]) -> None:
    """Add to the rejection counters.

    counts: (device id, organisation id, reason) -> [count, last detail, last at, first at].
    """
    if not counts:
        return
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        (device_id, organisation_id, reason, count, adapt(first), adapt(last), detail[:200])
        for (device_id, organisation_id, reason), (count, detail, last, first) in sorted(counts.items())
    ]
    with connection.cursor() as cursor:
        cursor.executemany(_REJECTIONS_UPSERT, params)


def stats_save(*, instance: str, started_at: datetime, counters: dict[str, Any]) -> None:
    GatewayStats.objects.update_or_create(
        instance=instance[:100],
        defaults={"started_at": started_at, "updated_at": timezone.now(), "counters": counters},
    )
