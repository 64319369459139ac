"""A scratch PostgreSQL database for a benchmark: created, made the Django database, dropped afterwards."""

import contextlib
import os
from collections.abc import Iterator, Sequence

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


def bare_copy(*, table: str, columns: Sequence[str], order_by: str, batch: int, json_columns: Sequence[str] = ()
              ) -> float:
    """Seconds to write the rows of `table` again with nothing but COPY (psycopg's `write_row`, `batch` rows a COPY)
    into an unindexed table like it: the floor to compare a write path with. The rows are read first, not timed."""
    import json
    import time

    from django.db import connection

    names = ", ".join(columns)
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE bare_{table} (LIKE {table})")
        cursor.execute(f"SELECT {names} FROM {table} ORDER BY {order_by}")  # noqa: S608 - our own names
        rows = cursor.fetchall()
    encoded = [columns.index(name) for name in json_columns]
    if encoded:
        rows = [tuple(json.dumps(value) if i in encoded else value for i, value in enumerate(row)) for row in rows]
    started = time.perf_counter()
    for start in range(0, len(rows), batch):
        with connection.cursor() as cursor, cursor.cursor.copy(f"COPY bare_{table} ({names}) FROM STDIN") as copy:
            for row in rows[start:start + batch]:
                copy.write_row(row)
    return time.perf_counter() - started
