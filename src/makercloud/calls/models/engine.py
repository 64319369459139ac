"""calls models of the engine: Call, Response, Question, Answer, Complaint, SupplierQualification.

A call's lifecycle is a django-fsm-2 field; its transitions have guards and no side effects (the services in
calls/services/engine.py do the side effects: events, notifications, the kinds' hooks, contracts).

    draft → open → closed → evaluated → standstill → awarded → contracted
    open/closed/evaluated/standstill → unsuccessful     draft/open/closed/evaluated/standstill → cancelled
    standstill → closed (re-evaluation) or → evaluated (the next ranked is selected) after an upheld complaint
"""

from datetime import UTC
from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField, transition

from makercloud.accounts.models import Organisation

__all__ = [
    "Answer",
    "Call",
    "CallKind",
    "CallState",
    "Complaint",
    "ComplaintRemedy",
    "ComplaintState",
    "QualificationState",
    "Question",
    "Response",
    "ResponseState",
    "SupplierQualification",
]


class CallKind(models.TextChoices):
    IDEA = "idea", _("Idea")
    CHALLENGE = "challenge", _("Challenge")
    SOURCING = "sourcing", _("Sourcing")
    ROLE = "role", _("Role")
    FUNDING = "funding", _("Funding")


class CallState(models.TextChoices):
    DRAFT = "draft", _("Draft")
    OPEN = "open", _("Open")
    CLOSED = "closed", _("Closed")
    EVALUATED = "evaluated", _("Evaluated")
    STANDSTILL = "standstill", _("Standstill")
    AWARDED = "awarded", _("Awarded")
    CONTRACTED = "contracted", _("Contracted")
    UNSUCCESSFUL = "unsuccessful", _("Unsuccessful")
    CANCELLED = "cancelled", _("Cancelled")


# States in which a call's responses have been opened: before them nothing about a sealed call's responses shows.
OPENED_STATES = frozenset({
    CallState.CLOSED, CallState.EVALUATED, CallState.STANDSTILL, CallState.AWARDED, CallState.CONTRACTED,
    CallState.UNSUCCESSFUL,
})


def has_timeline(call: Any) -> bool:
    """Guard: a deadline for responses, and questions close no later than responses."""
    return call.responses_until is not None and (
        call.questions_until is None or call.questions_until <= call.responses_until
    )


def has_winner(call: Any) -> bool:
    """Guard: a response is selected."""
    return call.winner_id is not None


