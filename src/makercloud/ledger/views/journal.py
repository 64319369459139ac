"""ledger pages: the journal — my accounts and balances, transfer history with filters, and the public checkpoints
and figures page."""

from datetime import UTC, datetime, time
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.utils.translation import get_language, gettext_lazy
from django.utils.translation import gettext as _

from makercloud.accounts.models import User
from makercloud.core.money import Money
from makercloud.core.views import pages_for_domain_errors
from makercloud.ledger.models.journal import Account, AccountPurpose, Transfer, TransferCode, TransferKind
from makercloud.ledger.selectors import journal as selectors

PAGE = 50


def _money(amount: int, currency: str) -> str:
    return Money(amount, currency).format(get_language() or "en")


def account_label(account: Account, *, viewer: User | None = None) -> str:
    """An account as a person reads it. Another person's account is not named."""
    purpose = AccountPurpose(account.purpose).label
    if account.organisation_id:
        owner = str(account.organisation)
    elif viewer is not None and account.person_id == viewer.pk:
        owner = _("You")
    else:
        owner = _("a person")
    return f"{owner} · {purpose} · {account.currency}"


@login_required
def accounts(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    groups: dict[str, list[dict[str, Any]]] = {}
    for account in selectors.accounts_of(person=person):
        balance = selectors.balance_of(account=account)
        owner = str(account.organisation) if account.organisation_id else _("You")
        groups.setdefault(owner, []).append({
            "account": account,
            "purpose": AccountPurpose(account.purpose).label,
            "posted": _money(balance.net_credit, account.currency),
            "debits_pending": _money(balance.debits_pending, account.currency),
            "credits_pending": _money(balance.credits_pending, account.currency),
            "available": _money(balance.net_credit - balance.debits_pending, account.currency),
        })
    return render(request, "ledger/journal/accounts.html", {"groups": groups, "nav_section": "ledger"})


class HistoryFilters(forms.Form):
    account = forms.TypedChoiceField(label=gettext_lazy("Account"), required=False, coerce=int, empty_value=None)
    code = forms.ChoiceField(label=gettext_lazy("Code"), required=False)
    since = forms.DateField(label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=gettext_lazy("To (inclusive)"), required=False,
                            widget=forms.DateInput(attrs={"type": "date"}))
    before = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def __init__(self, *args: Any, accounts: list[Account], viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["account"].choices = [("", _("All my accounts"))] + [  # type: ignore[attr-defined]
            (a.pk, account_label(a, viewer=viewer)) for a in accounts
        ]
        self.fields["code"].choices = [("", _("Any")), *TransferCode.choices]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            raise forms.ValidationError(_("The period ends before it starts."))
        return data


@login_required
@pages_for_domain_errors
def transfers(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    mine = list(selectors.accounts_of(person=person))
    form = HistoryFilters(request.GET or None, accounts=mine, viewer=person)
    rows: list[dict[str, Any]] = []
    older: str | None = None
    if form.is_bound and not form.is_valid():
        items: list[Transfer] = []
    else:
        data = form.cleaned_data if form.is_bound else {}
        account = next((a for a in mine if a.pk == data.get("account")), None)
        since = datetime.combine(data["since"], time.min, tzinfo=UTC) if data.get("since") else None
        until = datetime.combine(data["until"], time.max, tzinfo=UTC) if data.get("until") else None
        history = selectors.transfers_visible_to(
            person=person, account=account, code=data.get("code") or None, since=since, until=until
        )
        if account is None:  # "my" history: my accounts, not every transfer an operator could see
            history = history.filter(pk__in=selectors.transfers_touching(accounts=mine).values("pk"))
        if data.get("before"):
            history = history.filter(seq__lt=data["before"])
        items = list(history[: PAGE + 1])
        if len(items) > PAGE:
            items = items[:PAGE]
            query = request.GET.copy()
            query["before"] = str(items[-1].seq)
            older = query.urlencode()
    own = {a.pk for a in mine}
    for transfer in items:
        rows.append({
            "transfer": transfer,
            "kind": TransferKind(transfer.kind).label,
            "code": TransferCode(transfer.code).label,
            "debit": account_label(transfer.debit_account, viewer=person),
            "credit": account_label(transfer.credit_account, viewer=person),
            "amount": _money(transfer.amount, transfer.currency),
            "direction": "out" if transfer.debit_account_id in own and transfer.credit_account_id not in own
            else "in" if transfer.credit_account_id in own and transfer.debit_account_id not in own else "",
        })
    return render(request, "ledger/journal/transfers.html",
                  {"form": form, "rows": rows, "older": older, "nav_section": "ledger"})


def checkpoints(request: HttpRequest) -> HttpResponse:
    """Public: the chain's checkpoints and the ledger's aggregate figures, nothing about any account."""
    figures = selectors.ledger_figures()
    listed = selectors.checkpoints_public()
    before = request.GET.get("before", "")
    if before.isdigit():
        listed = listed.filter(seq__lt=int(before))
    items = list(listed[: PAGE + 1])
    older = str(items[PAGE - 1].seq) if len(items) > PAGE else None
    return render(request, "ledger/journal/checkpoints.html", {
        "figures": figures,
        "volume": [_money(amount, currency) for currency, amount in figures.volume.items()],
        "checkpoints": items[:PAGE],
        "older": older,
    })


urlpatterns = [
    path("ledger/accounts/", accounts, name="accounts"),
    path("ledger/transfers/", transfers, name="transfers"),
    path("ledger/checkpoints/", checkpoints, name="checkpoints"),
]
