"""ledger in the operators' admin: rules (read), their sets (read), settlements (read; a revenue event is entered
here through `settle`, as commerce will call it), payouts (read)."""

from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from django import forms
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from makercloud.core.errors import DomainError
from makercloud.core.money import Money
from makercloud.core.views import explain
from makercloud.ledger.models.rules import PartyMember, PartySet, Payout, RuleVersion, Settlement, SharingRule
from makercloud.ledger.services.settlement import settle


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class VersionInline(admin.TabularInline):
    model = RuleVersion
    fields = ("number", "content_hash", "kinds", "effective_from", "created_by", "created_at")
    readonly_fields = ("number", "content_hash", "kinds", "effective_from", "created_by", "created_at")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(SharingRule)
class SharingRuleAdmin(ReadOnly):
    list_display = ["name", "venture", "public", "created_at", "retired_at"]
    list_filter = ["public"]
    search_fields = ["name", "venture__name"]
    list_select_related = ["venture"]
    inlines = [VersionInline]


@admin.register(RuleVersion)
class RuleVersionAdmin(ReadOnly):
    list_display = ["rule", "number", "content_hash", "effective_from", "created_at"]
    search_fields = ["rule__name", "content_hash"]
    list_select_related = ["rule"]
    exclude = ["text"]
    readonly_fields = ["rule_text"]

    @admin.display(description=_("text"))
    def rule_text(self, obj: RuleVersion) -> str:
        return format_html("<pre>{}</pre>", obj.text)


class MemberInline(admin.TabularInline):
    model = PartyMember
    fields = ("organisation", "person", "weight")
    readonly_fields = ("organisation", "person", "weight")
    extra = 0
    can_delete = False


@admin.register(PartySet)
class PartySetAdmin(ReadOnly):
    list_display = ["rule", "name"]
    inlines = [MemberInline]


class RevenueEventForm(forms.ModelForm):
    """A revenue event entered by an operator: it is settled (under the rule in force) when the form is valid."""

    amount_text = forms.CharField(label=_("Amount"), max_length=30, help_text=_("In major units, e.g. 2999.00."))
    refund_of_event = forms.CharField(label=_("Refund of (event id)"), max_length=200, required=False)

    class Meta:
        model = Settlement
        fields = ["event_id", "venture", "kind", "revenue_class", "currency", "occurred_at"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["venture"].queryset = self.fields["venture"].queryset.filter(kind="venture")  # type: ignore[attr-defined]
        self.fields["currency"].initial = "CNY"
        self.fields["occurred_at"].initial = timezone.now
        self.settled: Settlement | None = None
        self.request: HttpRequest | None = None

    def validate_unique(self) -> None:
        """`settle` is idempotent by event id: entering a known event again shows the original settlement."""

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.errors:
            return data
        currency = data["currency"]
        try:
            value = Decimal(data["amount_text"].strip())
            minor = value.scaleb(get_currency_precision(currency))
            if not value.is_finite() or minor != minor.to_integral_value():
                raise InvalidOperation
        except (InvalidOperation, ValueError):
            raise ValidationError(_("Write the amount as a number, such as 2999.00.")) from None
        try:
            self.settled = settle(
                event_id=data["event_id"], venture=data["venture"], kind=data["kind"],
                revenue_class=data["revenue_class"], amount=Money(int(minor), currency),
                occurred_at=data["occurred_at"], actor=getattr(self.request, "user", None),
                refund_of=data.get("refund_of_event") or None,
            )
        except DomainError as error:
            raise ValidationError(explain(error)) from error
        return data


@admin.register(Settlement)
class SettlementAdmin(admin.ModelAdmin):
    list_display = ["event_id", "venture", "kind", "revenue_class", "amount", "currency", "rule_version",
                    "occurred_at"]
    list_filter = ["kind", "revenue_class", "currency"]
    search_fields = ["event_id", "venture__name"]
    list_select_related = ["venture", "rule_version__rule"]
    date_hierarchy = "occurred_at"
    readonly_fields = ["event_id", "venture", "kind", "revenue_class", "amount", "currency", "rule_version",
                       "refund_of", "occurred_at", "seed", "shares", "context", "batch", "created_at", "created_by"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            form = RevenueEventForm

            class Bound(form):  # type: ignore[valid-type,misc]
                def __init__(self, *args: Any, **kw: Any) -> None:
                    super().__init__(*args, **kw)
                    self.request = request

            return Bound
        return super().get_form(request, obj, change=change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return self.readonly_fields if obj is not None else []

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        if obj is None:
            return ["event_id", "venture", "kind", "revenue_class", "amount_text", "currency", "occurred_at",
                    "refund_of_event"]
        return self.readonly_fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and request.user.is_staff)

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: Settlement, form: Any, change: bool) -> None:
        """The form has settled the event already (through `settle`); the row is that settlement."""
        settled = form.settled
        obj.pk = settled.pk
        obj.__dict__.update({k: v for k, v in settled.__dict__.items() if not k.startswith("_")})
        obj._state.adding = False


@admin.register(Payout)
class PayoutAdmin(ReadOnly):
    list_display = ["id", "account", "amount", "currency", "state", "provider", "provider_reference", "created_at"]
    list_filter = ["state", "provider"]
    search_fields = ["provider_reference", "destination"]
    list_select_related = ["account__organisation", "account__person"]
