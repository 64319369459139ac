"""The operators' admin for people, organisations, memberships, invitations and tokens.

Secrets never appear: invitations and tokens show no hash, and tokens are read-only. Verification goes through the
service, so the event log records who verified what.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from makercloud.accounts import services
from makercloud.accounts.models import Invitation, Membership, Organisation, PersonalAccessToken, User


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "intent")


class PersonChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    form = PersonChangeForm
    add_form = PersonCreationForm
    list_display = ["email", "name", "intent", "email_verified_at", "is_active", "is_staff", "date_joined"]
    list_filter = ["intent", "is_active", "is_staff", "is_superuser"]
    search_fields = ["email", "name"]
    ordering = ["email"]
    readonly_fields = ["date_joined", "last_login", "email_verified_at"]
    inlines = [MembershipInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Profile"), {"fields": ("name", "intent", "email_verified_at")}),
        (_("Permissions"), {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"classes": ("wide",), "fields": ("email", "name", "intent", "usable_password", "password1",
                                                 "password2")}),
    )

    def get_inline_instances(self, request: HttpRequest, obj: Any = None) -> list[Any]:
        return super().get_inline_instances(request, obj) if obj is not None else []


class OrganisationMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["person"]
    fields = ["person", "role", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(Organisation)
class OrganisationAdmin(admin.ModelAdmin):
    list_display = ["name", "kind", "verification", "created_at", "created_by"]
    list_filter = ["kind", "verification"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["created_at", "created_by", "verification", "verification_note", "verified_at"]
    inlines = [OrganisationMembershipInline]
    actions = ["verify", "reject"]

    @admin.action(description=_("Verify the selected organisations"))
    def verify(self, request: HttpRequest, queryset: QuerySet[Organisation]) -> None:
        for organisation in queryset:
            services.organisation_verify(actor=request.user, organisation=organisation, approve=True)  # type: ignore[arg-type]
        self.message_user(request, _("Verified %(count)d organisations.") % {"count": len(queryset)}, messages.SUCCESS)

    @admin.action(description=_("Reject the selected organisations"))
    def reject(self, request: HttpRequest, queryset: QuerySet[Organisation]) -> None:
        for organisation in queryset:
            services.organisation_verify(actor=request.user, organisation=organisation, approve=False)  # type: ignore[arg-type]
        self.message_user(request, _("Rejected %(count)d organisations.") % {"count": len(queryset)}, messages.SUCCESS)


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["person", "organisation", "role", "joined_at"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["person__email", "person__name", "organisation__name"]
    autocomplete_fields = ["person", "organisation"]
    readonly_fields = ["joined_at"]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "invited_by", "created_at", "expires_at", "accepted_at",
                    "revoked_at"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["email", "organisation__name"]
    fields = ("organisation", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an invitation's token exists only in its e-mail; invite from the organisation's page


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "person", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["name", "prefix", "person__email"]
    fields = ("person", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
