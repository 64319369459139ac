"""Back-off with full jitter (properties): every delay lies between a second and its step's cap, the caps grow, and
a delivery that always fails keeps being tried for most of a day — never given up early, never past the day."""

import random
from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from makercloud.developers.services.webhooks import MIN_DELAY, RETRY_CAPS, RETRY_WINDOW, retry_delay


@given(retry=st.integers(min_value=1, max_value=50), seed=st.integers())
def test_each_delay_is_between_a_second_and_its_cap(retry: int, seed: int) -> None:
    delay = retry_delay(retry, rng=random.Random(seed))
    assert MIN_DELAY <= delay <= max(MIN_DELAY, RETRY_CAPS[min(retry, len(RETRY_CAPS)) - 1])


def test_the_caps_grow_from_seconds_to_hours() -> None:
    assert RETRY_CAPS[0] == timedelta(seconds=5) and RETRY_CAPS[-1] == timedelta(hours=8)
    assert list(RETRY_CAPS) == sorted(RETRY_CAPS)


@settings(max_examples=300)
@given(seed=st.integers())
def test_a_dead_endpoint_is_tried_for_most_of_a_day_and_then_given_up(seed: int) -> None:
    rng = random.Random(seed)
    elapsed, retry, attempts = timedelta(0), 0, 1  # the first attempt at 0
    while True:
        retry += 1
        next_at = elapsed + retry_delay(retry, rng=rng)
        if next_at > RETRY_WINDOW:  # what the dispatcher does: the delivery has failed
            break
        elapsed, attempts = next_at, attempts + 1
    assert elapsed <= RETRY_WINDOW
    assert elapsed >= RETRY_WINDOW - RETRY_CAPS[-1], "gave up long before the day was over"
    assert 4 <= attempts <= 200
