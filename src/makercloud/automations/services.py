"""Every write about automations and scenes.

A trigger or an action names devices; each must be one the automation may use (`access`: a device in the person's
home; for an app acting with an OAuth token, a device of its grant). Events,
properties and actions must exist in the device's model and inputs and desired states fit their schemas
(devices.affordances). Problems are collected, each located (`loc`) in the request body, and raised together.

Shapes (also the API's bodies):
  trigger  {"kind": "event", "device", "event", "match"?}
           {"kind": "threshold", "device", "property", "direction": "above"|"below", "threshold", "hysteresis"?}
           {"kind": "schedule", "cron": "30 7 * * 1-5" | "time": "07:30", "weekdays"?: ["mon", …], "timezone"}
  action   {"kind": "invoke", "device", "action", "input"?} · {"kind": "set_desired", "device", "state"}
           {"kind": "notify", "title", "body"?}
"""

from collections.abc import Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.automations import access, matching, schedules
from makercloud.automations.errors import DeviceNotControllable, InvalidAutomation
from makercloud.automations.models import Automation, AutomationDevice, Run, RunStatus, Scene, TriggerKind
from makercloud.core.errors import DomainError
from makercloud.core.events import record_event
from makercloud.developers.models import Grant
from makercloud.devices import affordances
from makercloud.devices import selectors as device_selectors
from makercloud.devices.models import Device

MAX_ACTIONS = 20
ACTION_KINDS = ("invoke", "set_desired", "notify")
Loc = list[str | int]


class _Checker:
    """Collects the problems of one trigger and its actions, and the devices they use."""

    def __init__(self, *, actor: User, grant: Grant | None) -> None:
        self.actor, self.grant = actor, grant
        self.rule = access.DeviceRule(person=actor, grant=grant)
        self.problems: list[dict[str, Any]] = []
        self.refused: list[dict[str, Any]] = []
        self.devices: dict[str, Device] = {}

    def problem(self, loc: Loc, msg: str) -> None:
        self.problems.append({"loc": loc, "msg": msg})

    def device(self, device_id: Any, loc: Loc) -> Device | None:
        if not isinstance(device_id, str) or not device_id:
            self.problem(loc, "a device id is required")
            return None
        if device_id in self.devices:
            return self.devices[device_id]
        device = Device.objects.select_related("model", "organisation").filter(pk=device_id[:32]).first()
        if device is None or not self.rule.allows(device):
            self.refused.append({"loc": loc, "msg": self.rule.refusal_on_saving(device_id)})
            return None
        self.devices[device_id] = device
        return device

    def located(self, error: DomainError, loc: Loc, strip: int) -> None:
        """Re-locate a devices error (its `errors` start with ["body", "input"|"state"]) under `loc`."""
        items = error.extra.get("errors") or [{"loc": [], "msg": str(error.detail)}]
        for item in items:
            self.problem([*loc, *list(item["loc"])[strip:]], str(item["msg"]))

    def raise_if_any(self) -> None:
        if self.refused:
            raise DeviceNotControllable(detail=" ".join(dict.fromkeys(p["msg"] for p in self.refused)),
                                        errors=self.refused)
        if self.problems:
            raise InvalidAutomation(detail="; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}"
                                                     for p in self.problems[:10]), errors=self.problems)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _check_trigger(check: _Checker, trigger: Any) -> dict[str, Any]:
    loc: Loc = ["body", "trigger"]
    if not isinstance(trigger, dict) or trigger.get("kind") not in TriggerKind.values:
        check.problem([*loc, "kind"], "the trigger's kind is event, threshold or schedule")
        return {}
    kind = trigger["kind"]
    if kind == TriggerKind.SCHEDULE:
        tz = trigger.get("timezone") or "UTC"
        try:
            schedules.zone(tz)
            if trigger.get("cron") and trigger.get("time"):
                raise schedules.InvalidSchedule("give either cron or time, not both")
            if trigger.get("cron"):
                cron = " ".join(str(trigger["cron"]).split())
                schedules.parse_cron(cron)
                spec = {"kind": kind, "cron": cron, "timezone": tz}
            elif trigger.get("time"):
                cron = schedules.daily_cron(str(trigger["time"]), trigger.get("weekdays"))
                spec = {"kind": kind, "time": trigger["time"], "weekdays": trigger.get("weekdays") or [],
                        "cron": cron, "timezone": tz}
            else:
                raise schedules.InvalidSchedule("a schedule needs cron or time")
        except schedules.InvalidSchedule as error:
            check.problem(loc, str(error))
            return {}
        if schedules.next_after(cron=spec["cron"], timezone=tz, after=timezone.now()) is None:
            check.problem([*loc, "cron"], "this schedule never fires")
        return spec
    device = check.device(trigger.get("device"), [*loc, "device"])
    if device is None:
        return {}
    if kind == TriggerKind.EVENT:
        event = trigger.get("event")
        if event not in affordances.events(device.model):
            check.problem([*loc, "event"], f"{device.model.title} has no event {event!r}")
        return {"kind": kind, "device": device.pk, "event": event, "match": trigger.get("match")}
    prop = trigger.get("property")
    spec_of = affordances.properties(device.model).get(prop) if isinstance(prop, str) else None
    if spec_of is None:
        check.problem([*loc, "property"], f"{device.model.title} has no property {prop!r}")
    elif spec_of.get("type") not in ("number", "integer"):
        check.problem([*loc, "property"], f"{prop!r} is not a number, so it cannot cross a threshold")
    if trigger.get("direction") not in ("above", "below"):
        check.problem([*loc, "direction"], "the direction is above or below")
    if not _number(trigger.get("threshold")):
        check.problem([*loc, "threshold"], "the threshold is a number")
    hysteresis = trigger.get("hysteresis", 0) or 0
    if not _number(hysteresis) or hysteresis < 0:
        check.problem([*loc, "hysteresis"], "the hysteresis is a number, zero or more")
    return {"kind": kind, "device": device.pk, "property": prop, "direction": trigger.get("direction"),
            "threshold": trigger.get("threshold"), "hysteresis": hysteresis}


