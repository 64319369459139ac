"""The database itself refuses UPDATE and DELETE on the event log, on SQLite and on PostgreSQL."""

from django.db import migrations

from makercloud.core.append_only import EVENT_LOG


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]
    operations = [EVENT_LOG.operation()]
