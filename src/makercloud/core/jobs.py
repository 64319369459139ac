"""The thin wrapper over huey: every background job in makercloud is declared through here.

Jobs only nudge; the database is the source of truth (DESIGN §6), so a job that runs twice or late does no harm.
"""

from huey.contrib.djhuey import HUEY, db_periodic_task, db_task

job = db_task
periodic_job = db_periodic_task
queue = HUEY


@job(expires=10)
def ping() -> str:
    """Answered by a running worker; /readyz waits for it."""
    return "pong"
