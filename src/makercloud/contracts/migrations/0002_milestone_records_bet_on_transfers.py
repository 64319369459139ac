"""Milestone actuals become records confirmed by the other parties (never overwritten); bet-on clauses carry the
transfers their outcomes make. Actuals recorded before are kept as unconfirmed records of the contract."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def keep_actuals(apps, schema_editor):  # type: ignore[no-untyped-def]
    """Each contract's latest actual per milestone key, as a record awaiting the other parties' confirmation."""
    Milestone = apps.get_model("contracts", "Milestone")
    MilestoneRecord = apps.get_model("contracts", "MilestoneRecord")
    seen = set()
    for milestone in Milestone.objects.filter(done_on__isnull=False).select_related("version").order_by(
            "-version__number"):
        mark = (milestone.version.contract_id, milestone.key)
        if mark in seen:
            continue
        seen.add(mark)
        MilestoneRecord.objects.create(contract_id=mark[0], key=milestone.key, done_on=milestone.done_on,
                                       evidence=milestone.evidence or "-", recorded_by_id=milestone.recorded_by_id)


class Migration(migrations.Migration):

    dependencies = [
        ('contracts', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='beton',
            name='if_met_transfer',
            field=models.JSONField(blank=True, help_text='from, to (party keys), amount (minor units), currency, code.', null=True, verbose_name='transfer if met'),
        ),
        migrations.AddField(
            model_name='beton',
            name='otherwise_transfer',
            field=models.JSONField(blank=True, null=True, verbose_name='transfer otherwise'),
        ),
        migrations.AddField(
            model_name='beton',
            name='transfer_error',
            field=models.TextField(blank=True, help_text="Why the ledger refused the outcome's transfer (retried hourly).", verbose_name='transfer refused'),
        ),
        migrations.AddField(
            model_name='beton',
            name='transfer_id',
            field=models.UUIDField(blank=True, help_text='The transfer the outcome made, once the ledger accepted it.', null=True, verbose_name='ledger transfer'),
        ),
        migrations.CreateModel(
            name='MilestoneRecord',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('key', models.SlugField(max_length=32, verbose_name='milestone')),
                ('done_on', models.DateField(verbose_name='met on')),
                ('evidence', models.TextField(verbose_name='evidence')),
                ('recorded_at', models.DateTimeField(auto_now_add=True, verbose_name='recorded')),
                ('confirmed_at', models.DateTimeField(blank=True, null=True, verbose_name='confirmed by every other party')),
                ('contract', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='milestone_records', to='contracts.contract', verbose_name='contract')),
                ('party', models.ForeignKey(blank=True, help_text='Empty for records kept from before confirmation was required.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contracts.party', verbose_name='recorded for')),
                ('recorded_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='recorded by')),
            ],
            options={
                'verbose_name': 'milestone record',
                'verbose_name_plural': 'milestone records',
                'ordering': ['contract', 'key', 'id'],
            },
        ),
        migrations.CreateModel(
            name='MilestoneConfirmation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('confirmed_at', models.DateTimeField(auto_now_add=True, verbose_name='confirmed')),
                ('party', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to='contracts.party', verbose_name='party')),
                ('person', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='confirmed by')),
                ('record', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='confirmations', to='contracts.milestonerecord', verbose_name='record')),
            ],
            options={
                'verbose_name': 'milestone confirmation',
                'verbose_name_plural': 'milestone confirmations',
                'ordering': ['record', 'id'],
                'constraints': [models.UniqueConstraint(fields=('record', 'party'), name='contracts_one_confirmation')],
            },
        ),
        migrations.RunPython(keep_actuals, migrations.RunPython.noop),
        migrations.RemoveField(
            model_name='milestone',
            name='done_on',
        ),
        migrations.RemoveField(
            model_name='milestone',
            name='evidence',
        ),
        migrations.RemoveField(
            model_name='milestone',
            name='recorded_by',
        ),
    ]
