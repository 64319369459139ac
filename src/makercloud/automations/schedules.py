"""Schedules of automations: a cron expression (five fields) or a daily time, in a time zone.

`next_after(schedule, after)` is the first moment strictly after `after` at which the schedule fires, in UTC. The
periodic job fires an automation once its stored `next_run_at` has passed (never early) and moves `next_run_at` on
with a conditional update in the same transaction as the run it creates (never twice).

Local times are the schedule's time zone's wall clock. On the night clocks go forward a wall time that does not
exist fires at the same instant an hour later on the new clock (zoneinfo's fold=0); on the night they go back a
repeated wall time fires once, at its first occurrence.
"""

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day of month", 1, 31), ("month", 1, 12), ("day of week", 0, 7))
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 366 * 5  # a cron expression that matches no day in five years (30 February) never fires


class InvalidSchedule(ValueError):
    pass


@dataclass(frozen=True)
class Cron:
    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Monday … 6 = Sunday (Python's weekday())
    days_restricted: bool
    weekdays_restricted: bool

    def matches_day(self, day: date) -> bool:
        if day.month not in self.months:
            return False
        by_day, by_weekday = day.day in self.days, day.weekday() in self.weekdays
        if self.days_restricted and self.weekdays_restricted:
            return by_day or by_weekday  # cron's rule: either restriction matching is enough
        return by_day and by_weekday


def _field(text: str, name: str, low: int, high: int) -> tuple[set[int], bool]:
    values: set[int] = set()
    for part in text.split(","):
        base, _slash, step_text = part.partition("/")
        try:
            step = int(step_text) if step_text else 1
            if base == "*":
                start, end = low, high
            elif "-" in base:
                first, last = base.split("-", 1)
                start, end = int(first), int(last)
            else:
                start = int(base)
                end = high if step_text else start
        except ValueError as error:
            raise InvalidSchedule(f"the {name} field {text!r} is not a number, range, list or step") from error
        if step < 1 or not (low <= start <= high and low <= end <= high) or start > end:
            raise InvalidSchedule(f"the {name} field {text!r} is outside {low}–{high}")
        values.update(range(start, end + 1, step))
    return values, text != "*"


def parse_cron(expression: str) -> Cron:
    parts = expression.split()
    if len(parts) != 5:
        raise InvalidSchedule("a cron expression has five fields: minute hour day-of-month month day-of-week")
    parsed = [_field(part, name, low, high) for part, (name, low, high) in zip(parts, FIELDS, strict=True)]
    (minutes, _), (hours, _), (days, days_restricted), (months, _), (cron_weekdays, weekdays_restricted) = parsed
    weekdays = frozenset((value - 1) % 7 for value in cron_weekdays)  # cron: 0 and 7 are Sunday, 1 Monday
    return Cron(tuple(sorted(minutes)), tuple(sorted(hours)), frozenset(days), frozenset(months), weekdays,
                days_restricted, weekdays_restricted)


def zone(name: str) -> ZoneInfo:
    if name not in _zones():
        raise InvalidSchedule(f"{name!r} is not an IANA time zone (such as Asia/Shanghai or Europe/Berlin)")
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise InvalidSchedule(f"{name!r} is not an IANA time zone") from error


_ZONES: set[str] = set()


def _zones() -> set[str]:
    if not _ZONES:
        _ZONES.update(available_timezones())
    return _ZONES


def daily_cron(at: str, weekdays: list[str] | None) -> str:
    """The cron expression of a daily time ("07:30") on some weekdays (all when none are given)."""
    try:
        moment = time.fromisoformat(at)
    except ValueError as error:
        raise InvalidSchedule(f"{at!r} is not a time of day such as 07:30") from error
    if moment.second or moment.microsecond or moment.tzinfo:
        raise InvalidSchedule("a daily time is hours and minutes, without seconds or a zone (give `timezone`)")
    days = "*"
    if weekdays:
        unknown = [day for day in weekdays if day not in WEEKDAYS]
        if unknown:
            raise InvalidSchedule(f"unknown weekday {unknown[0]!r}: use {', '.join(WEEKDAYS)}")
        days = ",".join(str((WEEKDAYS.index(day) + 1) % 7) for day in sorted(set(weekdays), key=WEEKDAYS.index))
    return f"{moment.minute} {moment.hour} * * {days}"


def next_after(*, cron: str, timezone: str, after: datetime) -> datetime | None:
    """The first firing strictly after `after` (aware), in UTC; None if there is none within five years."""
    rule, tz = parse_cron(cron), zone(timezone)
    local = after.astimezone(tz)
    day = local.date()
    for _ in range(SEARCH_DAYS):
        if rule.matches_day(day):
            # the earliest of the day's times still ahead (not simply the first: a wall time skipped by the clocks
            # going forward lands an hour later, after the next real one)
            ahead = [
                candidate
                for hour in rule.hours
                for minute in rule.minutes
                if (candidate := datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).astimezone(UTC))
                > after
            ]
            if ahead:
                return min(ahead)
        day += timedelta(days=1)
    return None
