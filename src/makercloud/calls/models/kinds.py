"""calls models of the kinds (engineer B): an idea's supports, stages and discussion; co-creators' contribution
points; suppliers' ratings (a sourcing formula's criterion); a funding round's tranches.

The engine's Response carries each kind's proposal, solution, bid or commitment; these models hold what is not a
response."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from makercloud.accounts.models import Organisation
from makercloud.calls.models.engine import Call, Response

__all__ = [
    "ContributionPoint",
    "ContributionRole",
    "IdeaComment",
    "IdeaProgress",
    "IdeaState",
    "SupplierRating",
    "Support",
    "Tranche",
    "TrancheState",
]


class IdeaState(models.TextChoices):
    GATHERING = "gathering", _("Gathering supports")
    REACHED = "reached", _("Reached every stage")
    EXPIRED = "expired", _("Missed a stage's deadline")


class IdeaProgress(models.Model):
    """An idea's supports against its staged thresholds (LEGO Ideas: 100, 1,000, 5,000, 10,000). `stage` is how
    many stages are reached; the next one must be reached by `stage_deadline` or the idea ends."""

    call = models.OneToOneField(Call, verbose_name=_("call"), primary_key=True, on_delete=models.CASCADE,
                                related_name="idea_progress")
    supports = models.PositiveIntegerField(_("supports"), default=0)
    stage = models.PositiveSmallIntegerField(_("stages reached"), default=0)
    stage_deadline = models.DateTimeField(_("next stage due"), null=True, blank=True, db_index=True)
    state = models.CharField(_("state"), max_length=16, choices=IdeaState.choices, default=IdeaState.GATHERING)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("idea progress")
        verbose_name_plural = _("idea progress")

    def __str__(self) -> str:
        return f"{self.call_id}: {self.supports} supports, stage {self.stage}"


class Support(models.Model):
    """A verified person's support of an idea: one each (the database's unique constraint decides)."""

    call = models.ForeignKey(Call, verbose_name=_("idea"), on_delete=models.CASCADE, related_name="supports")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("supporter"), on_delete=models.PROTECT,
                               related_name="+")
    created_at = models.DateTimeField(_("supported"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("support")
        verbose_name_plural = _("supports")
        constraints = [models.UniqueConstraint(fields=["call", "person"], name="calls_one_support_per_person")]

    def __str__(self) -> str:
        return f"support of {self.person_id} for {self.call_id}"


class IdeaComment(models.Model):
    """The discussion of an idea between its author, its supporters and the makers who propose."""

    call = models.ForeignKey(Call, verbose_name=_("idea"), on_delete=models.CASCADE, related_name="idea_comments")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("author"), on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("written"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("idea comment")
        verbose_name_plural = _("idea comments")

    def __str__(self) -> str:
        return self.text[:60]


class ContributionRole(models.TextChoices):
    AUTHOR = "author", _("Author of the idea")
    SUPPORTER = "supporter", _("Supporter")
    PROPOSER = "proposer", _("Chosen proposer")


class ContributionPoint(models.Model):
    """Points a co-creator earned on an idea, by role. A venture's rule feeds them into its @co_creators set."""

    call = models.ForeignKey(Call, verbose_name=_("idea"), on_delete=models.CASCADE,
                             related_name="contribution_points")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("co-creator"), on_delete=models.PROTECT,
                               related_name="contribution_points")
    role = models.CharField(_("role"), max_length=16, choices=ContributionRole.choices)
    points = models.PositiveIntegerField(_("points"))
    created_at = models.DateTimeField(_("earned"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("contribution points")
        verbose_name_plural = _("contribution points")
        constraints = [models.UniqueConstraint(fields=["call", "person", "role"], name="calls_points_once")]

    def __str__(self) -> str:
        return f"{self.points} points ({self.role}) on {self.call_id}"


class SupplierRating(models.Model):
    """The owner of an awarded sourcing call rates its supplier (1–5). A supplier's rating is the mean of them."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="supplier_ratings")
    supplier = models.ForeignKey(Organisation, verbose_name=_("supplier"), on_delete=models.PROTECT,
                                 related_name="ratings")
    rated_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("rated by"), on_delete=models.PROTECT,
                                 related_name="+")
    stars = models.PositiveSmallIntegerField(_("stars"))
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("rated"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("supplier rating")
        verbose_name_plural = _("supplier ratings")
        constraints = [
            models.UniqueConstraint(fields=["call", "supplier"], name="calls_one_rating_per_call"),
            models.CheckConstraint(condition=Q(stars__gte=1) & Q(stars__lte=5), name="calls_rating_stars"),
        ]

    def __str__(self) -> str:
        return f"{self.stars}★ for {self.supplier_id}"


class TrancheState(models.TextChoices):
    PLANNED = "planned", _("Planned")
    REPORTED = "reported", _("Milestone reported met")
    RELEASED = "released", _("Released")


class Tranche(models.Model):
    """One tranche of a funding round's award, released (a ledger transfer) when its milestone is met."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="tranches")
    response = models.ForeignKey(Response, verbose_name=_("commitment"), on_delete=models.CASCADE,
                                 related_name="tranches")
    number = models.PositiveSmallIntegerField(_("number"))
    milestone = models.CharField(_("milestone"), max_length=200)
    amount = models.BigIntegerField(_("amount (minor units)"))
    currency = models.CharField(_("currency"), max_length=3)
    state = models.CharField(_("state"), max_length=16, choices=TrancheState.choices, default=TrancheState.PLANNED)
    evidence = models.TextField(_("evidence"), blank=True)
    reported_at = models.DateTimeField(_("reported"), null=True, blank=True)
    released_at = models.DateTimeField(_("released"), null=True, blank=True)
    released_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("released by"), null=True, blank=True,
                                    on_delete=models.PROTECT, related_name="+")
    transfer_id = models.UUIDField(_("ledger transfer"), null=True, blank=True)

    class Meta:
        ordering = ["call", "number"]
        verbose_name = _("tranche")
        verbose_name_plural = _("tranches")
        constraints = [models.UniqueConstraint(fields=["call", "number"], name="calls_tranche_number")]

    def __str__(self) -> str:
        return f"tranche {self.number} of {self.call_id}"
