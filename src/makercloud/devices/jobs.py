"""Background jobs of devices. They only nudge: the database decides (an invocation past its deadline reads as a
timeout even before the job runs)."""

from huey import crontab

from makercloud.core.jobs import periodic_job
from makercloud.devices import services


@periodic_job(crontab(minute="*"))
def invocations_expire() -> int:
    """Every minute: pending invocations past their deadline become timeouts."""
    return services.invocations_expire()


@periodic_job(crontab(minute="17"))
def telemetry_expire() -> int:
    """Every hour: delete telemetry older than its device model's retention."""
    return services.telemetry_expire()
