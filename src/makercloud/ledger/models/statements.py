"""ledger models: statements — the win-win value-added statement's plans.

The statement itself is never stored: it is computed from the ledger (settlements and their transfers) and the
platform's device data whenever it is asked for. What is stored is the plan it is compared with.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from makercloud.ventures.models import Venture

__all__: list[str] = ["Granularity", "PlanSource", "StatementPlan"]


class Granularity(models.TextChoices):
    MONTH = "month", _("Month")
    QUARTER = "quarter", _("Quarter")


class PlanSource(models.TextChoices):
    VENTURE = "venture", _("Set by the venture")
    CONTRACT = "contract", _("From a contract's targets")


class StatementPlan(models.Model):
    """A venture's planned figures for one month or quarter, set by its owners and administrators.

    Each figure is optional: a plan may name only a revenue target. Money is in integer minor units of `currency`.
    """

    venture = models.ForeignKey(
        Venture, verbose_name=_("venture"), on_delete=models.CASCADE, related_name="statement_plans"
    )
    granularity = models.CharField(_("period length"), max_length=8, choices=Granularity.choices)
    period_start = models.DateField(_("period starts"), help_text=_("The first day of the month or quarter (UTC)."))
    currency = models.CharField(_("currency"), max_length=3, default="CNY")
    revenue = models.BigIntegerField(_("planned revenue (minor units)"), null=True, blank=True)
    units = models.PositiveIntegerField(_("planned units sold"), null=True, blank=True)
    active_users = models.PositiveIntegerField(_("planned active users"), null=True, blank=True)
    value_added = models.BigIntegerField(_("planned value added (minor units)"), null=True, blank=True)
    note = models.TextField(_("note"), blank=True)
    source = models.CharField(_("source"), max_length=16, choices=PlanSource.choices, default=PlanSource.VENTURE)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("set by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("changed"), auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["venture", "granularity", "period_start"], name="one_plan_per_period"),
        ]
        ordering = ["venture_id", "granularity", "period_start"]
        verbose_name = _("statement plan")
        verbose_name_plural = _("statement plans")

    def __str__(self) -> str:
        return f"{self.venture_id} {self.granularity} {self.period_start:%Y-%m}"
