"""Background jobs of developers. They only nudge: the database decides."""

from huey import crontab

from makercloud.core.jobs import job, periodic_job

# Webhooks (W) ----------------------------------------------------------------------------------------------------

SWEEP_EVERY = 5  # seconds between webhook sweeps (huey's periodic tasks run each minute; each schedules twelve)


@job()
def webhooks_dispatch() -> int:
    """Send the webhook deliveries that are due (nudged after facts commit, and by the sweep)."""
    from makercloud.developers.services.webhooks import deliveries_dispatch

    return deliveries_dispatch()


@periodic_job(crontab(minute="*"))
def webhooks_sweep() -> None:
    """Every few seconds: retries that came due, leases that expired (a dispatcher died), circuits that half-opened.
    Lost nudges cost a few seconds, never a delivery."""
    for delay in range(0, 60, SWEEP_EVERY):
        webhooks_dispatch.schedule(delay=delay)


@periodic_job(crontab(minute="23"))
def webhooks_expire() -> int:
    """Every hour: delete finished webhook deliveries (and their attempts) older than 30 days."""
    from makercloud.developers.services.webhooks import deliveries_expire

    return deliveries_expire()
