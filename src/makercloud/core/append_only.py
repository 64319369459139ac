"""Tables the database itself keeps append-only: triggers refuse UPDATE and DELETE, on SQLite and on PostgreSQL.

One guard names its tables, the message a refused statement raises and, on PostgreSQL, its trigger function. A
guard is part of the schema: migrations install it (`operation`), put it back after SQLite rebuilt a guarded table
(`reinstated`: a rebuild drops the table's triggers), and tests that must empty committed rows lift it (`lifted`).
TRUNCATE, a table owner's privilege that test runs use to empty a PostgreSQL database, is left alone.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.db import connection, migrations


@dataclass(frozen=True)
class AppendOnly:
    function: str  # PostgreSQL's trigger function
    message: str
    tables: tuple[str, ...]
    trigger: str = "{table}_append_only"  # PostgreSQL's trigger per table

    def create_sql(self, vendor: str) -> list[str]:
        if vendor == "sqlite":
            return [
                f"""CREATE TRIGGER {table}_no_{verb} BEFORE {verb.upper()} ON {table}
                    BEGIN SELECT RAISE(ABORT, '{self.message}'); END"""
                for table in self.tables
                for verb in ("update", "delete")
            ]
        if vendor == "postgresql":
            return [
                f"""CREATE OR REPLACE FUNCTION {self.function}() RETURNS trigger LANGUAGE plpgsql AS $$
                    BEGIN RAISE EXCEPTION '{self.message}'; END $$""",
                *[
                    f"""CREATE TRIGGER {self.trigger.format(table=table)} BEFORE UPDATE OR DELETE ON {table}
                        FOR EACH ROW EXECUTE FUNCTION {self.function}()"""
                    for table in self.tables
                ],
            ]
        return []

    def drop_sql(self, vendor: str) -> list[str]:
        if vendor == "sqlite":
            return [
                f"DROP TRIGGER IF EXISTS {table}_no_{verb}" for table in self.tables for verb in ("update", "delete")
            ]
        if vendor == "postgresql":
            return [
                *[f"DROP TRIGGER IF EXISTS {self.trigger.format(table=table)} ON {table}" for table in self.tables],
                f"DROP FUNCTION IF EXISTS {self.function}()",
            ]
        return []

    def operation(self) -> migrations.RunPython:
        """Install the guard (and, backwards, remove it)."""
        return migrations.RunPython(self._run(self.create_sql), self._run(self.drop_sql))

    def reinstated(self) -> migrations.RunPython:
        """Put the guard back after an operation that made SQLite rebuild a guarded table."""

        def run(apps: Any, schema_editor: Any) -> None:
            if schema_editor.connection.vendor == "sqlite":
                for sql in [*self.drop_sql("sqlite"), *self.create_sql("sqlite")]:
                    schema_editor.execute(sql)

        return migrations.RunPython(run, migrations.RunPython.noop)

    @staticmethod
    def _run(statements: Any) -> Any:
        def run(apps: Any, schema_editor: Any) -> None:
            for sql in statements(schema_editor.connection.vendor):
                schema_editor.execute(sql)

        return run


@contextmanager
def lifted(*guards: AppendOnly) -> Iterator[None]:
    """Within the block the guards' tables accept UPDATE and DELETE (as only the database's owner could arrange)."""
    with connection.cursor() as cursor:
        for guard in guards:
            for sql in guard.drop_sql(connection.vendor):
                cursor.execute(sql)
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            for guard in guards:
                for sql in guard.create_sql(connection.vendor):
                    cursor.execute(sql)


EVENT_LOG = AppendOnly(function="core_event_append_only", message="the event log is append-only",
                       tables=("core_event",))
