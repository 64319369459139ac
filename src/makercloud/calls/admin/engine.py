"""calls in the operators' admin — read only: every change goes through the services (and their events).

Sealed calls: the admin shows no response of a sealed call until it has closed at its deadline — not in the list,
not by id, not in counts — and never the sealed bytes.
"""

from typing import Any

from django.contrib import admin
from django.db.models import Q, QuerySet
from django.http import HttpRequest

from makercloud.calls.models.engine import (
    OPENED_STATES,
    Answer,
    Call,
    Complaint,
    Question,
    Response,
    SupplierQualification,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Call)
class CallAdmin(ReadOnly):
    list_display = ["title", "kind", "owner", "state", "sealed", "responses_until", "terms_version"]
    list_filter = ["kind", "state", "sealed"]
    search_fields = ["title", "owner__name"]
    list_select_related = ["owner"]
    date_hierarchy = "created_at"
    exclude = ["frozen_at", "winner"]  # the first response's time would tell a sealed call has bids


def visible_responses(queryset: QuerySet[Response]) -> QuerySet[Response]:
    """Responses of sealed calls appear only once the call has closed."""
    return queryset.filter(Q(call__sealed=False) | Q(call__state__in=list(OPENED_STATES)))


@admin.register(Response)
class ResponseAdmin(ReadOnly):
    list_display = ["id", "call", "respondent", "organisation", "state", "rank", "score", "created_at"]
    list_filter = ["state"]
    search_fields = ["call__title", "organisation__name"]
    list_select_related = ["call", "respondent", "organisation"]
    exclude = ["sealed_content"]
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[Response]:
        return visible_responses(super().get_queryset(request))


class AnswerInline(admin.StackedInline):
    model = Answer
    extra = 0
    can_delete = False
    readonly_fields = ["author", "text", "created_at"]

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Question)
class QuestionAdmin(ReadOnly):
    list_display = ["text", "call", "asker", "created_at"]
    search_fields = ["text", "call__title"]
    list_select_related = ["call", "asker"]
    inlines = [AnswerInline]


@admin.register(Complaint)
class ComplaintAdmin(ReadOnly):
    list_display = ["id", "call", "complainant", "state", "remedy", "created_at", "decided_at"]
    list_filter = ["state", "remedy"]
    search_fields = ["call__title", "reasons"]
    list_select_related = ["call", "complainant"]
    readonly_fields = ["decided_by"]


@admin.register(SupplierQualification)
class SupplierQualificationAdmin(ReadOnly):
    list_display = ["organisation", "category", "state", "valid_until", "decided_at"]
    list_filter = ["state", "category"]
    search_fields = ["organisation__name", "category"]
    list_select_related = ["organisation"]
    actions = None
