"""Automation and scene pages: the list, create and edit (devices from My home), the run log, scenes with a button."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from makercloud.accounts.models import User
from makercloud.automations import selectors, services
from makercloud.automations.forms import WEEKDAY_NAMES, AutomationForm, SceneForm, action_forms
from makercloud.automations.models import Automation, Run
from makercloud.core.errors import DomainError
from makercloud.core.views import explain, pages_for_domain_errors
from makercloud.devices import affordances
from makercloud.devices import selectors as device_selectors

RUNS_SHOWN = 50
WEEKDAY_LABELS = dict(WEEKDAY_NAMES)


def _home(person: User) -> tuple[list[tuple[str, str]], list[dict[str, Any]]]:
    """The devices to pick from (My home) and, for each, what its model offers."""
    choices, offers = [], []
    for device in device_selectors.home_of(person=person):
        model = device.model
        choices.append((device.pk, f"{device.name} · {model.title}"))
        properties = affordances.properties(model)
        offers.append({
            "device": device,
            "events": list(affordances.events(model)),
            "numbers": [n for n, s in properties.items() if s.get("type") in ("number", "integer")],
            "writable": list(affordances.writable(model)),
            "actions": {name: (spec.get("input") or {}).get("properties", {}) if isinstance(spec.get("input"), dict)
                        else {} for name, spec in affordances.actions(model).items()},
        })
    return choices, offers


def _problems(form: Any, error: DomainError) -> None:
    form.add_error(None, explain(error))
    for item in (error.extra.get("errors") or [])[:20]:
        loc = ".".join(str(part) for part in item["loc"] if part != "body")
        form.add_error(None, f"{loc}: {item['msg']}")


def describe_trigger(trigger: dict[str, Any], names: dict[str, str]) -> str:
    kind = trigger.get("kind")
    device = names.get(trigger.get("device", ""), trigger.get("device", ""))
    if kind == "event":
        return _("When %(device)s sends “%(event)s”") % {"device": device, "event": trigger["event"]}
    if kind == "threshold":
        text = (_("When %(property)s of %(device)s rises above %(threshold)s")
                if trigger["direction"] == "above" else _("When %(property)s of %(device)s falls below %(threshold)s"))
        return text % {"property": trigger["property"], "device": device, "threshold": trigger["threshold"]}
    if trigger.get("time") and trigger.get("weekdays"):
        days = ", ".join(str(WEEKDAY_LABELS.get(day, day)) for day in trigger["weekdays"])
        return _("At %(time)s on %(days)s (%(timezone)s)") % {"time": trigger["time"], "days": days,
                                                              "timezone": trigger["timezone"]}
    if trigger.get("time"):
        return _("Every day at %(time)s (%(timezone)s)") % {"time": trigger["time"], "timezone": trigger["timezone"]}
    return _("On the schedule %(cron)s (%(timezone)s)") % {"cron": trigger.get("cron"),
                                                          "timezone": trigger.get("timezone")}


def describe_action(action: dict[str, Any], names: dict[str, str]) -> str:
    device = names.get(action.get("device", ""), action.get("device", ""))
    if action["kind"] == "invoke":
        return _("Invoke “%(action)s” on %(device)s") % {"action": action["action"], "device": device}
    if action["kind"] == "set_desired":
        state = ", ".join(f"{k} = {v}" for k, v in action["state"].items())
        return _("Set %(state)s on %(device)s") % {"state": state, "device": device}
    return _("Notify me: %(title)s") % {"title": action.get("title", "")}


def _names_of(items: list[Any]) -> dict[str, str]:
    ids: set[str] = set()
    for item in items:
        trigger = getattr(item, "trigger", {}) or {}
        if trigger.get("device"):
            ids.add(trigger["device"])
        ids |= {a["device"] for a in item.actions if a.get("device")}
    return selectors.device_names(device_ids=ids)


@login_required
def automation_list(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    automations = list(selectors.automations_of(person=person)[:200])
    names = _names_of(automations)
    rows = [{"automation": a, "trigger": describe_trigger(a.trigger, names),
             "actions": [describe_action(x, names) for x in a.actions],
             "last_run": a.runs.order_by("-id").first()} for a in automations]
    return render(request, "automations/list.html", {"rows": rows})


def _edit(request: HttpRequest, automation: Automation | None) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    choices, offers = _home(person)  # only the devices in the person's home may be used (automations.access)
    gone: list[str] = []
    if automation is not None:  # devices it uses that have left the home since: named, so that they can be replaced
        known = {pk for pk, _label in choices}
        used = {d for d in [automation.trigger.get("device"), *(a.get("device") for a in automation.actions)] if d}
        gone = sorted(selectors.device_names(device_ids=used - known).values())
    data = request.POST if request.method == "POST" else None
    initial = AutomationForm.initial_of(automation) if automation is not None else None
    form = AutomationForm(data, devices=choices, initial=initial)
    actions = action_forms(data=data, devices=choices, actions=list(automation.actions) if automation else [])
    status = 200
    if data is not None:
        if form.is_valid() and all(f.is_valid() for f in actions):
            documents = [doc for f in actions if (doc := f.document()) is not None]
            try:
                if automation is None:
                    automation = services.automation_create(
                        actor=person, name=form.cleaned_data["name"], enabled=form.cleaned_data["enabled"],
                        trigger=form.trigger(), actions=documents,
                    )
                    messages.success(request, _("The automation “%(name)s” is on.") % {"name": automation.name}
                                     if automation.enabled else _("The automation is saved (off)."))
                else:
                    automation = services.automation_update(
                        actor=person, automation=automation, name=form.cleaned_data["name"],
                        enabled=form.cleaned_data["enabled"], trigger=form.trigger(), actions=documents,
                    )
                    messages.success(request, _("Saved."))
                return redirect("automations:detail", pk=automation.pk)
            except DomainError as error:
                _problems(form, error)
        status = 400
    context = {"form": form, "actions": actions, "offers": offers, "automation": automation,
               "action_count": len(actions), "gone": gone}
    if automation is not None:
        runs = list(selectors.runs_of(automation=automation)[:RUNS_SHOWN])
        names = _names_of([automation])
        context.update(runs=_shown_runs(runs, names), summary=describe_trigger(automation.trigger, names))
    return render(request, "automations/edit.html", context, status=status)


def _shown_runs(runs: list[Run], names: dict[str, str]) -> list[dict[str, Any]]:
    statuses = selectors.invocation_statuses(runs=runs)
    shown = []
    for run in runs:
        entries = []
        for entry in run.log:
            index = entry["index"]
            text = describe_action(run.actions[index], names) if index < len(run.actions) else entry["kind"]
            entries.append({**entry, "text": text, "invocation_status": statuses.get(entry.get("invocation", ""), "")})
        shown.append({"run": run, "entries": entries})
    return shown


@login_required
def automation_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@login_required
@pages_for_domain_errors
def automation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    automation = selectors.automation_get(viewer=request.user, automation_id=pk)  # type: ignore[arg-type]
    return _edit(request, automation)


@login_required
@require_POST
@pages_for_domain_errors
def automation_delete(request: HttpRequest, pk: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    automation = selectors.automation_get(viewer=person, automation_id=pk)
    services.automation_delete(actor=person, automation=automation)
    messages.success(request, _("The automation “%(name)s” is deleted.") % {"name": automation.name})
    return redirect("automations:list")


@login_required
def scene_list(request: HttpRequest) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    choices, offers = _home(person)
    data = request.POST if request.method == "POST" else None
    form = SceneForm(data)
    actions = action_forms(data=data, devices=choices, actions=[], extra=3)
    status = 200
    if data is not None:
        if form.is_valid() and all(f.is_valid() for f in actions):
            documents = [doc for f in actions if (doc := f.document()) is not None]
            try:
                scene = services.scene_create(actor=person, name=form.cleaned_data["name"], actions=documents)
            except DomainError as error:
                _problems(form, error)
            else:
                messages.success(request, _("The scene “%(name)s” is ready.") % {"name": scene.name})
                return redirect("automations:scenes")
        status = 400
    scenes = list(selectors.scenes_of(person=person))
    names = _names_of(scenes)
    rows = [{"scene": s, "actions": [describe_action(a, names) for a in s.actions]} for s in scenes]
    recent = list(selectors.recent_scene_runs(person=person))
    context = {"rows": rows, "form": form, "actions": actions, "offers": offers, "action_count": len(actions),
               "runs": _shown_runs(recent, _names_of([run for run in recent])) if recent else []}
    return render(request, "automations/scenes.html", context, status=status)


@login_required
@require_POST
@pages_for_domain_errors
def scene_run(request: HttpRequest, pk: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    scene = selectors.scene_get(viewer=person, scene_id=pk)
    key = request.POST.get("idempotency_key", "")[:200]
    run, created = services.scene_run(actor=person, scene=scene, idempotency_key=key)
    if not created:
        messages.info(request, _("“%(name)s” already ran for this tap.") % {"name": scene.name})
    elif run.status == "done":
        messages.success(request, _("“%(name)s” ran.") % {"name": scene.name})
    else:
        messages.error(request, _("“%(name)s” did not fully run: %(detail)s") % {
            "name": scene.name, "detail": run.detail or _("see the run below")})
    return redirect("automations:scenes")


@login_required
@require_POST
@pages_for_domain_errors
def scene_delete(request: HttpRequest, pk: int) -> HttpResponse:
    person: User = request.user  # type: ignore[assignment]
    scene = selectors.scene_get(viewer=person, scene_id=pk)
    services.scene_delete(actor=person, scene=scene)
    messages.success(request, _("The scene “%(name)s” is deleted.") % {"name": scene.name})
    return redirect("automations:scenes")
