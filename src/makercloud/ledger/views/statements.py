"""ledger pages: the win-win value-added statement of a venture — period picker, charts, exports, plan editor and the
what-if preview. Public in aggregate; members and operators see it whole."""

from decimal import Decimal, InvalidOperation
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from makercloud.accounts import selectors as accounts_selectors
from makercloud.core.errors import DomainError
from makercloud.core.money import Money
from makercloud.core.views import explain, pages_for_domain_errors, show_error
from makercloud.ledger.errors import InvalidWhatIf
from makercloud.ledger.models.rules import SharingRule
from makercloud.ledger.selectors import statements as selectors
from makercloud.ledger.selectors.statements import GROUPS, Statement, WhatIfLine
from makercloud.ledger.services import statements as services
from makercloud.ledger.statement_periods import MONTH, QUARTER, Period, period_current, period_parse
from makercloud.ventures import selectors as ventures_selectors
from makercloud.ventures.models import Venture

SERIES = {MONTH: 12, QUARTER: 8}
CHART_WIDTH, CHART_HEIGHT = 640, 200
GROUP_LABELS = {
    "makers": gettext_lazy("Makers (the venture)"),
    "co_creators": gettext_lazy("Co-creating users"),
    "suppliers": gettext_lazy("Suppliers"),
    "platform": gettext_lazy("Platform"),
    "investors": gettext_lazy("Investors"),
}
FIGURE_LABELS = {
    "revenue": gettext_lazy("Revenue"),
    "units": gettext_lazy("Units sold"),
    "active_users": gettext_lazy("Active users"),
    "value_added": gettext_lazy("Value added"),
}


def _period_choices(granularity_now: Period) -> list[tuple[str, list[tuple[str, str]]]]:
    months = period_current(granularity=MONTH).series(24)[::-1]
    quarters = period_current(granularity=QUARTER).series(8)[::-1]
    return [(_("Months"), [(p.label, p.label) for p in months]),
            (_("Quarters"), [(p.label, p.label) for p in quarters])]


def _bars(statements: list[Statement]) -> dict[str, Any]:
    """Server-side SVG bars of revenue and value added per period (the page reads without JavaScript)."""
    values = [v for s in statements for v in (s.revenue, s.value_added)]
    high, low = max([0, *values]), min([0, *values])
    span = (high - low) or 1
    slot = CHART_WIDTH / len(statements)
    bar = slot * 0.36
    zero = CHART_HEIGHT - 20 - (0 - low) / span * (CHART_HEIGHT - 30)
    bars = []
    for i, s in enumerate(statements):
        for j, (value, kind) in enumerate(((s.revenue, "revenue"), (s.value_added, "value-added"))):
            top = CHART_HEIGHT - 20 - (value - low) / span * (CHART_HEIGHT - 30)
            bars.append({"x": f"{i * slot + slot * 0.12 + j * bar:.1f}", "y": f"{min(top, zero):.1f}",
                         "height": f"{max(abs(zero - top), 0.5):.1f}", "width": f"{bar:.1f}", "kind": kind})
    labels = [{"x": f"{i * slot + slot / 2:.1f}", "text": s.period.label} for i, s in enumerate(statements)]
    return {"bars": bars, "labels": labels, "width": CHART_WIDTH, "height": CHART_HEIGHT, "zero": f"{zero:.1f}"}


def _series_json(statements: list[Statement]) -> dict[str, Any]:
    def major(minor: int) -> float:  # for drawing only; every figure shown as text is exact
        return float(Money(minor, statements[-1].currency).decimal)

    return {
        "labels": [s.period.label for s in statements],
        "revenue": [major(s.revenue) for s in statements],
        "value_added": [major(s.value_added) for s in statements],
        "costs": [major(s.costs) for s in statements],
        "active_users": [s.active_users for s in statements],
        "names": {"revenue": _("Revenue"), "value_added": _("Value added"), "costs": _("Costs"),
                  "active_users": _("Active users")},
        "currency": statements[-1].currency,
    }


def _figures_context(statement: Statement, *, full: bool) -> dict[str, Any]:
    shared = [{"group": g, "label": GROUP_LABELS[g], "amount": statement.shared[g],
               "parties": [p for p in statement.parties if p.group == g] if full else []} for g in GROUPS]
    plan_rows = [{**row, "label": FIGURE_LABELS[row["figure"]]} for row in statement.plan_comparison()] \
        if full else []
    return {"statement": statement, "shared": shared, "plan_rows": plan_rows, "full": full}


