"""developers pages: webhooks — an app's endpoints (the secret shown once, rotation, circuit state and reset), its
delivery log, and one delivery with every attempt's request and response and a replay button.

Thin: parse, call one service or selector, render. The app's venture members change things; operators read.
"""

import json
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from makercloud.accounts.models import User
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors, show_error
from makercloud.developers.errors import NotAppMaker
from makercloud.developers.models import EVENT_TYPES, App, DeliveryState
from makercloud.developers.selectors import webhooks as selectors
from makercloud.developers.selectors.clients import app_get_for_maker
from makercloud.developers.services import clients as clients_services
from makercloud.developers.services import webhooks as services

PAGE = 50


class EndpointForm(forms.Form):
    url = forms.CharField(label=gettext_lazy("URL"), max_length=2000,
                          help_text=gettext_lazy("https://…, or http://localhost… for development."),
                          widget=forms.URLInput(attrs={"placeholder": "https://example.com/webhooks"}))
    event_types = forms.MultipleChoiceField(label=gettext_lazy("Event types"), choices=list(EVENT_TYPES.items()),
                                            widget=forms.CheckboxSelectMultiple)
    description = forms.CharField(label=gettext_lazy("Description"), max_length=200, required=False)


class DeliveryFilterForm(forms.Form):
    state = forms.ChoiceField(label=gettext_lazy("State"), required=False,
                              choices=[("", gettext_lazy("any")), *DeliveryState.choices])
    event_type = forms.ChoiceField(label=gettext_lazy("Event type"), required=False,
                                   choices=[("", gettext_lazy("any"))] + [(t, t) for t in EVENT_TYPES])
    endpoint = forms.IntegerField(label=gettext_lazy("Endpoint"), required=False, min_value=1, max_value=2**63 - 1)
    device = forms.RegexField(label=gettext_lazy("Device"), required=False, regex=r"^[a-z0-9]{1,32}$")
    before = forms.IntegerField(required=False, min_value=1, max_value=2**63 - 1, widget=forms.HiddenInput)


def _is_maker(person: Any, app: App) -> bool:
    return clients_services.is_app_manager(person=person, venture=app.venture)


