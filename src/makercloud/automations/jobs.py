"""Background jobs of automations. They only nudge: the database decides (a schedule's next time and every run's
state are rows; firing and claiming are conditional updates, so a job that runs twice or late does no harm)."""

from huey import crontab

from makercloud.automations import runs
from makercloud.core.jobs import periodic_job


@periodic_job(crontab(minute="*"))
def schedules_fire() -> int:
    """Every minute: fire the schedules whose time has come (once each)."""
    return len(runs.schedules_fire())


@periodic_job(crontab(minute="*"))
def runs_recover() -> int:
    """Every minute: execute runs a crash left behind (never dispatched, or past their lease)."""
    return runs.runs_recover()