class PlanForm(forms.Form):
    period = forms.CharField(label=gettext_lazy("Period"), max_length=7,
                             help_text=gettext_lazy("A month (2026-11) or a quarter (2026-Q4)."))
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="CNY")
    revenue = forms.DecimalField(label=gettext_lazy("Planned revenue"), required=False, min_value=0,
                                 decimal_places=2, max_digits=15)
    units = forms.IntegerField(label=gettext_lazy("Planned units sold"), required=False, min_value=0,
                               max_value=2**31 - 1)
    active_users = forms.IntegerField(label=gettext_lazy("Planned active users"), required=False, min_value=0,
                                      max_value=2**31 - 1)
    value_added = forms.DecimalField(label=gettext_lazy("Planned value added"), required=False, decimal_places=2,
                                     max_digits=15)
    note = forms.CharField(label=gettext_lazy("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 2}))


def _minor(amount: Decimal | None, currency: str) -> int | None:
    if amount is None:
        return None
    try:
        exponent = -Money(0, currency).decimal.as_tuple().exponent  # type: ignore[operator]
    except DomainError:
        exponent = 2
    return int((amount * (Decimal(10) ** exponent)).to_integral_value())


def _venture_for_page(slug: str) -> Venture:
    return ventures_selectors.venture_by_slug(slug=slug)


@pages_for_domain_errors
def statement(request: HttpRequest, slug: str) -> HttpResponse:
    venture = _venture_for_page(slug)
    viewer = request.user if request.user.is_authenticated else None
    full = selectors.statement_full_view(viewer=viewer, venture=venture)
    status = 200
    try:
        period = period_parse(request.GET.get("period"), granularity=request.GET.get("granularity") or None)
    except DomainError as error:
        messages.error(request, explain(error))
        period, status = period_current(), 400
    currency = request.GET.get("currency") or None
    if currency is not None and not (len(currency) == 3 and currency.isalpha() and currency.isupper()):
        messages.error(request, _("%(currency)s is not an ISO 4217 currency code.") % {"currency": currency[:8]})
        currency, status = None, 400
    statements = selectors.statements_of(venture=venture, period=period, count=SERIES[period.granularity],
                                         currency=currency)
    current = statements[-1]
    can_manage = viewer is not None and accounts_selectors.can_manage(
        person=viewer, organisation=venture.organisation)
    plan_initial: dict[str, Any] = {"period": period.label, "currency": current.currency}
    if full and current.plan is not None and not current.plan.from_months:
        plan = current.plan
        def major(minor: int | None) -> Decimal | None:
            return None if minor is None else Money(minor, plan.currency).decimal

        plan_initial |= {"revenue": major(plan.revenue), "units": plan.units, "active_users": plan.active_users,
                         "value_added": major(plan.value_added), "note": plan.note, "currency": plan.currency}
    api = f"/api/v1/ventures/{venture.pk}/statements?period={period.label}&count={SERIES[period.granularity]}" \
          f"&currency={current.currency}"
    context = {
        "venture": venture, "period": period, "statements": statements, "full": full, "can_manage": can_manage,
        "choices": _period_choices(period), "bars": _bars(statements), "series": _series_json(statements),
        "json_url": api, "csv_url": api + "&format=csv",
        "plan_form": PlanForm(initial=plan_initial) if can_manage else None,
        "previous": period.previous(), "next": period.next(),
        **_figures_context(current, full=full),
    }
    return render(request, "ledger/statements/statement.html", context, status=status)


@login_required
@require_POST
@pages_for_domain_errors
def statement_plan(request: HttpRequest, slug: str) -> HttpResponse:
    venture = _venture_for_page(slug)
    form = PlanForm(request.POST)
    if not form.is_valid():
        for field, errors in form.errors.items():
            label = form.fields[field].label if field in form.fields else ""
            text = " ".join(str(error) for error in errors)
            messages.error(request, f"{label}: {text}" if label else text)
        return redirect("ledger:statement", slug=slug)
    data = form.cleaned_data
    try:
        period = period_parse(data["period"])
        currency = data["currency"].strip().upper()
        if request.POST.get("action") == "delete":
            services.statement_plan_delete(actor=request.user, venture=venture, period=period)  # type: ignore[arg-type]
            messages.success(request, _("The plan for %(period)s is withdrawn.") % {"period": period.label})
        else:
            services.statement_plan_set(
                actor=request.user, venture=venture, period=period, currency=currency,  # type: ignore[arg-type]
                revenue=_minor(data["revenue"], currency), units=data["units"], active_users=data["active_users"],
                value_added=_minor(data["value_added"], currency), note=data["note"],
            )
            messages.success(request, _("The plan for %(period)s is saved.") % {"period": period.label})
    except DomainError as error:
        show_error(request, error)
        return redirect("ledger:statement", slug=slug)
    return redirect(f"{request.path.removesuffix('plan/')}?period={period.label}")


KIND_CHOICES = [("sale", gettext_lazy("Sale (product)")), ("subscription", gettext_lazy("Subscription (app)")),
                ("service", gettext_lazy("Service"))]
WHAT_IF_LINES = 3


class WhatIfForm(forms.Form):
    period = forms.CharField(label=gettext_lazy("Period to compare with its plan"), max_length=7, required=False)
    currency = forms.CharField(label=gettext_lazy("Currency"), max_length=3, initial="CNY")
    active_users = forms.IntegerField(label=gettext_lazy("Planned active users"), required=False, min_value=0,
                                      max_value=2**31 - 1)
    rule = forms.CharField(label=gettext_lazy("Rule"), required=False, max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 9, "class": "mono", "spellcheck": "false"}),
                           help_text=gettext_lazy("In the split language. Leave empty to use the venture's rules "
                                                  "in force."))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for i in range(WHAT_IF_LINES):
            self.fields[f"kind_{i}"] = forms.ChoiceField(label=gettext_lazy("Kind"), choices=KIND_CHOICES,
                                                         required=False)
            self.fields[f"units_{i}"] = forms.IntegerField(label=gettext_lazy("Units"), required=False, min_value=0,
                                                           max_value=selectors.MAX_WHAT_IF_EVENTS)
            self.fields[f"price_{i}"] = forms.DecimalField(label=gettext_lazy("Price per unit"), required=False,
                                                           min_value=Decimal("0.01"), decimal_places=2,
                                                           max_digits=14)
            self.fields[f"refunds_{i}"] = forms.IntegerField(label=gettext_lazy("Refunded"), required=False,
                                                             min_value=0)

    def lines(self, currency: str) -> list[WhatIfLine]:
        found = []
        for i in range(WHAT_IF_LINES):
            units, price = self.cleaned_data.get(f"units_{i}"), self.cleaned_data.get(f"price_{i}")
            if units and price:
                found.append(WhatIfLine(kind=self.cleaned_data.get(f"kind_{i}") or "sale", units=units,
                                        unit_price=_minor(price, currency) or 0,
                                        refunds=self.cleaned_data.get(f"refunds_{i}") or 0))
        return found

    def line_rows(self) -> list[list[Any]]:
        return [[self[f"{name}_{i}"] for name in ("kind", "units", "price", "refunds")] for i in range(WHAT_IF_LINES)]