@login_required
@pages_for_domain_errors
def endpoints(request: HttpRequest, app_id: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    app = app_get_for_maker(actor=person, app_id=app_id)
    is_maker = _is_maker(person, app)
    if request.method == "POST" and not is_maker:
        raise NotAppMaker()
    form = EndpointForm(request.POST if request.method == "POST" else None)
    created = None
    status = 200
    if request.method == "POST" and is_maker and form.is_valid():
        try:
            endpoint, secret = services.webhook_endpoint_create(
                actor=person, app=app, url=form.cleaned_data["url"], event_types=form.cleaned_data["event_types"],
                description=form.cleaned_data["description"],
            )
            created = {"endpoint": endpoint, "secret": secret}
            form = EndpointForm()
        except DomainError as error:
            form.add_error(None, explain(error))
    if form.errors:
        status = 400
    return render(request, "developers/webhooks/endpoints.html", {
        "app": app, "is_maker": is_maker, "endpoints": list(selectors.endpoints_of(app=app)), "form": form,
        "created": created, "rotated": None, "counts": selectors.delivery_counts(app=app),
        "event_types": EVENT_TYPES,
    }, status=status)


@login_required
@require_POST
@pages_for_domain_errors
def endpoint_manage(request: HttpRequest, app_id: int, endpoint_id: int, what: str) -> HttpResponse:
    """rotate (shows the new secret once), reset (closes the circuit), enable, disable, delete."""
    person: User = request.user  # type: ignore[assignment]
    endpoint = selectors.webhook_endpoint_get(actor=person, app_id=app_id, endpoint_id=endpoint_id)
    app = endpoint.app
    try:
        if what == "rotate":
            secret = services.webhook_endpoint_rotate_secret(actor=person, endpoint=endpoint)
            return render(request, "developers/webhooks/endpoints.html", {
                "app": app, "is_maker": True, "endpoints": list(selectors.endpoints_of(app=app)),
                "form": EndpointForm(), "created": None, "rotated": {"endpoint": endpoint, "secret": secret},
                "counts": selectors.delivery_counts(app=app), "event_types": EVENT_TYPES,
            })
        if what == "reset":
            services.webhook_endpoint_reset_circuit(actor=person, endpoint=endpoint)
            messages.success(request, _("The circuit is closed: waiting deliveries are being sent."))
        elif what in {"enable", "disable"}:
            services.webhook_endpoint_update(actor=person, endpoint=endpoint, enabled=what == "enable")
            messages.success(request, _("The endpoint is enabled.") if what == "enable" else
                             _("The endpoint is paused; its pending deliveries are cancelled."))
        elif what == "delete":
            services.webhook_endpoint_delete(actor=person, endpoint=endpoint)
            messages.success(request, _("The endpoint and its delivery log are removed."))
        else:
            messages.error(request, _("Unknown action."))
    except DomainError as error:
        show_error(request, error)
    return redirect("developers:webhooks", app_id=app.pk)


@login_required
@pages_for_domain_errors
def deliveries(request: HttpRequest, app_id: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    app = app_get_for_maker(actor=person, app_id=app_id)
    filters = DeliveryFilterForm(request.GET or None)
    chosen: dict[str, Any] = filters.cleaned_data if filters.is_valid() else {}
    rows = selectors.deliveries_of(
        app=app, state=chosen.get("state") or None, event_type=chosen.get("event_type") or None,
        endpoint_id=chosen.get("endpoint"), device_id=chosen.get("device") or None,
    )
    if chosen.get("before"):
        rows = rows.filter(pk__lt=chosen["before"])
    page = list(rows[: PAGE + 1])
    more = len(page) > PAGE
    page = page[:PAGE]
    query = request.GET.copy()
    if more:
        query["before"] = str(page[-1].pk)
    return render(request, "developers/webhooks/deliveries.html", {
        "app": app, "deliveries": page, "filters": filters, "next_query": query.urlencode() if more else None,
        "counts": selectors.delivery_counts(app=app),
    }, status=200 if filters.is_bound is False or filters.is_valid() else 400)


@login_required
@pages_for_domain_errors
def delivery_detail(request: HttpRequest, app_id: int, delivery_id: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    delivery = selectors.delivery_get(actor=person, app_id=app_id, delivery_id=delivery_id)
    if request.method == "POST":
        if not _is_maker(person, delivery.app):
            raise NotAppMaker()
        try:
            services.delivery_replay(actor=person, delivery=delivery)
            messages.success(request, _("The delivery is queued to be sent again."))
        except DomainError as error:
            show_error(request, error)
        return redirect("developers:delivery", app_id=delivery.app_id, delivery_id=delivery.pk)
    try:
        payload = json.dumps(json.loads(delivery.body), indent=2, ensure_ascii=False)
    except ValueError:
        payload = delivery.body
    return render(request, "developers/webhooks/delivery.html", {
        "app": delivery.app, "delivery": delivery, "payload": payload, "attempts": list(delivery.attempt_log.all()),
        "is_maker": _is_maker(person, delivery.app),
        "replayable": delivery.state in {DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.CANCELLED},
    })


urlpatterns: list[URLPattern] = [
    path("developers/apps/<int:app_id>/webhooks/", endpoints, name="webhooks"),
    path("developers/apps/<int:app_id>/webhooks/<int:endpoint_id>/<str:what>", endpoint_manage,
         name="webhook_manage"),
    path("developers/apps/<int:app_id>/deliveries/", deliveries, name="deliveries"),
    path("developers/apps/<int:app_id>/deliveries/<int:delivery_id>/", delivery_detail, name="delivery"),
]
