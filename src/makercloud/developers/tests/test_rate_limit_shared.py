"""Rate-limit windows across processes: with MAKERCLOUD_CACHE_URL (Redis), two `makercloud serve` processes count one
app token's requests in one window, so the limit holds for the platform and not per process; a cache that is down
does not fail the API. (The 429 and Retry-After themselves: test_oauth_consent.py.)"""

import json
import os
import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings

from makercloud.developers.errors import RateLimited
from makercloud.developers.services import clients as services

pytestmark = pytest.mark.django_db

SHARED = os.environ.get("MAKERCLOUD_CACHE_URL", "")
# The other process: the same settings and cache (and key prefix), no database work (its counts are never flushed).
OTHER_PROCESS = textwrap.dedent("""
    import json, sys
    import django
    django.setup()
    from makercloud.developers.errors import RateLimited
    from makercloud.developers.services import clients
    clients.FLUSH_SECONDS = float("inf")
    answers = []
    for _ in range(int(sys.argv[3])):
        try:
            clients.rate_limit_check(app_id=int(sys.argv[1]), token_id=int(sys.argv[2]))
            answers.append(200)
        except RateLimited as error:
            answers.append(429)
            assert 1 <= error.retry_after <= 60
    print(json.dumps(answers))
""")


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    services._pending.clear()
    yield
    services._pending.clear()


def _calls(*, app_id: int, token_id: int, n: int) -> list[int]:
    answers = []
    for _ in range(n):
        try:
            services.rate_limit_check(app_id=app_id, token_id=token_id)
            answers.append(200)
        except RateLimited:
            answers.append(429)
    return answers


def _in_another_process(*, app_id: int, token_id: int, n: int) -> list[int]:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "makercloud.config.settings.test",
           "MAKERCLOUD_CACHE_PREFIX": settings.CACHES["default"]["KEY_PREFIX"],
           "MAKERCLOUD_OAUTH_RATE_PER_TOKEN": str(settings.OAUTH_RATE_LIMIT_PER_TOKEN),
           "MAKERCLOUD_OAUTH_RATE_PER_APP": str(settings.OAUTH_RATE_LIMIT_PER_APP)}
    done = subprocess.run([sys.executable, "-c", OTHER_PROCESS, str(app_id), str(token_id), str(n)], env=env,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.skipif(not SHARED, reason="MAKERCLOUD_CACHE_URL is not set (CI's PostgreSQL pass sets a Redis)")
@override_settings(OAUTH_RATE_LIMIT_PER_TOKEN=5, OAUTH_RATE_LIMIT_PER_APP=1000)
def test_two_processes_share_one_window_of_a_token() -> None:
    assert settings.CACHES["default"]["BACKEND"] == "django.core.cache.backends.redis.RedisCache"
    if time.time() % 60 > 40:  # all calls in one minute's window: the other process takes a few seconds to start
        time.sleep(61 - time.time() % 60)
    app_id, token_id = (uuid.uuid4().int % 10**9 + 10**9 for _ in range(2))  # no other test's windows
    assert _calls(app_id=app_id, token_id=token_id, n=3) == [200, 200, 200]
    assert _in_another_process(app_id=app_id, token_id=token_id, n=3) == [200, 200, 429]
    assert _calls(app_id=app_id, token_id=token_id, n=1) == [429]  # the other process's calls counted here too
    # Another token of the same app has a window of its own.
    assert _calls(app_id=app_id, token_id=token_id + 1, n=1) == [200]


@override_settings(
    OAUTH_RATE_LIMIT_PER_TOKEN=1,
    CACHES={"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                        "LOCATION": "redis://127.0.0.1:9/0",  # nothing listens on the discard port
                        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5}}},
)
def test_an_unreachable_cache_lets_calls_through_instead_of_failing_them() -> None:
    assert _calls(app_id=10**9 - 1, token_id=10**9 - 1, n=3) == [200, 200, 200]


def test_the_embedded_default_counts_in_this_process_when_no_cache_is_shared() -> None:
    with override_settings(OAUTH_RATE_LIMIT_PER_TOKEN=2, OAUTH_RATE_LIMIT_PER_APP=1000):
        cache.clear()
        assert _calls(app_id=7, token_id=8, n=3) == [200, 200, 429]
