"""Fewer indexes on the journal (faster appends); the pending transfer is indexed by its unique constraint.

Altering a field makes SQLite rebuild the table, which drops its triggers: the append-only guard is put back.
Any later migration that alters ledger_transfer must do the same.
"""

import django.db.models.deletion
from django.db import migrations, models

from makercloud.ledger.guards import JOURNAL


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0004_rules'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='transfer',
            name='ledger_transfer_created',
        ),
        migrations.RemoveIndex(
            model_name='transfer',
            name='ledger_transfer_code',
        ),
        migrations.AlterField(
            model_name='transfer',
            name='pending',
            field=models.ForeignKey(blank=True, db_index=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='ledger.transfer', verbose_name='pending transfer'),
        ),
        JOURNAL.reinstated(),
    ]
