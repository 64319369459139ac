"""contracts jobs: decide the bet-on clauses whose date has passed (the database is the source of truth; running
twice or late decides each clause once)."""

from huey import crontab

from makercloud.contracts import services
from makercloud.core.jobs import periodic_job


@periodic_job(crontab(minute="7"))
def contracts_bet_ons_due() -> int:
    """Hourly: measure and decide every due clause of the terms in force."""
    return services.bet_ons_evaluate_due()
