"""developers in the operators' admin: clients. Read-only: review, grants and secrets change through the services
(the review queue page, the connected apps page), so every change is checked and recorded in the timeline."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from makercloud.developers.models import App, AppUsage, Grant


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(App)
class AppAdmin(ReadOnlyAdmin):
    list_display = ["name", "venture", "client_type", "status", "submitted_at", "reviewed_at", "created_at"]
    list_filter = ["status", "client_type"]
    search_fields = ["name", "venture__name", "application__client_id"]
    list_select_related = ["venture"]
    exclude = ["icon"]


@admin.register(Grant)
class GrantAdmin(ReadOnlyAdmin):
    list_display = ["app", "person", "created_at", "last_used_at", "revoked_at"]
    list_filter = ["revoked_at"]
    search_fields = ["app__name", "person__email"]
    list_select_related = ["app", "person"]
    filter_horizontal = ["devices"]


@admin.register(AppUsage)
class AppUsageAdmin(ReadOnlyAdmin):
    list_display = ["app", "minute", "calls", "limited", "tokens"]
    list_select_related = ["app"]
    date_hierarchy = "minute"
