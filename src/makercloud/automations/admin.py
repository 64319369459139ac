"""Operations views of automations, scenes and runs: read-only (services own every change)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from makercloud.automations.models import Automation, Run, Scene


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Automation)
class AutomationAdmin(ReadOnlyAdmin):
    list_display = ["name", "owner", "trigger_kind", "enabled", "armed", "next_run_at", "grant_id", "created_at"]
    list_filter = ["trigger_kind", "enabled"]
    search_fields = ["name", "owner__email"]
    list_select_related = ["owner"]


@admin.register(Scene)
class SceneAdmin(ReadOnlyAdmin):
    list_display = ["name", "owner", "grant_id", "created_at"]
    search_fields = ["name", "owner__email"]
    list_select_related = ["owner"]


@admin.register(Run)
class RunAdmin(ReadOnlyAdmin):
    list_display = ["id", "automation", "scene", "owner", "status", "reason", "attempts", "created_at", "finished_at"]
    list_filter = ["status", "reason"]
    search_fields = ["automation__name", "scene__name", "owner__email"]
    list_select_related = ["automation", "scene", "owner"]
