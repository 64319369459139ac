"""The operators' admin for people, organisations, memberships, invitations and tokens.

Secrets never appear: invitations and tokens show no hash, and tokens are read-only. Every write goes through a
service, so the event log records which operator added, changed, verified or removed what.
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.forms import BaseInlineFormSet
from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _

from makercloud.accounts import services
from makercloud.accounts.models import Invitation, Membership, Organisation, PersonalAccessToken, User


def _unused_email(email: str, person: User | None) -> str:
    """The address in lower case, if no one else has it in any letter case."""
    email = User.objects.normalize_email(email).strip().lower()
    others = User.objects.filter(email__iexact=email)
    if person is not None and person.pk:
        others = others.exclude(pk=person.pk)
    if others.exists():
        raise ValidationError(_("%(email)s already has an account.") % {"email": email})
    return email


class PersonCreationForm(AdminUserCreationForm):
    class Meta:
        model = User
        fields = ("email", "name", "intent")

    def clean_email(self) -> str:
        return _unused_email(self.cleaned_data["email"], None)


class PersonChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"

    def clean_email(self) -> str:
        return _unused_email(self.cleaned_data["email"], self.instance)


class MembershipsThroughServices:
    """Memberships added, changed or deleted on a person's or an organisation's page are saved by the services."""

    def save_formset(self, request: HttpRequest, form: Any, formset: BaseInlineFormSet, change: bool) -> None:
        if formset.model is not Membership:
            super().save_formset(request, form, formset, change)  # type: ignore[misc]
            return
        memberships = formset.save(commit=False)
        for membership in formset.deleted_objects:
            services.membership_delete(actor=request.user, membership=membership)  # type: ignore[arg-type]
        for membership in memberships:
            services.membership_save(actor=request.user, membership=membership)  # type: ignore[arg-type]
        formset.save_m2m()


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["organisation"]
    fields = ["organisation", "role", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(User)
class UserAdmin(MembershipsThroughServices, BaseUserAdmin):
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

    def save_model(self, request: HttpRequest, obj: User, form: Any, change: bool) -> None:
        if change:
            services.person_change(actor=request.user, person=obj, fields=form.changed_data)  # type: ignore[arg-type]
        else:
            services.person_add(actor=request.user, person=obj)  # type: ignore[arg-type]

    def user_change_password(self, request: HttpRequest, id: str, form_url: str = "") -> HttpResponse:
        response = super().user_change_password(request, id, form_url)
        if request.method == "POST" and response.status_code == 302:  # the form was valid and saved
            person = self.get_object(request, id)
            if person is not None:
                services.person_password_changed(person=person, how="admin", actor=request.user)  # type: ignore[arg-type]
        return response


class OrganisationMembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["person"]
    fields = ["person", "role", "joined_at"]
    readonly_fields = ["joined_at"]


@admin.register(Organisation)
class OrganisationAdmin(MembershipsThroughServices, admin.ModelAdmin):
    list_display = ["name", "kind", "verification", "created_at", "created_by"]
    list_filter = ["kind", "verification"]
    search_fields = ["name", "slug", "description"]
    readonly_fields = ["created_at", "created_by", "verification", "verification_note", "verified_at"]
    inlines = [OrganisationMembershipInline]
    actions = ["verify", "reject"]

    def save_model(self, request: HttpRequest, obj: Organisation, form: Any, change: bool) -> None:
        services.organisation_save(actor=request.user, organisation=obj, created=not change,  # type: ignore[arg-type]
                                   fields=form.changed_data)

    def delete_model(self, request: HttpRequest, obj: Organisation) -> None:
        services.organisation_delete(actor=request.user, organisation=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Organisation]) -> None:
        for organisation in queryset:
            services.organisation_delete(actor=request.user, organisation=organisation)  # type: ignore[arg-type]

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

    def save_model(self, request: HttpRequest, obj: Membership, form: Any, change: bool) -> None:
        services.membership_save(actor=request.user, membership=obj)  # type: ignore[arg-type]

    def delete_model(self, request: HttpRequest, obj: Membership) -> None:
        services.membership_delete(actor=request.user, membership=obj)  # type: ignore[arg-type]

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Membership]) -> None:
        for membership in queryset.select_related("person", "organisation"):
            services.membership_delete(actor=request.user, membership=membership)  # type: ignore[arg-type]


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["email", "organisation", "role", "invited_by", "created_at", "expires_at", "accepted_at",
                    "revoked_at"]
    list_filter = ["role", "organisation__kind"]
    search_fields = ["email", "organisation__name"]
    fields = ("organisation", "email", "role", "invited_by", "created_at", "expires_at", "accepted_at", "revoked_at")
    readonly_fields = fields

    actions = ["withdraw"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # an invitation's token exists only in its e-mail; invite from the organisation's page

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # withdrawn, not deleted: the organisation's timeline keeps it

    @admin.action(description=_("Withdraw the selected invitations"))
    def withdraw(self, request: HttpRequest, queryset: QuerySet[Invitation]) -> None:
        open_ones = [invitation for invitation in queryset.select_related("organisation")
                     if invitation.accepted_at is None]
        for invitation in open_ones:
            services.invitation_revoke(actor=request.user, invitation=invitation)  # type: ignore[arg-type]
        self.message_user(request, _("Withdrew %(count)d invitations.") % {"count": len(open_ones)}, messages.SUCCESS)


@admin.register(PersonalAccessToken)
class PersonalAccessTokenAdmin(admin.ModelAdmin):
    list_display = ["name", "person", "prefix", "created_at", "last_used_at", "expires_at", "revoked_at"]
    search_fields = ["name", "prefix", "person__email"]
    fields = ("person", "name", "prefix", "scopes", "created_at", "expires_at", "last_used_at", "revoked_at")
    readonly_fields = fields

    actions = ["revoke"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # revoked, not deleted: the person's timeline keeps it

    @admin.action(description=_("Revoke the selected tokens"))
    def revoke(self, request: HttpRequest, queryset: QuerySet[PersonalAccessToken]) -> None:
        for token in queryset:
            services.token_revoke(actor=request.user, token=token)  # type: ignore[arg-type]
        self.message_user(request, _("Revoked %(count)d tokens.") % {"count": len(queryset)}, messages.SUCCESS)