@login_required
@pages_for_domain_errors
def statement_what_if(request: HttpRequest, slug: str) -> HttpResponse:
    venture = _venture_for_page(slug)
    selectors.ensure_statement_insider(viewer=request.user, venture=venture)  # type: ignore[arg-type]
    rule = SharingRule.objects.filter(venture_id=venture.organisation_id, retired_at=None).order_by("id").first()
    latest = rule.versions.order_by("-number").first() if rule else None
    initial = {"rule": latest.text if latest else "", "currency": selectors.statement_currency(venture=venture),
               "kind_0": "sale", "units_0": 100, "price_0": Decimal("199.00")}
    form = WhatIfForm(request.POST or None, initial=initial)
    preview = None
    status = 200
    if request.method == "POST":
        if form.is_valid():
            currency = form.cleaned_data["currency"].strip().upper()
            lines = form.lines(currency)
            try:
                if not lines:
                    raise InvalidWhatIf(detail=_("Give at least one line with units and a price."))
                period = period_parse(form.cleaned_data["period"] or None)
                statement = selectors.statement_what_if(
                    viewer=request.user, venture=venture, period=period, currency=currency,  # type: ignore[arg-type]
                    lines=lines, rule_text=form.cleaned_data["rule"].strip() or None,
                    active_users=form.cleaned_data["active_users"],
                )
                preview = _figures_context(statement, full=True)
            except (DomainError, InvalidOperation) as error:
                form.add_error(None, explain(error) if isinstance(error, DomainError) else str(error))
        if form.errors:
            status = 400
    context = {"venture": venture, "form": form, "preview": preview, "line_rows": form.line_rows()}
    return render(request, "ledger/statements/what_if.html", context, status=status)


urlpatterns = [
    path("ventures/<slug:slug>/statement/", statement, name="statement"),
    path("ventures/<slug:slug>/statement/plan/", statement_plan, name="statement_plan"),
    path("ventures/<slug:slug>/statement/what-if/", statement_what_if, name="statement_what_if"),
]
