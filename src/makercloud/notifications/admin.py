from django.contrib import admin

from makercloud.notifications.models import Notification


@admin.register(Notification)
class NotificationAdmin(admin.ModelAdmin):
    list_display = ["title", "person", "created_at", "read_at"]
    search_fields = ["title", "person__email"]
    list_select_related = ["person"]
    readonly_fields = ["person", "title", "body", "url", "key", "created_at", "read_at"]
