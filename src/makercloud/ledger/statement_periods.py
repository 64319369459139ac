"""Periods of the win-win statement: calendar months and quarters in UTC, written `2026-11` and `2026-Q4`."""

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime

from makercloud.ledger.errors import InvalidPeriod

MONTH = "month"
QUARTER = "quarter"
GRANULARITIES = (MONTH, QUARTER)
MIN_YEAR, MAX_YEAR = 2000, 2199

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")


@dataclass(frozen=True, order=True, slots=True)
class Period:
    """A calendar month (index 1–12) or quarter (index 1–4) of a year, in UTC."""

    granularity: str
    year: int
    index: int

    @property
    def first_month(self) -> int:
        return self.index if self.granularity == MONTH else 3 * self.index - 2

    @property
    def months(self) -> int:
        return 1 if self.granularity == MONTH else 3

    @property
    def start_date(self) -> date:
        return date(self.year, self.first_month, 1)

    @property
    def start(self) -> datetime:
        return datetime(self.year, self.first_month, 1, tzinfo=UTC)

    @property
    def end(self) -> datetime:
        """The first instant after the period (exclusive)."""
        return self.next().start

    @property
    def label(self) -> str:
        return f"{self.year}-{self.index:02d}" if self.granularity == MONTH else f"{self.year}-Q{self.index}"

    def __str__(self) -> str:
        return self.label

    def shifted(self, steps: int) -> "Period":
        per_year = 12 if self.granularity == MONTH else 4
        n = self.year * per_year + (self.index - 1) + steps
        return Period(self.granularity, n // per_year, n % per_year + 1)

    def next(self) -> "Period":
        return self.shifted(1)

    def previous(self) -> "Period":
        return self.shifted(-1)

    def month_periods(self) -> list["Period"]:
        """The months a period is made of (a month is made of itself)."""
        return [Period(MONTH, self.year, self.first_month + i) for i in range(self.months)]

    def series(self, count: int) -> list["Period"]:
        """`count` periods ending with this one, oldest first."""
        return [self.shifted(-i) for i in range(count - 1, -1, -1)]


def period_containing(moment: datetime | date, *, granularity: str) -> Period:
    month = moment.month
    return Period(MONTH, moment.year, month) if granularity == MONTH else Period(QUARTER, moment.year, (month + 2) // 3)


def period_of(start: date, *, granularity: str) -> Period:
    """The period that starts on `start` (a plan's period_start)."""
    return period_containing(start, granularity=granularity)


def period_current(*, granularity: str = MONTH, now: datetime | None = None) -> Period:
    return period_containing(now or datetime.now(UTC), granularity=granularity)


def period_parse(text: str | None, *, granularity: str | None = None, now: datetime | None = None) -> Period:
    """Read `2026-11` (a month) or `2026-Q4` (a quarter).

    With `granularity="quarter"` a month stands for the quarter that contains it; asking for months of a quarter is an
    error. No text means the current period. Anything else raises InvalidPeriod (422 `invalid-period`).
    """
    if granularity is not None and granularity not in GRANULARITIES:
        raise InvalidPeriod(detail=f"granularity must be 'month' or 'quarter', not {granularity!r}.")
    if not text:
        return period_current(granularity=granularity or MONTH, now=now)
    text = text.strip()
    if match := _MONTH.match(text):
        year, index, form = int(match[1]), int(match[2]), MONTH
    elif match := _QUARTER.match(text):
        year, index, form = int(match[1]), int(match[2]), QUARTER
    else:
        raise InvalidPeriod(detail=f"{text[:40]!r} is not a period: write a month as 2026-11 or a quarter as 2026-Q4.")
    if not MIN_YEAR <= year <= MAX_YEAR:
        raise InvalidPeriod(detail=f"The year must be between {MIN_YEAR} and {MAX_YEAR}.")
    period = Period(form, year, index)
    if granularity is None or granularity == form:
        return period
    if granularity == QUARTER:
        return period_containing(period.start_date, granularity=QUARTER)
    raise InvalidPeriod(detail=f"{text} is a quarter; ask for granularity=quarter, or name a month such as {year}-"
                               f"{period.first_month:02d}.")
