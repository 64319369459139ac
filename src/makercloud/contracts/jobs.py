"""contracts jobs: decide the bet-on clauses whose date has passed and try again the outcome transfers the ledger
refused (the database is the source of truth; running twice or late decides each clause once and pays it once)."""

from huey import crontab

from makercloud.contracts import services
from makercloud.core.jobs import periodic_job


@periodic_job(crontab(minute="7"))
def contracts_bet_ons_due() -> int:
    """Hourly: measure and decide every due clause of the terms in force; retry refused outcome transfers."""
    return services.bet_ons_evaluate_due()
