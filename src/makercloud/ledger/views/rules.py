"""ledger pages: a venture's sharing rules (editor with live preview, versions with hashes, sets), settlements with
"how to recompute", and payouts (request, history)."""

from dataclasses import replace
from decimal import Decimal, InvalidOperation
from typing import Any

from babel.numbers import get_currency_precision
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied as PageForbidden
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Organisation, User
from makercloud.core.errors import DomainError, InvalidInput
from makercloud.core.money import Money
from makercloud.core.views import explain, pages_for_domain_errors
from makercloud.ledger.models.rules import SharingRule
from makercloud.ledger.rules import SETS, allocate, rule_parse, seed_of
from makercloud.ledger.rules.errors import RuleDoesNotApply, RuleProblem
from makercloud.ledger.selectors import rules as selectors
from makercloud.ledger.selectors.journal import balance_of
from makercloud.ledger.selectors.statements import settlement_groups, settlement_view
from makercloud.ledger.services import payouts as payout_services
from makercloud.ledger.services import rules as services
from makercloud.ventures import selectors as ventures_selectors

EXAMPLE = """# Sales of our product
split sale, service
  5% to @platform
  10% to @co_creators by points
  30% to @suppliers by bom_cost
  remaining to @venture
"""
SET_LABELS = {
    "co_creators": gettext_lazy("Co-creators (people, by contribution points)"),
    "suppliers": gettext_lazy("Suppliers (supplier organisations, by bill-of-materials cost in minor units)"),
    "investors": gettext_lazy("Investors (investor organisations, by stake)"),
}


def _minor(text: str, currency: str) -> int:
    """A decimal amount in major units ("1000.50") as minor units; a readable error otherwise."""
    try:
        value = Decimal(text.strip().replace(",", ""))
    except InvalidOperation:
        raise InvalidInput(detail=_("Write the amount as a number, such as 1000.00.")) from None
    places = get_currency_precision(currency)
    minor = value.scaleb(places)
    if not value.is_finite() or minor != minor.to_integral_value() or value < 0 or value > Decimal(10) ** 13:
        raise InvalidInput(detail=_("Write the amount as a number with at most %(places)d decimals.")
                           % {"places": places})
    return int(minor)


class RuleForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=120)
    text = forms.CharField(label=gettext_lazy("Rule"), max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}))
    public = forms.BooleanField(label=gettext_lazy("Public: anyone may read and recompute it"), required=False)


class VersionForm(forms.Form):
    text = forms.CharField(label=gettext_lazy("Rule"), max_length=20_000,
                           widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}))


class SetForm(forms.Form):
    members = forms.CharField(
        label=gettext_lazy("Members"), required=False, max_length=20_000,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "class": "code"}),
        help_text=gettext_lazy("One member a line: an organisation's short name or a person's e-mail address, then "
                               "the weight (a whole number), e.g. “precision-motors-ltd 7500”."),
    )


def _preview(request: HttpRequest, text: str, amount_text: str, currency: str, kind: str,
             rule: SharingRule | None) -> dict[str, Any]:
    """The context of the live preview: shares and steps, or the problem with its line and column."""
    context: dict[str, Any] = {"currency": currency}
    try:
        parsed = rule_parse(text)
        context["content_hash"] = parsed.content_hash
        minor = _minor(amount_text or "0", currency)
        sets = selectors.context_of(rule=rule) if rule is not None else {}
        allocation = allocate(parsed, Money(minor, currency), kind=kind,
                              context=selectors.context_from(sets, seed=0))
    except RuleProblem as problem:
        context["problem"] = problem
        context["problem_lines"] = _around(text, problem.line)
    except (RuleDoesNotApply, InvalidInput) as error:
        context["error"] = explain(error)
    else:
        context["allocation"] = allocation
        context["rows"] = _rows(allocation.shares, currency)
    return context


def _around(text: str, line: int) -> list[tuple[int, str, bool]]:
    lines = text.splitlines() or [""]
    return [(n, lines[n - 1], n == line) for n in range(max(1, line - 2), min(len(lines), line + 2) + 1)]


