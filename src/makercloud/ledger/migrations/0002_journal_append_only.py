"""The database itself refuses UPDATE and DELETE on the journal — transfers, balance rows and checkpoints — on SQLite
and on PostgreSQL, as core's event log does. (TRUNCATE, a table owner's privilege that test runs use to
empty the database, is left alone, as for the event log.)"""

from django.db import migrations

TABLES = ["ledger_transfer", "ledger_balancesnapshot", "ledger_checkpoint"]

SQLITE = [
    sql
    for table in TABLES
    for sql in (
        f"""CREATE TRIGGER {table}_no_update BEFORE UPDATE ON {table}
            BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END""",
        f"""CREATE TRIGGER {table}_no_delete BEFORE DELETE ON {table}
            BEGIN SELECT RAISE(ABORT, 'the ledger journal is append-only'); END""",
    )
]
SQLITE_DROP = [
    sql
    for table in TABLES
    for sql in (f"DROP TRIGGER IF EXISTS {table}_no_update", f"DROP TRIGGER IF EXISTS {table}_no_delete")
]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the ledger journal is append-only'; END $$""",
    *[
        f"""CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table}
            FOR EACH ROW EXECUTE FUNCTION ledger_append_only()"""
        for table in TABLES
    ],
]
POSTGRES_DROP = [
    *[f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}" for table in TABLES],
    "DROP FUNCTION IF EXISTS ledger_append_only()",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
