"""Operations views of devices. Documents, secrets and history are not edited here: services own every change."""

import json
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from makercloud.devices.models import Device, DeviceEvent, DeviceModel, Invocation, TelemetryPoint


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(DeviceModel)
class DeviceModelAdmin(ReadOnlyAdmin):
    list_display = ["title", "key", "version", "organisation", "is_thing_model", "retention_days", "created_at"]
    list_filter = ["is_thing_model"]
    search_fields = ["title", "key", "organisation__name"]
    list_select_related = ["organisation"]
    exclude = ["document"]
    readonly_fields = ["pretty_document"]

    @admin.display(description=_("Thing Description"))
    def pretty_document(self, obj: DeviceModel) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.document, indent=2, ensure_ascii=False))

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return obj is None or not obj.devices.exists()  # a version in use stays


@admin.register(Device)
class DeviceAdmin(ReadOnlyAdmin):
    list_display = ["id", "name", "organisation", "model", "owner", "enabled", "online", "last_seen_at"]
    list_filter = ["enabled", "online", "sandbox"]
    search_fields = ["id", "name", "organisation__name", "owner__email"]
    list_select_related = ["organisation", "model", "owner"]
    # No secret or claim-code hashes; provisioning (which shows the secret once) happens on the venture's pages.
    fields = ["id", "name", "organisation", "model", "owner", "claimed_at", "enabled", "sandbox", "online",
              "last_seen_at", "reported", "reported_at", "desired", "desired_version", "desired_at", "created_at"]


@admin.register(Invocation)
class InvocationAdmin(ReadOnlyAdmin):
    list_display = ["id", "device", "action", "status", "created_at", "completed_at"]
    list_filter = ["status"]
    search_fields = ["id", "device__id", "action"]
    list_select_related = ["device"]


@admin.register(TelemetryPoint)
class TelemetryPointAdmin(ReadOnlyAdmin):
    list_display = ["device", "name", "value", "ts"]
    search_fields = ["device__id", "name"]
    show_full_result_count = False


@admin.register(DeviceEvent)
class DeviceEventAdmin(ReadOnlyAdmin):
    list_display = ["device", "name", "ts"]
    search_fields = ["device__id", "name"]
    show_full_result_count = False
