"""Background jobs of ledger. They only nudge: the database decides."""

from datetime import timedelta

from huey import crontab

from makercloud.core.jobs import job, periodic_job

# Rules: payouts and the demo revenue stream ---------------------------------------------------------------------


@job()
def payout_submit(payout_id: str) -> None:
    """Hand a requested payout to its provider, then look again once the sandbox would have confirmed it."""
    from makercloud.ledger.services import payouts

    payouts.payout_submit(payout_id=payout_id)
    payouts_check_soon.schedule(delay=payouts.SandboxProvider.confirm_after.total_seconds() + 1)


@job()
def payouts_check_soon() -> None:
    from makercloud.ledger.services import payouts

    payouts.payouts_check()


@periodic_job(crontab(minute="*"))
def payouts_check() -> None:
    """Every minute: submit payouts whose submission was lost, resolve those the provider has decided."""
    from makercloud.ledger.services import payouts

    payouts.payouts_check()


@periodic_job(crontab(minute="*"))
def demo_revenue() -> None:
    """With the demo world seeded, a sample sale every ~20 s (three per minute) for a demo venture."""
    from makercloud.ledger.demo import is_seeded

    if not is_seeded():
        return
    for offset in (0, 20, 40):
        demo_sale.schedule(delay=offset)


@job(expires=timedelta(seconds=60))
def demo_sale() -> None:
    from makercloud.ledger.demo import settle_one_sale

    settle_one_sale()


# Journal: expiry of pending transfers and the hourly checkpoint --------------------------------------------------


@periodic_job(crontab(minute="*"))
def pending_transfers_expire() -> None:
    """Every minute: expire pending transfers past their timeout (posting one is refused from then on anyway)."""
    from makercloud.ledger.services.journal import transfers_expire

    while transfers_expire(limit=1000) == 1000:
        pass


@periodic_job(crontab(minute="0"))
def checkpoint_publish() -> None:
    """Every hour: publish the chain's head as a checkpoint if it moved."""
    from makercloud.ledger.services.journal import checkpoint_publish

    checkpoint_publish()
