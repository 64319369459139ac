"""ledger in the operators' admin: statements — the plans that statements are compared with."""

from django.contrib import admin

from makercloud.ledger.models.statements import StatementPlan


@admin.register(StatementPlan)
class StatementPlanAdmin(admin.ModelAdmin):
    list_display = ["venture", "granularity", "period_start", "currency", "revenue", "units", "active_users",
                    "value_added", "source", "updated_at"]
    list_filter = ["granularity", "source", "currency"]
    search_fields = ["venture__organisation__name", "note"]
    list_select_related = ["venture__organisation"]
    autocomplete_fields = ["venture"]
    readonly_fields = ["created_by", "created_at", "updated_at"]
    date_hierarchy = "period_start"