class Call(models.Model):
    """A demand published under fixed rules: who may respond, with what, how the winner is chosen, and when."""

    kind = models.CharField(_("kind"), max_length=16, choices=CallKind.choices)
    owner = models.ForeignKey(Organisation, verbose_name=_("owner"), on_delete=models.PROTECT, related_name="calls")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("created by"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    attachments = models.JSONField(_("attachments"), default=list, blank=True)
    eligibility = models.JSONField(_("eligibility"), default=dict, blank=True)
    response_form = models.JSONField(_("response form"), default=dict, blank=True)
    selection = models.JSONField(_("selection"), default=dict, blank=True)
    sealed = models.BooleanField(_("sealed responses"), default=False)
    rules_hash = models.CharField(_("rules hash (sha256)"), max_length=64, blank=True)
    terms_version = models.PositiveIntegerField(_("terms version"), default=1)
    questions_until = models.DateTimeField(_("questions until"), null=True, blank=True)
    responses_until = models.DateTimeField(_("responses until"), null=True, blank=True, db_index=True)
    standstill_days = models.PositiveSmallIntegerField(_("standstill days"), default=5)
    standstill_until = models.DateTimeField(_("standstill until"), null=True, blank=True, db_index=True)
    state = FSMField(_("state"), default=CallState.DRAFT, choices=CallState.choices, protected=False, db_index=True)
    frozen_at = models.DateTimeField(_("rules frozen at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    evaluated_at = models.DateTimeField(_("evaluated"), null=True, blank=True)
    awarded_at = models.DateTimeField(_("awarded"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("deadline reminder sent"), null=True, blank=True)
    winner = models.ForeignKey(
        "Response", verbose_name=_("selected response"), null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+",
    )
    award_reason = models.TextField(_("reason of the selection"), blank=True)
    end_reason = models.TextField(_("reason of cancellation or failure"), blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("open call")
        verbose_name_plural = _("open calls")
        indexes = [models.Index(fields=["state", "responses_until"], name="calls_call_due")]

    def __str__(self) -> str:
        return self.title

    @property
    def responses_opened(self) -> bool:
        return self.state in OPENED_STATES

    def rules(self) -> dict[str, Any]:
        """What rules_hash covers: eligibility, response form, selection and timeline (RFC 3339 UTC, seconds)."""

        def moment(value: Any) -> str | None:
            return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if value else None

        return {
            "kind": self.kind,
            "eligibility": self.eligibility,
            "response_form": self.response_form,
            "selection": self.selection,
            "sealed": self.sealed,
            "timeline": {
                "questions_until": moment(self.questions_until),
                "responses_until": moment(self.responses_until),
                "standstill_days": self.standstill_days,
            },
            "terms_version": self.terms_version,
        }

    # Transitions: guards only; the services do what follows from them.

    @transition(field=state, source=CallState.DRAFT, target=CallState.OPEN, conditions=[has_timeline])
    def publish(self) -> None:
        pass

    @transition(field=state, source=CallState.OPEN, target=CallState.CLOSED, conditions=[has_timeline])
    def close(self) -> None:
        pass

    @transition(field=state, source=CallState.CLOSED, target=CallState.EVALUATED)
    def evaluate(self) -> None:
        pass

    @transition(field=state, source=CallState.EVALUATED, target=CallState.STANDSTILL, conditions=[has_winner])
    def start_standstill(self) -> None:
        pass

    @transition(field=state, source=CallState.STANDSTILL, target=CallState.CLOSED)
    def reopen_evaluation(self) -> None:
        pass

    @transition(field=state, source=CallState.STANDSTILL, target=CallState.EVALUATED)
    def reopen_selection(self) -> None:
        pass

    @transition(field=state, source=CallState.STANDSTILL, target=CallState.AWARDED, conditions=[has_winner])
    def award(self) -> None:
        pass

    @transition(field=state, source=CallState.AWARDED, target=CallState.CONTRACTED, conditions=[has_winner])
    def contract(self) -> None:
        pass

    @transition(field=state, source=[CallState.OPEN, CallState.CLOSED, CallState.EVALUATED, CallState.STANDSTILL],
                target=CallState.UNSUCCESSFUL)
    def fail(self) -> None:
        pass

    @transition(field=state, source=[CallState.DRAFT, CallState.OPEN, CallState.CLOSED, CallState.EVALUATED,
                                     CallState.STANDSTILL], target=CallState.CANCELLED)
    def cancel(self) -> None:
        pass


class ResponseState(models.TextChoices):
    SUBMITTED = "submitted", _("Submitted")
    INVALIDATED = "invalidated", _("Needs confirming under new terms")
    CONFIRMED = "confirmed", _("Confirmed")
    WITHDRAWN = "withdrawn", _("Withdrawn")
    DISQUALIFIED = "disqualified", _("Disqualified")


VALID_RESPONSE_STATES = (ResponseState.SUBMITTED, ResponseState.CONFIRMED)


class Response(models.Model):
    """A proposal, bid, support or commitment to a call. A sealed call's content is kept in `sealed_content` (bytes)
    until the deadline; `content` is empty until then."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="responses")
    respondent = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("respondent"), on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        Organisation, verbose_name=_("responding organisation"), null=True, blank=True, on_delete=models.PROTECT,
        related_name="call_responses",
    )
    content = models.JSONField(_("content"), default=dict, blank=True)
    sealed_content = models.BinaryField(_("sealed content"), null=True, blank=True)
    receipt = models.CharField(_("receipt (sha256)"), max_length=64, blank=True)
    terms_version = models.PositiveIntegerField(_("terms version confirmed"))
    state = FSMField(_("state"), default=ResponseState.SUBMITTED, choices=ResponseState.choices, protected=False)
    score = models.DecimalField(_("score"), max_digits=20, decimal_places=6, null=True, blank=True)
    rank = models.PositiveIntegerField(_("rank"), null=True, blank=True)
    disqualified_reason = models.TextField(_("why it was disqualified"), blank=True)
    created_at = models.DateTimeField(_("submitted"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("response")
        verbose_name_plural = _("responses")
        constraints = [
            models.UniqueConstraint(
                fields=["call", "respondent"], condition=~Q(state="withdrawn") & Q(organisation__isnull=True),
                name="calls_one_response_per_person",
            ),
            models.UniqueConstraint(
                fields=["call", "organisation"], condition=~Q(state="withdrawn") & Q(organisation__isnull=False),
                name="calls_one_response_per_organisation",
            ),
        ]

    def __str__(self) -> str:
        return f"response {self.pk} to call {self.call_id}"

    @transition(field=state, source=[ResponseState.SUBMITTED, ResponseState.CONFIRMED],
                target=ResponseState.INVALIDATED)
    def invalidate(self) -> None:
        pass

    @transition(field=state, source=ResponseState.INVALIDATED, target=ResponseState.CONFIRMED)
    def confirm(self) -> None:
        pass

    @transition(field=state, source=[ResponseState.SUBMITTED, ResponseState.CONFIRMED, ResponseState.INVALIDATED],
                target=ResponseState.WITHDRAWN)
    def withdraw(self) -> None:
        pass

    @transition(field=state, source=[ResponseState.SUBMITTED, ResponseState.CONFIRMED, ResponseState.INVALIDATED],
                target=ResponseState.DISQUALIFIED)
    def disqualify(self) -> None:
        pass


class Question(models.Model):
    """A public question about a call, asked while it is open; its answer is public too."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="questions")
    asker = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("asked by"), on_delete=models.PROTECT,
                              related_name="+")
    text = models.TextField(_("question"))
    created_at = models.DateTimeField(_("asked"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("question")
        verbose_name_plural = _("questions")

    def __str__(self) -> str:
        return self.text[:60]


class Answer(models.Model):
    question = models.OneToOneField(Question, verbose_name=_("question"), on_delete=models.CASCADE,
                                    related_name="answer")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("answered by"), on_delete=models.PROTECT,
                               related_name="+")
    text = models.TextField(_("answer"))
    created_at = models.DateTimeField(_("answered"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("answer")
        verbose_name_plural = _("answers")

    def __str__(self) -> str:
        return self.text[:60]


class ComplaintState(models.TextChoices):
    FILED = "filed", _("Filed")
    UPHELD = "upheld", _("Upheld")
    DISMISSED = "dismissed", _("Dismissed")


class ComplaintRemedy(models.TextChoices):
    NONE = "none", _("No change to the selection")
    DISQUALIFY = "disqualify", _("Disqualify the selected response; the next ranked is selected")
    REEVALUATE = "reevaluate", _("Evaluate the responses again")


class Complaint(models.Model):
    """A participant's complaint during the standstill; an operator decides it publicly with reasons."""

    call = models.ForeignKey(Call, verbose_name=_("call"), on_delete=models.CASCADE, related_name="complaints")
    complainant = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("complainant"),
                                    on_delete=models.PROTECT, related_name="+")
    reasons = models.TextField(_("reasons"))
    evidence = models.JSONField(_("evidence"), default=list, blank=True)
    state = FSMField(_("state"), default=ComplaintState.FILED, choices=ComplaintState.choices, protected=False)
    remedy = models.CharField(_("remedy"), max_length=16, choices=ComplaintRemedy.choices, blank=True)
    decision_reasons = models.TextField(_("reasons of the decision"), blank=True)
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("filed"), auto_now_add=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("complaint")
        verbose_name_plural = _("complaints")

    def __str__(self) -> str:
        return f"complaint {self.pk} on call {self.call_id}"

    @transition(field=state, source=ComplaintState.FILED, target=ComplaintState.UPHELD)
    def uphold(self) -> None:
        pass

    @transition(field=state, source=ComplaintState.FILED, target=ComplaintState.DISMISSED)
    def dismiss(self) -> None:
        pass


class QualificationState(models.TextChoices):
    APPLIED = "applied", _("Applied")
    QUALIFIED = "qualified", _("Qualified")
    REJECTED = "rejected", _("Rejected")
    LAPSED = "lapsed", _("Lapsed")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SupplierQualification(models.Model):
    """A supplier organisation's qualification for a category of modules (sourcing calls' eligibility)."""

    organisation = models.ForeignKey(Organisation, verbose_name=_("supplier"), on_delete=models.PROTECT,
                                     related_name="qualifications")
    category = models.SlugField(_("category"), max_length=64)
    documents = models.JSONField(_("documents"), default=list, blank=True)
    state = FSMField(_("state"), default=QualificationState.APPLIED, choices=QualificationState.choices,
                     protected=False)
    valid_until = models.DateTimeField(_("valid until"), null=True, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    applied_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("applied by"), on_delete=models.PROTECT,
                                   related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name=_("decided by"), null=True, blank=True,
                                   on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    created_at = models.DateTimeField(_("applied"), auto_now_add=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = _("supplier qualification")
        verbose_name_plural = _("supplier qualifications")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "category"], condition=Q(state__in=["applied", "qualified"]),
                name="calls_one_live_qualification",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} – {self.category} ({self.state})"

    @transition(field=state, source=QualificationState.APPLIED, target=QualificationState.QUALIFIED)
    def qualify(self) -> None:
        pass

    @transition(field=state, source=QualificationState.APPLIED, target=QualificationState.REJECTED)
    def reject(self) -> None:
        pass

    @transition(field=state, source=QualificationState.QUALIFIED, target=QualificationState.LAPSED)
    def lapse(self) -> None:
        pass

    @transition(field=state, source=[QualificationState.APPLIED, QualificationState.QUALIFIED],
                target=QualificationState.WITHDRAWN)
    def withdraw(self) -> None:
        pass