def _rows(shares: Any, currency: str) -> list[dict[str, Any]]:
    return [{"label": s.label, "party": s.party, "line": s.line, "minor": s.minor,
             "money": Money(s.minor, currency).format()} for s in shares]


@pages_for_domain_errors
def rule_list(request: HttpRequest, slug: str) -> HttpResponse:
    venture = ventures_selectors.venture_by_slug(slug=slug)
    rules = selectors.rules_of(viewer=request.user, venture=venture.organisation)
    can_edit = request.user.is_authenticated and accounts_selectors.can_manage(
        person=request.user, organisation=venture.organisation)
    form = RuleForm(request.POST or None, initial={"name": _("Sales"), "text": EXAMPLE})
    if request.method == "POST":
        if not can_edit:
            raise PageForbidden(_("Only the venture's owners and administrators may change its rules."))
        if form.is_valid():
            try:
                version = services.rule_create(actor=request.user, venture=venture.organisation,  # type: ignore[arg-type]
                                               **form.cleaned_data)
            except RuleProblem as problem:
                form.add_error("text", explain(problem))
            except DomainError as error:
                form.add_error(None, explain(error))
            else:
                messages.success(request, _("The rule is saved as version 1."))
                return redirect("ledger:rule", slug=slug, rule_id=version.rule_id)
    settlements = selectors.settlements_visible(viewer=request.user).filter(
        venture=venture.organisation).select_related("rule_version")[:20]
    rows = [{"rule": rule, "in_force": selectors.version_in_force(rule=rule),
             "latest": rule.versions.order_by("-number").first()} for rule in rules]
    return render(request, "ledger/rules/list.html", {
        "venture": venture, "rows": rows, "form": form, "can_edit": can_edit, "settlements": settlements,
        "nav_section": "ventures",
    }, status=400 if form.errors else 200)


@pages_for_domain_errors
def rule_detail(request: HttpRequest, slug: str, rule_id: int) -> HttpResponse:
    venture = ventures_selectors.venture_by_slug(slug=slug)
    rule = selectors.rule_get(viewer=request.user, rule_id=rule_id, venture=venture.organisation)
    can_edit = request.user.is_authenticated and accounts_selectors.can_manage(
        person=request.user, organisation=venture.organisation)
    latest = rule.versions.order_by("-number").first()
    form = VersionForm(request.POST or None, initial={"text": latest.text if latest else EXAMPLE})
    if request.method == "POST":
        if not can_edit:
            raise PageForbidden(_("Only the venture's owners and administrators may change its rules."))
        if form.is_valid():
            try:
                version = services.rule_version_save(actor=request.user, rule=rule,  # type: ignore[arg-type]
                                                     text=form.cleaned_data["text"])
            except RuleProblem as problem:
                form.add_error("text", explain(problem))
            except DomainError as error:
                form.add_error(None, explain(error))
            else:
                if latest is not None and version.pk == latest.pk:
                    messages.info(request, _("The text is the same as version %(n)d; nothing changed.")
                                  % {"n": version.number})
                else:
                    messages.success(request, _("Saved as version %(n)d.") % {"n": version.number})
                return redirect("ledger:rule", slug=slug, rule_id=rule.pk)
    text = form.data.get("text") if form.is_bound else (latest.text if latest else EXAMPLE)
    sets = selectors.context_of(rule=rule)
    set_forms = [(name, SET_LABELS[name], sets.get(name, []), SetForm(
        prefix=name, initial={"members": _members_text(rule, name)})) for name in SETS]
    return render(request, "ledger/rules/detail.html", {
        "venture": venture, "rule": rule, "form": form, "can_edit": can_edit,
        "versions": selectors.versions_of(rule=rule), "in_force": selectors.version_in_force(rule=rule),
        "set_forms": set_forms, "preview": _preview(request, str(text), "1000.00", "CNY", "sale", rule),
        "amount": "1000.00", "currency": "CNY", "nav_section": "ventures",
    }, status=400 if form.errors else 200)


