from django.contrib import admin

from makercloud.ventures.models import Venture


@admin.register(Venture)
class VentureAdmin(admin.ModelAdmin):
    list_display = ["__str__", "origin", "founded_at"]
    list_filter = ["origin"]
    search_fields = ["organisation__name", "organisation__slug", "mission"]
    list_select_related = ["organisation"]
    autocomplete_fields = ["organisation"]
    readonly_fields = ["founded_at"]
