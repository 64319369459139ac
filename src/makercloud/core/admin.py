"""The domain-event log in the admin: readable and searchable, never added to, changed or deleted."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from makercloud.core.models import Event


@admin.register(Event)
class EventAdmin(admin.ModelAdmin):
    list_display = ["created_at", "kind", "actor", "subject_type", "subject_id", "organisation_id", "public"]
    list_filter = ["kind", "public", "subject_type"]
    search_fields = ["kind", "subject_id", "actor__email"]
    date_hierarchy = "created_at"
    list_select_related = ["actor"]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
