"""Schedules fire at their time in the person's time zone — never early, never twice — and a missed one is told."""

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from makercloud.automations import runs, schedules, services
from makercloud.automations.models import Automation, Run, RunStatus, StopReason
from makercloud.automations.tests.conftest import Home
from makercloud.notifications.models import Notification


def _morning(home: Home, **trigger: object) -> Automation:
    return services.automation_create(
        actor=home.person, name="Good morning",
        trigger={"kind": "schedule", "time": "07:30", "timezone": "Asia/Shanghai", **trigger},
        actions=[{"kind": "set_desired", "device": home.thermostat.pk, "state": {"target": 21}},
                 {"kind": "notify", "title": "The hall is warming up"}],
    )


def test_a_daily_time_fires_at_that_time_in_its_zone_once(home: Home) -> None:
    automation = _morning(home)
    slot = automation.next_run_at
    assert slot is not None
    assert (slot.astimezone(UTC).hour, slot.astimezone(UTC).minute) == (23, 30)  # 07:30 in Shanghai (UTC+8)

    assert runs.schedules_fire(now=slot - timedelta(seconds=1)) == []  # never early
    fired = runs.schedules_fire(now=slot + timedelta(seconds=2))
    assert [run.scheduled_for for run in fired] == [slot]
    assert runs.schedules_fire(now=slot + timedelta(seconds=2)) == []  # never twice
    assert runs.schedules_fire(now=slot + timedelta(seconds=50)) == []
    automation.refresh_from_db()
    assert automation.next_run_at == slot + timedelta(days=1)
    run = Run.objects.get(automation=automation)
    assert run.status == RunStatus.DONE
    home.thermostat.refresh_from_db()
    assert home.thermostat.desired == {"target": 21}
    assert Notification.objects.filter(person=home.person).count() == 1


def test_two_workers_firing_the_same_slot_make_one_run(home: Home) -> None:
    automation = _morning(home)
    slot = automation.next_run_at
    assert slot is not None
    stale = Automation.objects.get(pk=automation.pk)  # a second worker read the same row
    runs.schedules_fire(now=slot)
    Automation.objects.filter(pk=automation.pk).update(next_run_at=stale.next_run_at)  # as if its read came first
    runs.schedules_fire(now=slot)  # the run for this slot exists: the unique constraint refuses a second
    assert Run.objects.filter(automation=automation, scheduled_for=slot).count() == 1


def test_weekdays_and_a_platform_that_was_down(home: Home) -> None:
    automation = _morning(home, weekdays=["sat"])
    slot = automation.next_run_at
    assert slot is not None and slot.astimezone(schedules.zone("Asia/Shanghai")).weekday() == 5
    fired = runs.schedules_fire(now=slot + timedelta(hours=3))  # down for three hours
    assert [(run.status, run.reason) for run in fired] == [(RunStatus.SKIPPED, StopReason.MISSED)]
    automation.refresh_from_db()
    assert automation.next_run_at == slot + timedelta(days=7)
    home.thermostat.refresh_from_db()
    assert home.thermostat.desired == {}  # a 07:30 heating plan is not carried out at 10:30


def test_cron_in_a_zone_with_summer_time() -> None:
    berlin = "Europe/Berlin"
    # 02:30 does not exist on 29 March 2026: it fires at 03:30 summer time, the same instant as 02:30 winter time
    after = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    first = schedules.next_after(cron="30 2 * * *", timezone=berlin, after=after)
    assert first == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    # 02:30 happens twice on 25 October 2026: it fires once
    autumn = datetime(2026, 10, 24, 12, 0, tzinfo=UTC)
    fires = []
    moment = autumn
    for _ in range(3):
        moment = schedules.next_after(cron="30 2 * * *", timezone=berlin, after=moment)
        fires.append(moment)
    assert fires == [datetime(2026, 10, 25, 0, 30, tzinfo=UTC), datetime(2026, 10, 26, 1, 30, tzinfo=UTC),
                     datetime(2026, 10, 27, 1, 30, tzinfo=UTC)]
    assert schedules.next_after(cron="0 0 30 2 *", timezone="UTC", after=after) is None


@settings(max_examples=60, deadline=None)
@given(
    minute=st.sampled_from(["*", "0", "*/15", "5,35", "10-12"]),
    hour=st.sampled_from(["*", "7", "0-6", "*/5"]),
    dow=st.sampled_from(["*", "1-5", "0", "6,0"]),
    zone=st.sampled_from(["UTC", "Asia/Shanghai", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe"]),
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)),
)
def test_next_firings_are_strictly_later_and_on_the_schedule(minute: str, hour: str, dow: str, zone: str,
                                                             start: datetime) -> None:
    cron = f"{minute} {hour} * * {dow}"
    rule, tz = schedules.parse_cron(cron), schedules.zone(zone)
    moment = start
    for _ in range(5):
        following = schedules.next_after(cron=cron, timezone=zone, after=moment)
        assert following is not None and following > moment
        local = following.astimezone(tz)
        assert rule.matches_day(local.date())
        # on the schedule's wall clock (or an hour after a wall time the clocks skipped)
        assert local.minute in rule.minutes or (local - timedelta(hours=1)).minute in rule.minutes
        moment = following
