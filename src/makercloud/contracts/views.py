"""contracts pages: my contracts (and the signed ones anyone may know of), a contract (terms and timeline for its
parties, the public view otherwise), signing with the password again, amendments, milestones, bet-on clauses, and
drawing one up directly."""

import json
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

from makercloud.accounts.models import Organisation, OrganisationKind, Role
from makercloud.contracts import selectors, services
from makercloud.contracts.models import Contract
from makercloud.core.errors import DomainError
from makercloud.core.views import pages_for_domain_errors, show_error
from makercloud.ledger.models import RuleVersion


class JSONList(forms.CharField):
    """A JSON list typed into a textarea."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value if isinstance(value, str) else json.dumps(value or [], indent=2, ensure_ascii=False)

    def clean(self, value: Any) -> Any:
        text = (super().clean(value) or "").strip()
        if not text:
            return []
        try:
            parsed = json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": error}) from error
        if not isinstance(parsed, list) or not all(isinstance(item, dict) for item in parsed):
            raise forms.ValidationError(_("Write a JSON list of objects in brackets [{…}]."))
        return parsed


class SignForm(forms.Form):
    password = forms.CharField(widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
                               label=gettext_lazy("Your password"),
                               help_text=gettext_lazy("Signing binds the party: enter your password again."))
    version_hash = forms.CharField(widget=forms.HiddenInput(), max_length=64)
    party = forms.IntegerField(widget=forms.HiddenInput(), required=False)


class AmendForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000, label=gettext_lazy("Reason"))
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 6}), required=False, max_length=50_000,
                           label=gettext_lazy("Text of the terms"))
    targets = JSONList(label=gettext_lazy("Targets"), help_text=gettext_lazy(
        '[{"key": "sales", "metric": "units_sold", "threshold": 3000, "from": "2026-01-01", "until": "2026-07-01"}] '
        "— metrics: units_sold, active_devices, revenue (with currency), rating (with party)."))
    milestones = JSONList(label=gettext_lazy("Milestones"), help_text=gettext_lazy(
        '[{"key": "proto", "title": "Prototype", "due": "2026-03-01", "amount": 100000, "currency": "CNY"}]'))
    bet_ons = JSONList(label=gettext_lazy("Bet-on clauses"), help_text=gettext_lazy(
        '[{"key": "b1", "target": "sales", "by": "2026-07-01", "if_met": "Tranche A", "otherwise": "Share B"}]'))


class ContractForm(AmendForm):
    venture = forms.ModelChoiceField(queryset=Organisation.objects.none(), label=gettext_lazy("Venture"))
    title = forms.CharField(max_length=200, label=gettext_lazy("Title"))
    counterparty = forms.SlugField(label=gettext_lazy("Other party (short name of the organisation)"))
    counterparty_role = forms.CharField(max_length=64, label=gettext_lazy("Their role"),
                                        initial=gettext_lazy("supplier"))
    rule_version = forms.ModelChoiceField(queryset=RuleVersion.objects.none(), required=False,
                                          label=gettext_lazy("Value-sharing rule"))

    def __init__(self, *args: Any, person: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["reason"]
        ventures = Organisation.objects.filter(kind=OrganisationKind.VENTURE, memberships__person=person,
                                               memberships__role__in=[Role.OWNER, Role.ADMIN]).distinct()
        self.fields["venture"].queryset = ventures  # type: ignore[attr-defined]
        self.fields["rule_version"].queryset = (  # type: ignore[attr-defined]
            RuleVersion.objects.filter(rule__venture__in=ventures).select_related("rule"))


class MilestoneForm(forms.Form):
    done_on = forms.DateField(widget=forms.DateInput(attrs={"type": "date"}), label=gettext_lazy("Met on"))
    evidence = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), max_length=4000,
                               label=gettext_lazy("Evidence"))


EVENT_LABELS = {
    "contract.created": gettext_lazy("Drawn up"),
    "contract.signature": gettext_lazy("A party signed"),
    "contract.signed": gettext_lazy("Signed by every party: in force"),
    "contract.amended": gettext_lazy("Amendment proposed"),
    "contract.cancelled": gettext_lazy("Cancelled"),
    "contract.milestone": gettext_lazy("Milestone met"),
    "contract.milestone_recorded": gettext_lazy("Milestone recorded as met, to be confirmed"),
    "contract.milestone_confirmed": gettext_lazy("Milestone record confirmed"),
    "contract.bet_on": gettext_lazy("Bet-on clause decided"),
    "contract.bet_on_transfer": gettext_lazy("Bet-on outcome transferred through the ledger"),
    "contract.bet_on_transfer_refused": gettext_lazy("Bet-on transfer refused by the ledger for now"),
}


def _viewer(request: HttpRequest) -> Any:
    return request.user if request.user.is_authenticated else None


def contract_list(request: HttpRequest) -> HttpResponse:
    viewer = _viewer(request)
    mine = list(selectors.contracts_of(viewer=viewer)[:200]) if viewer is not None else []
    mine_ids = {c.pk for c in mine}
    public = [c for c in selectors.contracts_public()[:100] if c.pk not in mine_ids]
    return render(request, "contracts/list.html", {"mine": mine, "public": public})


@pages_for_domain_errors
def contract_detail(request: HttpRequest, contract_id: int) -> HttpResponse:
    viewer = _viewer(request)
    contract = selectors.contract_get(viewer=viewer, contract_id=contract_id)
    full = selectors.can_read_terms(contract=contract, viewer=viewer)
    context: dict[str, Any] = {"contract": contract, "full": full,
                               "parties": selectors.parties_of(contract=contract),
                               "timeline": [(event, EVENT_LABELS.get(event.kind, event.kind)) for event in
                                            selectors.timeline_of(contract=contract, viewer=viewer)[:100]]}
    if full:
        shown = contract.current or contract.pending
        signable = selectors.signable_parties(contract=contract, person=viewer) if viewer else []
        pending = contract.pending
        signed_parties = set(pending.signatures.values_list("party_id", flat=True)) if pending else set()
        to_sign = [p for p in signable if p.pk not in signed_parties] if pending else []
        context.update({
            "versions": selectors.versions_of(contract=contract),
            "chain": selectors.chain_verify(contract=contract),
            "shown": shown,
            "terms_json": json.dumps(shown.terms if shown else {}, indent=2, ensure_ascii=False, sort_keys=True),
            "pending_json": json.dumps(pending.terms, indent=2, ensure_ascii=False, sort_keys=True)
            if pending and contract.current else "",
            "targets": selectors.targets_measured(version=shown) if shown else [],
            "milestones": selectors.milestones_of(contract=contract, version=shown, viewer=viewer) if shown else [],
            "recording_parties": signable,
            "plans": _plans(contract) if contract.current else None,
            "bet_ons": list(shown.bet_ons.select_related("target")) if shown else [],
            "signed_parties": signed_parties,
            "to_sign": [(party, SignForm(initial={"version_hash": pending.hash, "party": party.pk}))
                        for party in to_sign] if pending else [],
            "can_act": bool(signable),
            "in_force": contract.current is not None,
            "milestone_form": MilestoneForm(),
        })
    return render(request, "contracts/detail.html", context)


def _plans(contract: Contract) -> dict[str, Any] | None:
    """Where the venture's statement shows these targets as its plan (the months they cover)."""
    from makercloud.ventures.models import Venture

    venture = Venture.objects.filter(organisation_id=contract.venture_id).first()
    if venture is None:
        return None
    months = sorted(period.label for period in services.contract_plans(venture=contract.venture))
    return {"venture": venture, "months": months} if months else None