def _check_actions(check: _Checker, actions: Any) -> list[dict[str, Any]]:
    if not isinstance(actions, list) or not actions:
        check.problem(["body", "actions"], "at least one action is needed")
        return []
    if len(actions) > MAX_ACTIONS:
        check.problem(["body", "actions"], f"at most {MAX_ACTIONS} actions")
        return []
    checked = []
    for index, action in enumerate(actions):
        loc: Loc = ["body", "actions", index]
        kind = action.get("kind") if isinstance(action, dict) else None
        if kind not in ACTION_KINDS:
            check.problem([*loc, "kind"], "an action's kind is invoke, set_desired or notify")
            continue
        assert isinstance(action, dict)
        if kind == "notify":
            title = str(action.get("title") or "").strip()
            if not title:
                check.problem([*loc, "title"], "a notification needs a title")
            checked.append({"kind": kind, "title": title[:200], "body": str(action.get("body") or "")[:2000]})
            continue
        device = check.device(action.get("device"), [*loc, "device"])
        if device is None:
            continue
        if kind == "invoke":
            name = action.get("action")
            try:
                affordances.check_invocation(model=device.model, action=str(name), input=action.get("input"))
            except DomainError as error:
                if error.extra.get("errors"):
                    check.located(error, [*loc, "input"], 2)
                else:
                    check.problem([*loc, "action"], str(error.detail))
            checked.append({"kind": kind, "device": device.pk, "action": name, "input": action.get("input")})
        else:
            state = action.get("state")
            if not isinstance(state, dict) or not state:
                check.problem([*loc, "state"], "a desired state is an object of properties")
                continue
            try:
                affordances.check_desired(model=device.model, state=state)
            except DomainError as error:
                check.located(error, [*loc, "state"], 2)
            checked.append({"kind": kind, "device": device.pk, "state": state})
    return checked


def _initially_armed(trigger: dict[str, Any], device: Device | None) -> bool:
    """A threshold starts armed unless the value is already past it: it fires on crossing, not on creation."""
    if trigger.get("kind") != TriggerKind.THRESHOLD or device is None:
        return True
    value = device.reported.get(trigger["property"])
    if not _number(value):
        latest = device_selectors.latest_values(device=device, names=[trigger["property"]])
        value = latest.get(trigger["property"], (None, None))[0]
    if not _number(value):
        return True
    return not (value > trigger["threshold"] if trigger["direction"] == "above" else value < trigger["threshold"])


def _index_devices(automation: Automation, trigger_device: str | None, actions: Sequence[dict[str, Any]]) -> None:
    before = set(AutomationDevice.objects.filter(automation=automation).values_list("device_id", flat=True))
    AutomationDevice.objects.filter(automation=automation).delete()
    rows = {(trigger_device, True)} if trigger_device else set()
    rows |= {(action["device"], False) for action in actions if action.get("device")}
    AutomationDevice.objects.bulk_create(
        [AutomationDevice(automation=automation, device_id=device_id, trigger=is_trigger)
         for device_id, is_trigger in rows]
    )
    changed = before | {device_id for device_id, _ in rows}
    transaction.on_commit(lambda: matching.index.forget(changed))


@transaction.atomic
def automation_create(
    *, actor: User, name: str, trigger: Any, actions: Any, enabled: bool = True, grant: Grant | None = None
) -> Automation:
    check = _Checker(actor=actor, grant=grant)
    spec = _check_trigger(check, trigger)
    checked = _check_actions(check, actions)
    check.raise_if_any()
    automation = Automation(
        owner=actor, grant_id=getattr(grant, "pk", None), name=name.strip()[:120], enabled=enabled,
        trigger_kind=spec["kind"], trigger=spec, actions=checked,
        armed=_initially_armed(spec, check.devices.get(spec.get("device", ""))),
    )
    if spec["kind"] == TriggerKind.SCHEDULE:
        automation.next_run_at = schedules.next_after(cron=spec["cron"], timezone=spec["timezone"],
                                                      after=timezone.now())
    automation.save()
    _index_devices(automation, spec.get("device"), checked)
    record_event(actor=actor, subject=automation, kind="automation.created",
                 data={"name": automation.name, "trigger": spec["kind"], "actions": len(checked)})
    return automation


