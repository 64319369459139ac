"""Background jobs of calls. They only nudge: the database decides (calls.services.engine.calls_tick).

Every minute the periodic job schedules a tick every 5 seconds, so a call closes within seconds of its deadline
(never before: the close is judged by the database's clock). A worker that starts runs a tick at once, so calls that
fell due while nothing was running are closed on its first run.
"""

from datetime import timedelta

from huey import crontab

from makercloud.core.jobs import job, periodic_job, queue

TICK_EVERY = 5  # seconds


@job(expires=timedelta(seconds=30))
def calls_tick() -> dict[str, int]:
    from makercloud.calls.services.engine import calls_tick as tick
    from makercloud.calls.services.kinds import ideas_tick

    return {**tick(), "ideas_ended": ideas_tick()}


@job()
def calls_notify(person_ids: list[int], title: str, body: str, url: str, key: str) -> int:
    """Notifications to many people at once (a call's respondents), after the commit that caused them."""
    from makercloud.calls.services.engine import notify_each

    return notify_each(person_ids=person_ids, title=title, body=body, url=url, key=key)


@periodic_job(crontab(minute="*"))
def calls_deadlines() -> None:
    """Every minute: a tick now and every TICK_EVERY seconds until the next minute."""
    for offset in range(0, 60, TICK_EVERY):
        calls_tick.schedule(delay=offset)


@queue.on_startup()
def calls_catch_up() -> None:
    """A worker that (re)starts closes what fell due while it was down, without waiting for the next minute."""
    calls_tick.schedule(delay=1)