def _back(contract: Contract) -> HttpResponse:
    return redirect("contracts:detail", contract_id=contract.pk)


@login_required
@require_POST
@pages_for_domain_errors
def contract_sign(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(viewer=request.user, contract_id=contract_id)
    form = SignForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter your password to sign."))
        return _back(contract)
    party = contract.parties.filter(pk=form.cleaned_data["party"]).first() if form.cleaned_data["party"] else None
    try:
        services.contract_sign(contract=contract, actor=request.user,  # type: ignore[arg-type]
                               password=form.cleaned_data["password"],
                               version_hash=form.cleaned_data["version_hash"], party=party)
    except DomainError as error:
        if error.status == 403 and error.type == "reauthentication-failed":
            messages.error(request, str(error.detail))
            return _back(contract)
        show_error(request, error)
        return _back(contract)
    contract.refresh_from_db()
    if contract.pending is None:
        messages.success(request, _("Signed. Every party has signed: the terms are in force."))
    else:
        messages.success(request, _("Signed. The other parties are asked to sign."))
    return _back(contract)


@login_required
@pages_for_domain_errors
def contract_amend(request: HttpRequest, contract_id: int) -> HttpResponse:
    contract = selectors.contract_get(viewer=request.user, contract_id=contract_id)
    if not selectors.signable_parties(contract=contract, person=request.user):  # type: ignore[arg-type]
        return _back(contract)
    last = contract.versions.order_by("-number").first()
    assert last is not None
    terms = last.terms
    form = AmendForm(request.POST or None, initial={
        "text": terms["text"], "targets": terms["targets"], "milestones": terms["milestones"],
        "bet_ons": terms["bet_ons"]})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.contract_amend(contract=contract, actor=request.user,  # type: ignore[arg-type]
                                    reason=data["reason"], text=data["text"], targets=data["targets"],
                                    milestones=data["milestones"], bet_ons=data["bet_ons"])
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("Amendment proposed: every party signs it again."))
            return _back(contract)
    return render(request, "contracts/amend.html", {"contract": contract, "form": form})