def _for_update(automation: Automation) -> Automation:
    return Automation.objects.select_for_update().get(pk=automation.pk)


@transaction.atomic
def automation_update(
    *, actor: User, automation: Automation, name: str | None = None, enabled: bool | None = None,
    trigger: Any = None, actions: Any = None, grant: Grant | None = None,
) -> Automation:
    """Change an automation (its owner, or the app that created it). A new trigger or new actions are checked as on
    creation; a changed trigger re-arms its threshold and recomputes its schedule."""
    automation = _for_update(automation)
    check = _Checker(actor=actor, grant=grant)
    spec = _check_trigger(check, trigger) if trigger is not None else automation.trigger
    checked = _check_actions(check, actions) if actions is not None else automation.actions
    if trigger is None and actions is None and enabled:
        # turning it back on: its devices must still be the person's to control
        _check_trigger(check, automation.trigger)
        _check_actions(check, automation.actions)
    check.raise_if_any()
    if name is not None:
        automation.name = name.strip()[:120]
    if trigger is not None:
        automation.trigger_kind, automation.trigger = spec["kind"], spec
        automation.armed = _initially_armed(spec, check.devices.get(spec.get("device", "")))
    automation.actions = checked
    was_enabled = automation.enabled
    if enabled is not None:
        automation.enabled = enabled
    if automation.trigger_kind == TriggerKind.SCHEDULE and (trigger is not None or (enabled and not was_enabled)):
        automation.next_run_at = schedules.next_after(cron=spec["cron"], timezone=spec["timezone"],
                                                      after=timezone.now())
    elif automation.trigger_kind != TriggerKind.SCHEDULE:
        automation.next_run_at = None
    automation.save()
    _index_devices(automation, automation.trigger.get("device"), automation.actions)
    record_event(actor=actor, subject=automation, kind="automation.changed",
                 data={"name": automation.name, "enabled": automation.enabled})
    return automation


@transaction.atomic
def automation_delete(*, actor: User, automation: Automation) -> None:
    devices = set(AutomationDevice.objects.filter(automation=automation).values_list("device_id", flat=True))
    record_event(actor=actor, subject=automation, kind="automation.deleted", data={"name": automation.name})
    automation.delete()
    transaction.on_commit(lambda: matching.index.forget(devices))


# Scenes --------------------------------------------------------------------------------------------------------


@transaction.atomic
def scene_create(*, actor: User, name: str, actions: Any, grant: Grant | None = None) -> Scene:
    check = _Checker(actor=actor, grant=grant)
    checked = _check_actions(check, actions)
    check.raise_if_any()
    scene = Scene.objects.create(owner=actor, grant_id=getattr(grant, "pk", None), name=name.strip()[:120],
                                 actions=checked)
    record_event(actor=actor, subject=scene, kind="scene.created", data={"name": scene.name})
    return scene


@transaction.atomic
def scene_update(*, actor: User, scene: Scene, name: str | None = None, actions: Any = None, grant: Grant | None = None
                 ) -> Scene:
    if actions is not None:
        check = _Checker(actor=actor, grant=grant)
        scene.actions = _check_actions(check, actions)
        check.raise_if_any()
    if name is not None:
        scene.name = name.strip()[:120]
    scene.save()
    return scene


@transaction.atomic
def scene_delete(*, actor: User, scene: Scene) -> None:
    record_event(actor=actor, subject=scene, kind="scene.deleted", data={"name": scene.name})
    scene.delete()


def scene_run(*, actor: User, scene: Scene, idempotency_key: str = "") -> tuple[Run, bool]:
    """Run a scene now. Returns (run, created): the same Idempotency-Key from the same person for the same scene
    returns the first run and acts no more."""
    from makercloud.automations import runs

    if idempotency_key:
        earlier = Run.objects.filter(scene=scene, owner=actor, idempotency_key=idempotency_key).first()
        if earlier is not None:
            return earlier, False
    try:
        with transaction.atomic():
            run = Run.objects.create(scene=scene, owner=actor, actions=list(scene.actions), status=RunStatus.PENDING,
                                     cause={"kind": "scene", "scene": scene.pk}, idempotency_key=idempotency_key)
    except IntegrityError:
        return Run.objects.get(scene=scene, owner=actor, idempotency_key=idempotency_key), False
    runs.run_execute(run_id=run.pk)  # one tap: act now (a crash leaves it to runs_recover)
    run.refresh_from_db()
    return run, True
