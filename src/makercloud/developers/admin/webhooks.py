"""developers in the operators' admin: webhooks. Read-only: endpoints, deliveries and attempts change through the
services (the secrets never appear here, not even encrypted)."""

from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from makercloud.developers.models import Delivery, DeliveryAttempt, WebhookEndpoint


class _ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(_ReadOnly):
    list_display = ["url", "app", "enabled", "circuit", "consecutive_failures", "last_success_at", "created_at"]
    list_filter = ["enabled"]
    search_fields = ["url", "app__name"]
    list_select_related = ["app"]
    exclude = ["secret_encrypted", "previous_secret_encrypted"]

    @admin.display(description=_("circuit"))
    def circuit(self, obj: WebhookEndpoint) -> str:
        return obj.circuit_state()


class DeliveryAttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    can_delete = False
    fields = readonly_fields = ("number", "trigger", "started_at", "duration_ms", "response_status", "error",
                                "succeeded")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Delivery)
class DeliveryAdmin(_ReadOnly):
    list_display = ["message_id", "event_type", "app", "endpoint", "state", "attempts", "last_status",
                    "next_attempt_at", "created_at"]
    list_filter = ["state", "event_type"]
    search_fields = ["message_id", "device_id", "app__name"]
    list_select_related = ["app", "endpoint"]
    inlines = [DeliveryAttemptInline]
