"""Periods of the statement: how `2026-11` and `2026-Q4` are read, and how months make quarters."""

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from makercloud.ledger.errors import InvalidPeriod
from makercloud.ledger.statement_periods import MONTH, QUARTER, Period, period_containing, period_parse


def test_months_and_quarters_are_read_as_written() -> None:
    november = period_parse("2026-11")
    assert (november.granularity, november.label) == (MONTH, "2026-11")
    assert november.start == datetime(2026, 11, 1, tzinfo=UTC) and november.end == datetime(2026, 12, 1, tzinfo=UTC)
    q4 = period_parse("2026-q4")
    assert (q4.label, q4.start.month, q4.end) == ("2026-Q4", 10, datetime(2027, 1, 1, tzinfo=UTC))
    assert period_parse("2026-11", granularity=QUARTER).label == "2026-Q4"
    assert period_parse(None, now=datetime(2026, 2, 3, tzinfo=UTC)).label == "2026-02"
    assert period_parse("", granularity=QUARTER, now=datetime(2026, 2, 3, tzinfo=UTC)).label == "2026-Q1"


@pytest.mark.parametrize("text", ["2026-13", "2026-00", "2026-Q5", "26-11", "2026/11", "november", "1999-12",
                                  "2200-01", "2026-11-01"])
def test_what_is_not_a_period_is_refused_by_name(text: str) -> None:
    with pytest.raises(InvalidPeriod):
        period_parse(text)


def test_a_quarter_cannot_be_asked_for_by_month() -> None:
    with pytest.raises(InvalidPeriod):
        period_parse("2026-Q4", granularity=MONTH)
    with pytest.raises(InvalidPeriod):
        period_parse("2026-11", granularity="week")


@given(st.integers(min_value=2001, max_value=2198), st.integers(min_value=1, max_value=12),
       st.integers(min_value=-40, max_value=40))
def test_periods_step_and_tile_the_calendar(year: int, month: int, steps: int) -> None:
    period = Period(MONTH, year, month)
    assert period.shifted(steps).shifted(-steps) == period
    assert period.next().start == period.end and period.previous().end == period.start
    quarter = period_containing(period.start, granularity=QUARTER)
    months = quarter.month_periods()
    assert period in months and len(months) == 3
    assert months[0].start == quarter.start and months[-1].end == quarter.end
    assert period_parse(period.label) == period and period_parse(quarter.label) == quarter
    series = period.series(12)
    assert series[-1] == period and all(a.end == b.start for a, b in itertools.pairwise(series))
