"""Forms of the automation and scene pages: a trigger and up to a handful of actions, with devices from My home.

The forms only shape the input into the services' trigger and action documents; the services check them against
the device models (and the person's right to control each device) exactly as for the API.
"""

import json
from typing import Any
from zoneinfo import available_timezones

from django import forms
from django.utils.translation import gettext_lazy as _

from makercloud.automations.schedules import WEEKDAYS

ACTION_KINDS = [("", _("— no action —")), ("invoke", _("Invoke an action")),
                ("set_desired", _("Set desired state")), ("notify", _("Notify me"))]
TRIGGER_KINDS = [("event", _("A device event")), ("threshold", _("A property crossing a threshold")),
                 ("schedule", _("A schedule"))]
WEEKDAY_NAMES = [("mon", _("Monday")), ("tue", _("Tuesday")), ("wed", _("Wednesday")), ("thu", _("Thursday")),
                 ("fri", _("Friday")), ("sat", _("Saturday")), ("sun", _("Sunday"))]
assert [code for code, _name in WEEKDAY_NAMES] == list(WEEKDAYS)


class JSONField(forms.CharField):
    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("widget", forms.Textarea(attrs={"rows": 2, "class": "mono", "spellcheck": "false"}))
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text in ("", None):
            return None
        try:
            return json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("Enter a JSON value, e.g. {\"times\": 2}.")) from error

    def prepare_value(self, value: Any) -> Any:
        if value is None or isinstance(value, str):
            return value
        return json.dumps(value, ensure_ascii=False)


class AutomationForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
    enabled = forms.BooleanField(label=_("On"), required=False, initial=True)
    kind = forms.ChoiceField(label=_("When"), choices=TRIGGER_KINDS, widget=forms.RadioSelect, initial="event")
    device = forms.ChoiceField(label=_("Device"), required=False,
                               help_text=_("For an event or a threshold: the device to watch."))
    event = forms.CharField(label=_("Event"), max_length=120, required=False)
    match = JSONField(label=_("Only when the event's data contains (JSON, optional)"))
    property = forms.CharField(label=_("Property"), max_length=120, required=False)
    direction = forms.ChoiceField(label=_("Crosses"), required=False,
                                  choices=[("above", _("above")), ("below", _("below"))])
    threshold = forms.FloatField(label=_("Threshold"), required=False)
    hysteresis = forms.FloatField(
        label=_("Hysteresis"), required=False, min_value=0, initial=0,
        help_text=_("Fires once on crossing, and again only after the value has come back this far."),
    )
    time = forms.CharField(label=_("Every day at (HH:MM)"), required=False, max_length=5)
    weekdays = forms.MultipleChoiceField(label=_("On these days (none: every day)"), required=False,
                                         choices=WEEKDAY_NAMES, widget=forms.CheckboxSelectMultiple)
    cron = forms.CharField(label=_("Or a cron expression"), required=False, max_length=100,
                           help_text=_("Five fields: minute hour day-of-month month day-of-week, e.g. 30 7 * * 1-5."))
    timezone = forms.CharField(label=_("Time zone"), required=False, max_length=64, initial="Asia/Shanghai")

    def __init__(self, *args: Any, devices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].choices = [("", "—"), *devices]  # type: ignore[attr-defined]

    def clean_timezone(self) -> str:
        value = self.cleaned_data.get("timezone") or "UTC"
        if value not in available_timezones():
            raise forms.ValidationError(_("Not a time zone; use a name such as Asia/Shanghai or Europe/Berlin."))
        return str(value)

    def trigger(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        if kind == "event":
            return {"kind": kind, "device": data["device"], "event": data["event"], "match": data["match"]}
        if kind == "threshold":
            return {"kind": kind, "device": data["device"], "property": data["property"],
                    "direction": data["direction"], "threshold": data["threshold"],
                    "hysteresis": data["hysteresis"] or 0}
        schedule: dict[str, Any] = {"kind": kind, "timezone": data["timezone"]}
        if data["cron"]:
            schedule["cron"] = data["cron"]
        if data["time"]:
            schedule.update(time=data["time"], weekdays=data["weekdays"] or None)
        return schedule

    @staticmethod
    def initial_of(automation: Any) -> dict[str, Any]:
        trigger = dict(automation.trigger)
        initial = {"name": automation.name, "enabled": automation.enabled, **trigger}
        if trigger.get("time"):
            initial.pop("cron", None)
        return initial


class ActionForm(forms.Form):
    kind = forms.ChoiceField(label=_("Then"), choices=ACTION_KINDS, required=False)
    device = forms.ChoiceField(label=_("Device"), required=False)
    action = forms.CharField(label=_("Action"), max_length=120, required=False)
    input = JSONField(label=_("Input (JSON)"))
    state = JSONField(label=_("Desired state (JSON)"), help_text=_("e.g. {\"targetTemperature\": 24}"))
    title = forms.CharField(label=_("Notification title"), max_length=200, required=False)
    body = forms.CharField(label=_("Notification text"), max_length=2000, required=False,
                           widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, devices: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["device"].choices = [("", "—"), *devices]  # type: ignore[attr-defined]

    def document(self) -> dict[str, Any] | None:
        data = self.cleaned_data
        kind = data.get("kind")
        if kind == "invoke":
            return {"kind": kind, "device": data["device"], "action": data["action"], "input": data["input"]}
        if kind == "set_desired":
            return {"kind": kind, "device": data["device"], "state": data["state"]}
        if kind == "notify":
            return {"kind": kind, "title": data["title"], "body": data["body"]}
        return None


def action_forms(*, data: Any, devices: list[tuple[str, str]], actions: list[dict[str, Any]], extra: int = 2
                 ) -> list[ActionForm]:
    count = len(actions) + extra
    if data is not None:
        count = max(count, int(data.get("action_count") or 0) if str(data.get("action_count", "")).isdigit() else 0)
        count = min(count, 20)
    forms_ = []
    for index in range(count):
        initial = actions[index] if index < len(actions) else None
        forms_.append(ActionForm(data, prefix=f"action-{index}", devices=devices, initial=initial))
    return forms_


class SceneForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=120)
