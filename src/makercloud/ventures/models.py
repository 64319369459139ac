from django.db import models
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation


class Origin(models.TextChoices):
    EMPLOYEE_SPIN_OUT = "employee", _("Employee spin-out")
    OUTSIDE_ENTREPRENEUR = "outside", _("Outside entrepreneur")


class Venture(models.Model):
    """A micro-enterprise of a handful of makers. Its people and roles are its organisation's memberships."""

    organisation = models.OneToOneField(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="venture"
    )
    mission = models.TextField(_("mission"))
    origin = models.CharField(_("origin"), max_length=16, choices=Origin.choices)
    founded_at = models.DateTimeField(_("founded"), auto_now_add=True)

    class Meta:
        ordering = ["-founded_at", "-id"]
        verbose_name = _("venture")
        verbose_name_plural = _("ventures")

    def __str__(self) -> str:
        return self.organisation.name

    @property
    def name(self) -> str:
        return self.organisation.name

    @property
    def slug(self) -> str:
        return self.organisation.slug
