"""Transfers refer to their accounts and venture without database foreign-key constraints (PostgreSQL's per-row
checks, each a FOR KEY SHARE lock on the same few account rows, tripled the cost of an append): transfers_create
checks them under the accounts' row locks, and from here on the database refuses to change or delete an account.

SQLite rebuilds the transfer table for this, which drops its triggers: the append-only guard is put back.
"""

import django.db.models.deletion
from django.db import migrations, models

from makercloud.ledger.guards import ACCOUNTS, JOURNAL


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
        JOURNAL.reinstated(),
        ACCOUNTS.operation(),
    ]
