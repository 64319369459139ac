"""Transfers refer to their accounts and venture without database foreign-key constraints (PostgreSQL's per-row
checks, each a FOR KEY SHARE lock on the same few account rows, tripled the cost of an append): transfers_create
checks them under the accounts' row locks, and from here on the database refuses to change or delete an account.

SQLite rebuilds the transfer table for this, which drops its triggers: the append-only guard is put back.
"""

import importlib

import django.db.models.deletion
from django.db import migrations, models

guard = importlib.import_module("makercloud.ledger.migrations.0002_journal_append_only")

ACCOUNT_SQLITE = [
    """CREATE TRIGGER ledger_account_no_update BEFORE UPDATE ON ledger_account
       BEGIN SELECT RAISE(ABORT, 'ledger accounts are never changed or deleted'); END""",
    """CREATE TRIGGER ledger_account_no_delete BEFORE DELETE ON ledger_account
       BEGIN SELECT RAISE(ABORT, 'ledger accounts are never changed or deleted'); END""",
]
ACCOUNT_SQLITE_DROP = [
    "DROP TRIGGER IF EXISTS ledger_account_no_update",
    "DROP TRIGGER IF EXISTS ledger_account_no_delete",
]
ACCOUNT_POSTGRES = [
    """CREATE OR REPLACE FUNCTION ledger_account_fixed() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'ledger accounts are never changed or deleted'; END $$""",
    """CREATE TRIGGER ledger_account_fixed BEFORE UPDATE OR DELETE ON ledger_account
       FOR EACH ROW EXECUTE FUNCTION ledger_account_fixed()""",
]
ACCOUNT_POSTGRES_DROP = [
    "DROP TRIGGER IF EXISTS ledger_account_fixed ON ledger_account",
    "DROP FUNCTION IF EXISTS ledger_account_fixed()",
]


def forwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "sqlite":  # the table rebuild dropped the journal's triggers
        statements = [*guard.SQLITE_DROP, *guard.SQLITE, *ACCOUNT_SQLITE_DROP, *ACCOUNT_SQLITE]
    elif vendor == "postgresql":
        statements = ACCOUNT_POSTGRES
    else:
        statements = []
    for sql in statements:
        schema_editor.execute(sql)


def backwards(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    for sql in {"sqlite": ACCOUNT_SQLITE_DROP, "postgresql": ACCOUNT_POSTGRES_DROP}.get(vendor, []):
        schema_editor.execute(sql)


class Migration(migrations.Migration):

    dependencies = [
        ('accounts', '0001_initial'),
        ('ledger', '0005_journal_fewer_indexes'),
    ]

    operations = [
        migrations.AlterField(
            model_name='transfer',
            name='credit_account',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='credits', to='ledger.account', verbose_name='credit account'),
        ),
        migrations.AlterField(
            model_name='transfer',
            name='debit_account',
            field=models.ForeignKey(db_constraint=False, on_delete=django.db.models.deletion.PROTECT, related_name='debits', to='ledger.account', verbose_name='debit account'),
        ),
        migrations.AlterField(
            model_name='transfer',
            name='venture',
            field=models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='ledger_transfers', to='accounts.organisation', verbose_name='venture'),
        ),
        migrations.RunPython(forwards, backwards),
    ]
