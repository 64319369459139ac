from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Event(models.Model):
    """One entry of the append-only domain-event log that every service writes.

    The database refuses UPDATE and DELETE on this table (see the migration), so the log is evidence, not a record
    that can be tidied afterwards.
    """

    created_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("actor"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    kind = models.CharField(_("kind"), max_length=80, db_index=True)
    subject_type = models.CharField(_("subject type"), max_length=40)
    subject_id = models.CharField(_("subject id"), max_length=64)
    # The organisation whose members may read a non-public event (kept as an id: core depends on no other app).
    organisation_id = models.BigIntegerField(_("organisation"), null=True, blank=True, db_index=True)
    public = models.BooleanField(_("public"), default=False)
    data = models.JSONField(_("data"), default=dict, blank=True)

    class Meta:
        ordering = ["-id"]
        indexes = [models.Index(fields=["subject_type", "subject_id", "-id"], name="event_subject")]
        verbose_name = _("event")
        verbose_name_plural = _("events")

    def __str__(self) -> str:
        return f"{self.kind} {self.subject_type}:{self.subject_id}"
