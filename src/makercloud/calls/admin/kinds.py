"""calls: admin of the kinds sub-domain — read only, like the engine's: every change goes through the services.

Nothing here touches a response's content: sealed bids stay with the engine's admin, which hides them until the close.
"""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from makercloud.calls.models.kinds import (
    ContributionPoint,
    IdeaComment,
    IdeaProgress,
    SupplierRating,
    Support,
    Tranche,
)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(IdeaProgress)
class IdeaProgressAdmin(ReadOnly):
    list_display = ["call", "supports", "stage", "state", "stage_deadline"]
    list_filter = ["state"]
    list_select_related = ["call"]
    search_fields = ["call__title"]


@admin.register(Support)
class SupportAdmin(ReadOnly):
    list_display = ["call", "person", "created_at"]
    list_select_related = ["call", "person"]
    search_fields = ["call__title", "person__email"]
    date_hierarchy = "created_at"


@admin.register(IdeaComment)
class IdeaCommentAdmin(ReadOnly):
    list_display = ["call", "author", "created_at", "__str__"]
    list_select_related = ["call", "author"]
    search_fields = ["call__title", "text"]


@admin.register(ContributionPoint)
class ContributionPointAdmin(ReadOnly):
    list_display = ["call", "person", "role", "points", "created_at"]
    list_filter = ["role"]
    list_select_related = ["call", "person"]
    search_fields = ["call__title", "person__email"]


@admin.register(SupplierRating)
class SupplierRatingAdmin(ReadOnly):
    list_display = ["supplier", "call", "stars", "rated_by", "created_at"]
    list_select_related = ["supplier", "call", "rated_by"]
    search_fields = ["supplier__name", "call__title"]


@admin.register(Tranche)
class TrancheAdmin(ReadOnly):
    list_display = ["call", "number", "milestone", "amount", "currency", "state", "released_at", "transfer_id"]
    list_filter = ["state"]
    list_select_related = ["call"]
    search_fields = ["call__title", "milestone"]
