"""A scratch PostgreSQL database for a benchmark: created, made the Django database, dropped afterwards."""

import contextlib
import os
from collections.abc import Iterator

SECRET_KEY = "bench-secret-key-not-for-production-0123456789abcdef"  # noqa: S105 - a throwaway bench


@contextlib.contextmanager
def scratch_database(server: str, *, bench: str, keep: bool = False, existing: str | None = None) -> Iterator[str]:
    """Create `makercloud_bench_<bench>_<pid>` on `server` (or use `existing`), point DATABASE_URL and the embedded
    default's settings at it, and drop it on the way out unless it is kept (`keep`, or an `existing` one)."""
    import psycopg

    name = existing or f"makercloud_bench_{bench}_{os.getpid()}"
    if existing is None:
        with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
            admin.execute(f'CREATE DATABASE "{name}"')
    os.environ.update(DATABASE_URL=f"{server}/{name}", MAKERCLOUD_SECRET_KEY=SECRET_KEY,
                      DJANGO_SETTINGS_MODULE="makercloud.config.settings.default")
    try:
        yield name
    finally:
        from django.db import connections

        connections.close_all()
        if keep or existing is not None:
            print(f"kept the database {name}")
        else:
            with psycopg.connect(f"{server}/postgres", autocommit=True) as admin:
                admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
