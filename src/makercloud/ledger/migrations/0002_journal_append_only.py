"""The database itself refuses UPDATE and DELETE on the journal — transfers, balance rows and checkpoints — on SQLite
and on PostgreSQL, as core's event log does."""

from django.db import migrations

from makercloud.ledger.guards import JOURNAL


class Migration(migrations.Migration):
    dependencies = [("ledger", "0001_initial")]
    operations = [JOURNAL.operation()]
