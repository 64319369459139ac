# The win-win statement's plans (engineer S). Written for this model alone: the other ledger models have their own.

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('ledger', '0002_journal_append_only'),
        ('ventures', '0001_initial'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='StatementPlan',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('granularity', models.CharField(choices=[('month', 'Month'), ('quarter', 'Quarter')], max_length=8, verbose_name='period length')),
                ('period_start', models.DateField(help_text='The first day of the month or quarter (UTC).', verbose_name='period starts')),
                ('currency', models.CharField(default='CNY', max_length=3, verbose_name='currency')),
                ('revenue', models.BigIntegerField(blank=True, null=True, verbose_name='planned revenue (minor units)')),
                ('units', models.PositiveIntegerField(blank=True, null=True, verbose_name='planned units sold')),
                ('active_users', models.PositiveIntegerField(blank=True, null=True, verbose_name='planned active users')),
                ('value_added', models.BigIntegerField(blank=True, null=True, verbose_name='planned value added (minor units)')),
                ('note', models.TextField(blank=True, verbose_name='note')),
                ('source', models.CharField(choices=[('venture', 'Set by the venture'), ('contract', "From a contract's targets")], default='venture', max_length=16, verbose_name='source')),
                ('created_at', models.DateTimeField(auto_now_add=True, verbose_name='created')),
                ('updated_at', models.DateTimeField(auto_now=True, verbose_name='changed')),
                ('created_by', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='set by')),
                ('venture', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='statement_plans', to='ventures.venture', verbose_name='venture')),
            ],
            options={
                'verbose_name': 'statement plan',
                'verbose_name_plural': 'statement plans',
                'ordering': ['venture_id', 'granularity', 'period_start'],
                'constraints': [models.UniqueConstraint(fields=('venture', 'granularity', 'period_start'), name='one_plan_per_period')],
            },
        ),
    ]