@login_required
def contract_new(request: HttpRequest) -> HttpResponse:
    form = ContractForm(request.POST or None, person=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        other = Organisation.objects.filter(slug=data["counterparty"]).first()
        if other is None:
            form.add_error("counterparty", _("There is no organisation with this short name."))
        else:
            venture = data["venture"]
            try:
                contract = services.contract_create(
                    actor=request.user, venture=venture, title=data["title"], text=data["text"],  # type: ignore
                    parties=[{"key": "venture", "role": _("venture"), "organisation_id": venture.pk},
                             {"key": "other", "role": data["counterparty_role"], "organisation_id": other.pk}],
                    targets=data["targets"], milestones=data["milestones"], bet_ons=data["bet_ons"],
                    rule_version=data["rule_version"])
            except DomainError as error:
                show_error(request, error)
            else:
                messages.success(request, _("Contract drawn up: every party is asked to sign."))
                return _back(contract)
    return render(request, "contracts/form.html", {"form": form})


@login_required
@require_POST
@pages_for_domain_errors
def milestone_record(request: HttpRequest, contract_id: int, key: str) -> HttpResponse:
    contract = selectors.contract_get(viewer=request.user, contract_id=contract_id)
    form = MilestoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Give the date it was met and the evidence."))
        return _back(contract)
    party_id = request.POST.get("party", "")
    party = contract.parties.filter(pk=int(party_id)).first() if party_id.isdigit() else None
    try:
        services.milestone_record(contract=contract, actor=request.user, key=key,  # type: ignore[arg-type]
                                  done_on=form.cleaned_data["done_on"], evidence=form.cleaned_data["evidence"],
                                  party=party)
    except DomainError as error:
        show_error(request, error)
    else:
        messages.success(request, _("Milestone recorded: it counts once the other parties confirm it."))
    return _back(contract)


@login_required
@require_POST
@pages_for_domain_errors
def milestone_confirm(request: HttpRequest, contract_id: int, record_id: int) -> HttpResponse:
    contract = selectors.contract_get(viewer=request.user, contract_id=contract_id)
    party_id = request.POST.get("party", "")
    party = contract.parties.filter(pk=int(party_id)).first() if party_id.isdigit() else None
    try:
        record = services.milestone_confirm(contract=contract, actor=request.user,  # type: ignore[arg-type]
                                            record_id=record_id, party=party)
    except DomainError as error:
        show_error(request, error)
    else:
        messages.success(request, _("Confirmed: the milestone counts as met.") if record.confirmed_at
                         else _("Confirmed: the record awaits the other parties' confirmation."))
    return _back(contract)


@login_required
@require_POST
@pages_for_domain_errors
def bet_on_evaluate(request: HttpRequest, contract_id: int, key: str) -> HttpResponse:
    contract = selectors.contract_get(viewer=request.user, contract_id=contract_id)
    try:
        clause = services.bet_on_evaluate(contract=contract, key=key, actor=request.user)  # type: ignore[arg-type]
    except DomainError as error:
        show_error(request, error)
    else:
        messages.success(request, _("Clause %(key)s: %(outcome)s.") % {"key": key,
                                                                      "outcome": clause.get_outcome_display()})
    return _back(contract)


urlpatterns = [
    path("contracts/", contract_list, name="list"),
    path("contracts/new/", contract_new, name="new"),
    path("contracts/<int:contract_id>/", contract_detail, name="detail"),
    path("contracts/<int:contract_id>/sign/", contract_sign, name="sign"),
    path("contracts/<int:contract_id>/amend/", contract_amend, name="amend"),
    path("contracts/<int:contract_id>/milestones/<slug:key>/", milestone_record, name="milestone"),
    path("contracts/<int:contract_id>/milestone-records/<int:record_id>/confirm/", milestone_confirm,
         name="milestone_confirm"),
    path("contracts/<int:contract_id>/bet-ons/<slug:key>/evaluate/", bet_on_evaluate, name="bet_on"),
]
