"""Device pages: a venture's device models and fleet, a model's Thing Description, a user's home, a device."""

import json
from datetime import datetime
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from makercloud.accounts import selectors as accounts_selectors
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors, show_error
from makercloud.devices import affordances, selectors, services
from makercloud.devices.forms import ClaimForm, ProvisionForm, PublishForm, form_value, schema_form
from makercloud.devices.models import Device, InvocationStatus
from makercloud.ventures import selectors as ventures_selectors

CHART_WIDTH, CHART_HEIGHT = 320, 80


def _rejections(organisation: Any) -> tuple[list[Any], dict[str, int]]:
    """What the gateway dropped from the fleet's devices: the latest rows, and a total per device."""
    from makercloud.gateway.selectors import rejections_for

    rows = list(rejections_for(organisation=organisation)[:200])
    per_device: dict[str, int] = {}
    for row in rows:
        per_device[row.device_id] = per_device.get(row.device_id, 0) + row.count
    return rows[:20], per_device


@login_required
@pages_for_domain_errors
def fleet(request: HttpRequest, slug: str) -> HttpResponse:
    venture = ventures_selectors.venture_by_slug(slug=slug)
    organisation, person = venture.organisation, request.user
    if not (accounts_selectors.is_member(person=person, organisation=organisation)  # type: ignore[arg-type]
            or accounts_selectors.is_operator(person=person)):  # type: ignore[arg-type]
        raise Http404(_("There is no such venture."))
    can_manage = accounts_selectors.can_manage(person=person, organisation=organisation)  # type: ignore[arg-type]
    usable = selectors.device_models_usable_by(organisation=organisation)
    publish_form = PublishForm(request.POST if request.POST.get("form") == "publish" else None)
    provision_form = ProvisionForm(request.POST if request.POST.get("form") == "provision" else None, models=usable)
    provisioned = None
    status = 200
    if request.method == "POST" and can_manage:
        try:
            if publish_form.is_bound and publish_form.is_valid():
                model, created = services.device_model_publish(
                    actor=person, organisation=organisation,  # type: ignore[arg-type]
                    document=publish_form.cleaned_data["document"],
                    retention_days=publish_form.cleaned_data["retention_days"],
                )
                messages.success(request, _("%(title)s v%(version)s is published.") % {
                    "title": model.title, "version": model.version} if created else
                    _("This document is already the latest version."))
                return redirect("devices:model", pk=model.pk)
            if provision_form.is_bound and provision_form.is_valid():
                device, secret, claim_code = services.device_provision(
                    actor=person, organisation=organisation, **provision_form.cleaned_data  # type: ignore[arg-type]
                )
                provisioned = {"device": device, "secret": secret, "claim_code": claim_code,
                               "mqtt": services.mqtt_endpoint()}
                provision_form = ProvisionForm(models=usable)
        except DomainError as error:
            errors = error.extra.get("errors") or []
            target = publish_form if publish_form.is_bound else provision_form
            target.add_error(None, explain(error))
            for item in errors[:20]:
                target.add_error(None, f"{item['loc']}: {item['msg']}")
        if publish_form.errors or provision_form.errors:
            status = 400
    rejections, rejected = _rejections(organisation)
    devices = list(selectors.devices_of(organisation=organisation)[:200])
    for device in devices:
        device.rejected = rejected.get(device.pk, 0)  # type: ignore[attr-defined]
    context = {
        "venture": venture,
        "can_manage": can_manage,
        "models": selectors.device_models_of(organisation=organisation),
        "devices": devices,
        "summary": selectors.fleet_summary(organisation=organisation),
        "rejections": rejections,
        "publish_form": publish_form,
        "provision_form": provision_form,
        "provisioned": provisioned,
    }
    return render(request, "devices/fleet.html", context, status=status)


@login_required
@pages_for_domain_errors
def model_detail(request: HttpRequest, pk: int) -> HttpResponse:
    model = selectors.device_model_get(model_id=pk)
    context = {
        "model": model,
        "properties": affordances.properties(model),
        "actions": affordances.actions(model),
        "events": affordances.events(model),
        "raw": json.dumps(model.document, indent=2, ensure_ascii=False),
        "in_use": selectors.device_model_in_use(model=model),
    }
    return render(request, "devices/model.html", context)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    form = ClaimForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.device_claim(actor=request.user, code=form.cleaned_data["code"])  # type: ignore[arg-type]
        except DomainError as error:
            form.add_error("code", explain(error))
        else:
            messages.success(request, _("%(name)s is now in your home.") % {"name": device.name})
            return redirect("devices:home")
    devices = [_panel(request, device) for device in selectors.home_of(person=request.user)]  # type: ignore[arg-type]
    return render(request, "devices/home.html", {"form": form, "panels": devices}, status=400 if form.errors else 200)


@login_required
@pages_for_domain_errors
def device_detail(request: HttpRequest, device_id: str) -> HttpResponse:
    device = selectors.device_get(viewer=request.user, device_id=device_id)  # type: ignore[arg-type]
    return render(request, "devices/device.html", {"panel": _panel(request, device)})