def _members_text(rule: SharingRule, name: str) -> str:
    party_set = rule.sets.filter(name=name).first()
    if party_set is None:
        return ""
    lines = []
    for member in party_set.members.select_related("organisation", "person").order_by("id"):
        who = member.organisation.slug if member.organisation else member.person.email  # type: ignore[union-attr]
        lines.append(f"{who} {member.weight}")
    return "\n".join(lines)


@login_required
@require_POST
@pages_for_domain_errors
def rule_set_update(request: HttpRequest, slug: str, rule_id: int, name: str) -> HttpResponse:
    venture = ventures_selectors.venture_by_slug(slug=slug)
    rule = selectors.rule_get(viewer=request.user, rule_id=rule_id, venture=venture.organisation)
    if name not in SETS:
        raise PageForbidden(_("There is no such set."))
    form = SetForm(request.POST, prefix=name)
    try:
        if not form.is_valid():
            raise InvalidInput(detail=_("The members are not valid."))
        members = []
        for number, line in enumerate(form.cleaned_data["members"].splitlines(), start=1):
            if not line.strip():
                continue
            parts = line.split()
            if len(parts) != 2 or not parts[1].isdigit():
                raise InvalidInput(detail=_("Line %(n)d: write a short name or e-mail, then a whole number.")
                                   % {"n": number})
            who, weight = parts[0], int(parts[1])
            if "@" in who:
                person = User.objects.filter(email__iexact=who).first()
                if person is None:
                    raise InvalidInput(detail=_("Line %(n)d: nobody has the e-mail address %(who)s.")
                                       % {"n": number, "who": who})
                members.append(services.MemberSpec(person=person, weight=weight))
            else:
                organisation = Organisation.objects.filter(slug=who).first()
                if organisation is None:
                    raise InvalidInput(detail=_("Line %(n)d: there is no organisation %(who)s.")
                                       % {"n": number, "who": who})
                members.append(services.MemberSpec(organisation=organisation, weight=weight))
        services.party_set_update(actor=request.user, rule=rule, name=name, members=members)  # type: ignore[arg-type]
    except DomainError as error:
        if error.status == 403:
            raise PageForbidden(explain(error)) from error
        messages.error(request, explain(error))
    else:
        messages.success(request, _("The set @%(name)s is saved.") % {"name": name})
    return redirect("ledger:rule", slug=slug, rule_id=rule.pk)


def rule_preview(request: HttpRequest) -> HttpResponse:
    """The live preview (htmx): the rule text and an amount in, the shares or the problem out. Saves nothing."""
    data = request.POST if request.method == "POST" else request.GET
    rule = None
    rule_id = data.get("rule_id", "")
    if rule_id.isdigit():
        try:
            rule = selectors.rule_get(viewer=request.user, rule_id=int(rule_id))
        except DomainError:
            rule = None
    currency = data.get("currency", "CNY")
    if currency not in ("CNY", "EUR", "USD"):
        currency = "CNY"
    kind = data.get("kind", "sale")
    if kind not in ("sale", "subscription", "service"):
        kind = "sale"
    context = _preview(request, data.get("text", "")[:20_000], data.get("amount", "")[:30], currency, kind, rule)
    return render(request, "ledger/rules/_preview.html", {"preview": context})


# Settlements -------------------------------------------------------------------------------------------------------


GROUP_LABELS = {"platform": gettext_lazy("Platform"), "venture": gettext_lazy("Venture"),
                "suppliers": gettext_lazy("Suppliers"), "co_creators": gettext_lazy("Co-creators"),
                "investors": gettext_lazy("Investors")}


