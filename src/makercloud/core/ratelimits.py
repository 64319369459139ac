"""Rate limits on what people may ask for: fixed windows counted in Django's cache.

A `RateLimit` allows `count` requests per key in each window of `seconds`; windows are aligned to the epoch, so an
hour's window is a clock hour (UTC) and a day's a calendar day. `rate_limits_take` counts one request against
several limits at once and refuses it (429, `rate-limited`, with Retry-After) when any of them is spent; a refused
request uses up none of them. The clock is `django.utils.timezone.now`.

Counts are exact within one process (the embedded default); across processes they are shared once
MAKERCLOUD_CACHE_URL names a Redis that every process uses, as with the developers' per-minute limits on app tokens.
"""

import contextlib
import logging
import math
from collections.abc import Iterable
from dataclasses import dataclass

from django.core.cache import cache
from django.utils import timezone
from django.utils.functional import Promise
from django.utils.translation import ngettext

from makercloud.core.errors import DomainError

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RateLimit:
    """At most `count` requests per key every `seconds`. `message` is what a refused person reads; it may use
    %(count)s and %(wait)s (how long until they may try again: "14 minutes", "3 hours")."""

    name: str
    count: int
    seconds: int
    message: str | Promise


class TooManyRequests(DomainError):
    """A request over a rate limit. `retry_after` (seconds) becomes the Retry-After header on the API."""

    type = "rate-limited"
    title = "Too many requests"
    status = 429

    def __init__(self, detail: str = "", *, retry_after: int, limit: str) -> None:
        super().__init__(detail, retry_after=retry_after, limit=limit)
        self.retry_after = retry_after


def _cache_key(limit: RateLimit, key: str, window: int) -> str:
    return f"mc:limit:{limit.name}:{key}:{window}"


def window_count(cache_key: str, timeout: int) -> int:
    """Count one request in a window and return its count, atomically across the processes sharing the cache: the
    first request creates the window (SET NX on Redis), the others add to it (INCR). Also the developers' per-minute
    limits on app tokens count with it."""
    for _attempt in range(3):
        if cache.add(cache_key, 1, timeout=timeout):
            return 1
        try:
            return cache.incr(cache_key)
        except ValueError:  # the window expired or was evicted between the two: create it again
            continue
    return 1


def _wait(seconds: int) -> str:
    if seconds > 2 * 3600:
        hours = math.ceil(seconds / 3600)
        return ngettext("%(n)d hour", "%(n)d hours", hours) % {"n": hours}
    minutes = math.ceil(seconds / 60)
    return ngettext("%(n)d minute", "%(n)d minutes", minutes) % {"n": minutes}


def _refusal(limit: RateLimit, retry_after: int) -> TooManyRequests:
    return TooManyRequests(
        detail=str(limit.message) % {"count": limit.count, "wait": _wait(retry_after)},
        retry_after=retry_after,
        limit=limit.name,
    )


def rate_limits_check(checks: Iterable[tuple[RateLimit, str]]) -> None:
    """Refuse (TooManyRequests) if any limit is already spent, without counting anything: for limits that count
    only what went wrong (wrong passwords), taken with `rate_limits_take` afterwards."""
    now = timezone.now().timestamp()
    try:
        for limit, key in checks:
            window = int(now // limit.seconds)
            if int(cache.get(_cache_key(limit, key, window)) or 0) >= limit.count:
                raise _refusal(limit, max(1, math.ceil((window + 1) * limit.seconds - now)))
    except TooManyRequests:
        raise
    except Exception:  # Redis down: as in rate_limits_take
        logger.warning("rate limits not applied: the cache is unreachable", exc_info=True)


def rate_limits_take(checks: Iterable[tuple[RateLimit, str]]) -> None:
    """Count one request against each (limit, key); refuse it if any limit is spent (TooManyRequests), counting it
    against none of them. A shared cache that cannot be reached lets the request through (and says so in the log)."""
    now = timezone.now().timestamp()
    taken: list[str] = []
    refused: tuple[RateLimit, int] | None = None
    try:
        for limit, key in checks:
            window = int(now // limit.seconds)
            cache_key = _cache_key(limit, key, window)
            count = window_count(cache_key, limit.seconds + 60)
            taken.append(cache_key)
            if count > limit.count:
                refused = (limit, max(1, math.ceil((window + 1) * limit.seconds - now)))
                break
    except Exception:  # Redis down: requests are not refused for it; the limits apply again once it is back
        logger.warning("rate limits not applied: the cache is unreachable", exc_info=True)
        return
    if refused is None:
        return
    for cache_key in taken:
        with contextlib.suppress(Exception):  # expired meanwhile (or the cache went away): nothing to give back
            cache.decr(cache_key)
    limit, retry_after = refused
    raise _refusal(limit, retry_after)