@login_required
@pages_for_domain_errors
def device_live(request: HttpRequest, device_id: str) -> HttpResponse:
    """The part of a device's panel that changes: polled by htmx every few seconds."""
    device = selectors.device_get(viewer=request.user, device_id=device_id)  # type: ignore[arg-type]
    return render(request, "devices/_live.html", {"panel": _live(device)})


@login_required
@require_POST
@pages_for_domain_errors
def device_invoke(request: HttpRequest, device_id: str, action: str) -> HttpResponse:
    person = request.user
    device = selectors.device_for_control(viewer=person, device_id=device_id)  # type: ignore[arg-type]
    spec = affordances.action_spec(device.model, action)
    form = schema_form(spec.input, prefix=f"a-{action}", data=request.POST)
    if form.is_valid():
        try:
            services.invocation_request(
                actor=person, device=device, action=action, input=form_value(form, spec.input),  # type: ignore[arg-type]
            )
        except DomainError as error:
            show_error(request, error)
        else:
            messages.success(request, _("Sent “%(action)s” to %(name)s.") % {"action": action, "name": device.name})
    else:
        problems = "; ".join(f"{k}: {' '.join(str(m) for m in v)}" for k, v in form.errors.items())
        messages.error(request, _("The input for “%(action)s” is not valid: %(errors)s") % {
            "action": action, "errors": problems})
    return redirect(request.POST.get("next") or "devices:device", device_id=device.pk)


@login_required
@require_POST
@pages_for_domain_errors
def device_manage(request: HttpRequest, device_id: str, what: str) -> HttpResponse:
    """Unbind, disable, enable or rotate the secret (shown once on the next page)."""
    person = request.user
    device = selectors.device_get(viewer=person, device_id=device_id)  # type: ignore[arg-type]
    try:
        if what == "unbind":
            services.device_unbind(actor=person, device=device)  # type: ignore[arg-type]
            messages.success(request, _("%(name)s has left the home.") % {"name": device.name})
            return redirect("devices:home")
        if what in ("enable", "disable"):
            services.device_set_enabled(actor=person, device=device, enabled=what == "enable")  # type: ignore[arg-type]
        elif what == "secret":
            secret = services.device_rotate_secret(actor=person, device=device)  # type: ignore[arg-type]
            messages.warning(request, _("The new secret of %(name)s, shown this once: %(secret)s") % {
                "name": device.name, "secret": secret})
        else:
            raise Http404
    except DomainError as error:
        show_error(request, error)
    return redirect("devices:device", device_id=device.pk)


# What a device panel shows --------------------------------------------------------------------------------------


def _panel(request: HttpRequest, device: Device) -> dict[str, Any]:
    person = request.user
    controls = selectors.can_control(person=person, device=device)  # type: ignore[arg-type]
    action_forms = []
    if controls:
        for name in affordances.actions(device.model):
            spec = affordances.action_spec(device.model, name)
            action_forms.append({"name": name, "spec": spec, "form": schema_form(spec.input, prefix=f"a-{name}")})
    services.invocations_expire(device=device)
    return {
        **_live(device),
        "controls": controls,
        "manages": accounts_selectors.can_manage(person=person, organisation=device.organisation),  # type: ignore[arg-type]
        "owns": device.owner_id == person.pk,
        "actions": action_forms,
        "invocations": list(selectors.invocations_of(device=device)[:10]),
        "pending": InvocationStatus.PENDING,
    }


def _live(device: Device) -> dict[str, Any]:
    properties = affordances.properties(device.model)
    latest = selectors.latest_values(device=device, names=list(properties))
    rows = [
        {"name": name, "unit": spec.get("unit", ""),
         "latest": (_shown(latest[name][0]), latest[name][1]) if name in latest else None,
         "reported": _shown(device.reported.get(name)), "desired": _shown(device.desired.get(name)),
         "differs": name in selectors.delta_of(device=device)}
        for name, spec in properties.items()
    ]
    numeric = [name for name, spec in properties.items() if spec.get("type") in ("number", "integer")]
    series = {name: selectors.recent_series(device=device, name=name) for name in numeric[:2]}
    charts = [chart for name, points in series.items() if (chart := _chart(name, points))]
    return {"device": device, "rows": rows, "charts": charts}


def _shown(value: Any) -> Any:
    """A value as the device model writes it: JSON's true/false rather than Python's True/False."""
    return json.dumps(value) if isinstance(value, bool) else value


def _chart(name: str, series: list[tuple[datetime, float]]) -> dict[str, Any] | None:
    """A small server-side SVG line of the last points: the polyline's coordinates and the range it spans."""
    if len(series) < 2:
        return None
    values = [value for _ts, value in series]
    low, high = min(values), max(values)
    span = (high - low) or 1.0
    step = CHART_WIDTH / (len(series) - 1)
    points = " ".join(
        f"{i * step:.1f},{CHART_HEIGHT - 4 - (value - low) / span * (CHART_HEIGHT - 8):.1f}"
        for i, value in enumerate(values)
    )
    return {"name": name, "points": points, "low": low, "high": high, "last": values[-1],
            "width": CHART_WIDTH, "height": CHART_HEIGHT, "since": series[0][0]}
