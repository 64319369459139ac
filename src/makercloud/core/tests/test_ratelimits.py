"""core/ratelimits.py: fixed windows in the cache, several limits at once, a refusal spends none of them."""

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis

from makercloud.core.ratelimits import RateLimit, TooManyRequests, rate_limits_check, rate_limits_take

TWO_A_MINUTE = RateLimit("test-two-a-minute", 2, 60, "At most %(count)s a minute; try again in %(wait)s.")
THREE_A_DAY = RateLimit("test-three-a-day", 3, 86400, "At most %(count)s a day; try again in %(wait)s.")


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[datetime]:
    """The time the limits see, moved by the test (index 0)."""
    now = [datetime(2026, 3, 2, 10, 0, 15, tzinfo=UTC)]
    monkeypatch.setattr("django.utils.timezone.now", lambda: now[0])
    return now


def test_the_request_past_the_limit_is_refused_until_the_window_ends(clock: list[datetime]) -> None:
    rate_limits_take([(TWO_A_MINUTE, "ada")])
    rate_limits_take([(TWO_A_MINUTE, "ada")])
    with pytest.raises(TooManyRequests) as refused:
        rate_limits_take([(TWO_A_MINUTE, "ada")])
    assert refused.value.status == 429 and refused.value.type == "rate-limited"
    assert refused.value.retry_after == 45  # the minute's window ends at 10:01:00
    assert refused.value.detail == "At most 2 a minute; try again in 1 minute."
    assert refused.value.extra == {"retry_after": 45, "limit": "test-two-a-minute"}
    rate_limits_take([(TWO_A_MINUTE, "bob")])  # another key has its own count
    clock[0] += timedelta(seconds=45)
    rate_limits_take([(TWO_A_MINUTE, "ada")])  # a new window


def test_a_refused_request_counts_against_none_of_the_limits(clock: list[datetime]) -> None:
    for _ in range(2):
        rate_limits_take([(THREE_A_DAY, "ada"), (TWO_A_MINUTE, "ada")])
    for _ in range(5):  # refused by the minute's limit: the day's is not spent by them
        with pytest.raises(TooManyRequests):
            rate_limits_take([(THREE_A_DAY, "ada"), (TWO_A_MINUTE, "ada")])
    clock[0] += timedelta(minutes=1)
    rate_limits_take([(THREE_A_DAY, "ada"), (TWO_A_MINUTE, "ada")])  # the day's third
    clock[0] += timedelta(minutes=1)
    with pytest.raises(TooManyRequests) as refused:
        rate_limits_take([(THREE_A_DAY, "ada"), (TWO_A_MINUTE, "ada")])
    assert refused.value.extra["limit"] == "test-three-a-day"
    assert refused.value.detail == "At most 3 a day; try again in 14 hours."  # from 10:02:15 to midnight UTC
    clock[0] = datetime(2026, 3, 3, 0, 0, tzinfo=UTC)
    rate_limits_take([(THREE_A_DAY, "ada"), (TWO_A_MINUTE, "ada")])


def test_a_cache_that_cannot_be_reached_lets_requests_through(
    settings: Any, clock: list[datetime], caplog: pytest.LogCaptureFixture
) -> None:
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0",  # nothing listens there
                                   "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}}
    for _ in range(3):
        rate_limits_take([(TWO_A_MINUTE, "ada")])
    assert "rate limits not applied: the cache is unreachable" in caplog.text


def test_with_redis_the_counts_are_in_redis_for_every_process_to_see(settings: Any, clock: list[datetime]) -> None:
    prefix = f"test-{uuid.uuid4().hex}"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:6379/0", "KEY_PREFIX": prefix}}
    other_process = redis.Redis.from_url("redis://127.0.0.1:6379/0")
    try:
        rate_limits_take([(TWO_A_MINUTE, "ada")])
        rate_limits_take([(TWO_A_MINUTE, "ada")])
        [key] = other_process.keys(f"{prefix}:*")
        assert b"test-two-a-minute:ada" in key and int(other_process.get(key) or 0) == 2
        with pytest.raises(TooManyRequests):
            rate_limits_take([(TWO_A_MINUTE, "ada")])
        assert int(other_process.get(key) or 0) == 2  # the refused one gave its count back
    finally:
        for key in other_process.keys(f"{prefix}:*"):
            other_process.delete(key)


def test_checking_a_limit_counts_nothing(clock: list[datetime]) -> None:
    for _ in range(5):
        rate_limits_check([(TWO_A_MINUTE, "ada")])
    rate_limits_take([(TWO_A_MINUTE, "ada")])
    rate_limits_take([(TWO_A_MINUTE, "ada")])
    with pytest.raises(TooManyRequests) as refused:
        rate_limits_check([(TWO_A_MINUTE, "ada")])
    assert refused.value.retry_after == 45 and refused.value.extra["limit"] == "test-two-a-minute"
