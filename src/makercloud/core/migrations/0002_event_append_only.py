"""The database itself refuses UPDATE and DELETE on the event log, on SQLite and on PostgreSQL."""

from django.db import migrations

SQLITE = [
    """CREATE TRIGGER core_event_no_update BEFORE UPDATE ON core_event
       BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
    """CREATE TRIGGER core_event_no_delete BEFORE DELETE ON core_event
       BEGIN SELECT RAISE(ABORT, 'the event log is append-only'); END""",
]
SQLITE_DROP = ["DROP TRIGGER IF EXISTS core_event_no_update", "DROP TRIGGER IF EXISTS core_event_no_delete"]
POSTGRES = [
    """CREATE OR REPLACE FUNCTION core_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'the event log is append-only'; END $$""",
    """CREATE TRIGGER core_event_append_only BEFORE UPDATE OR DELETE ON core_event
       FOR EACH ROW EXECUTE FUNCTION core_event_append_only()""",
]
POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS core_event_append_only ON core_event",
    "DROP FUNCTION IF EXISTS core_event_append_only()",
]


def _run(statements: dict[str, list[str]]):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [
        migrations.RunPython(
            _run({"sqlite": SQLITE, "postgresql": POSTGRES}),
            _run({"sqlite": SQLITE_DROP, "postgresql": POSTGRES_DROP}),
        )
    ]