@pages_for_domain_errors
def settlement_detail(request: HttpRequest, settlement_id: int) -> HttpResponse:
    settlement = selectors.settlement_get(viewer=request.user, settlement_id=settlement_id)
    view = settlement_view(viewer=request.user, settlement=settlement)  # type: ignore[arg-type]
    recompute = selectors.settlement_recompute(settlement=settlement)
    transfers = {str(t.pk): t for t in selectors.transfers_of(settlement=settlement)}
    shares = [{**share, "money": Money(share["minor"], settlement.currency).format(),
               "transfer": transfers.get(str(share.get("transfer_id")))} for share in view.shares(settlement)]
    groups = [{"party": GROUP_LABELS.get(party, party), "money": Money(minor, settlement.currency).format()}
              for party, minor in settlement_groups(settlement).items()]
    steps = recompute.allocation.steps if recompute.allocation is not None else []
    if not view.whole:  # no member's name or amount but the viewer's own (the shares above)
        steps = [replace(step, members=[]) for step in steps]
    venture = getattr(settlement.venture, "venture", None)
    return render(request, "ledger/rules/settlement.html", {
        "settlement": settlement, "venture": venture, "shares": shares, "groups": groups, "whole": view.whole,
        "steps": steps, "recompute": recompute,
        "amount": Money(settlement.amount, settlement.currency).format(), "version": settlement.rule_version,
        "seed_hex": seed_of(settlement.event_id).to_bytes(8, "big").hex(),
        "refunds": settlement.refunds.all() if settlement.refund_of_id is None else [],
        "nav_section": "ventures",
    })


# Payouts -----------------------------------------------------------------------------------------------------------


class PayoutForm(forms.Form):
    account = forms.ChoiceField(label=gettext_lazy("From the account"))
    amount = forms.CharField(label=gettext_lazy("Amount"), max_length=30,
                             help_text=gettext_lazy("In the account's currency, e.g. 120.50."))
    destination = forms.CharField(label=gettext_lazy("Pay to"), max_length=200,
                                  help_text=gettext_lazy("Your payout destination at the provider. The sandbox pays "
                                                         "nothing for real; “sandbox:fail” makes it fail."))


@login_required
def payouts(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    accounts = list(selectors.accounts_owned_by(person=person).order_by("id"))
    balances = {account.pk: balance_of(account=account) for account in accounts}
    choices = [(str(a.pk), f"{a.organisation or a.person} · {a.get_purpose_display()} · "
                f"{Money(balances[a.pk].net_credit - balances[a.pk].debits_pending, a.currency).format()}")
               for a in accounts]
    form = PayoutForm(request.POST or None)
    form.fields["account"].choices = choices  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        account = next(a for a in accounts if str(a.pk) == form.cleaned_data["account"])
        try:
            payout_services.payout_request(
                actor=person, account=account, amount=Money(_minor(form.cleaned_data["amount"], account.currency),
                                                            account.currency),
                destination=form.cleaned_data["destination"])
        except DomainError as error:
            form.add_error(None, explain(error))
        else:
            messages.success(request, _("The payout is requested; the amount is held until the provider confirms."))
            return redirect("ledger:payouts")
    rows = [{"account": a, "balance": balances[a.pk],
             "available": Money(balances[a.pk].net_credit - balances[a.pk].debits_pending, a.currency).format(),
             "held": Money(balances[a.pk].debits_pending, a.currency).format()} for a in accounts]
    history = [{"payout": p, "money": Money(p.amount, p.currency).format()}
               for p in selectors.payouts_of(viewer=person).order_by("-created_at")[:100]]
    return render(request, "ledger/rules/payouts.html", {
        "form": form, "rows": rows, "history": history, "nav_section": "ledger",
    }, status=400 if form.errors else 200)


urlpatterns = [
    path("ventures/<slug:slug>/rules/", rule_list, name="rules"),
    path("ventures/<slug:slug>/rules/<int:rule_id>/", rule_detail, name="rule"),
    path("ventures/<slug:slug>/rules/<int:rule_id>/sets/<str:name>/", rule_set_update, name="rule_set"),
    path("rules/preview/", rule_preview, name="rule_preview"),
    path("ledger/settlements/<int:settlement_id>/", settlement_detail, name="settlement"),
    path("ledger/payouts/", payouts, name="payouts"),
]
