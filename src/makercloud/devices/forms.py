"""Forms of the device pages, including forms generated from a device model's data schemas.

An action's input schema (or a writable property's schema) becomes a form: an object's properties become fields,
integers and numbers number inputs with the schema's range, booleans checkboxes, enums choices, strings text inputs;
anything else (arrays, nested objects) a JSON text field. The service checks the value against the schema again.
"""

import json
from typing import TYPE_CHECKING, Any

from django import forms
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    from makercloud.devices.models import DeviceModel

SCALAR = "value"  # the one field of a form whose schema is not an object


class ProvisionForm(forms.Form):
    model: "forms.ModelChoiceField[DeviceModel]" = forms.ModelChoiceField(
        label=_("Device model"), queryset=None, empty_label=None
    )
    name = forms.CharField(label=_("Name"), max_length=120, help_text=_("For your fleet list, e.g. a serial number."))
    sandbox = forms.BooleanField(label=_("Virtual device (sandbox)"), required=False)

    def __init__(self, *args: Any, models: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["model"].queryset = models  # type: ignore[attr-defined]
        self.fields["model"].label_from_instance = lambda m: f"{m.title} · v{m.version}"  # type: ignore[attr-defined]


class PublishForm(forms.Form):
    document = forms.CharField(
        label=_("Thing Description"), widget=forms.Textarea(attrs={"rows": 10, "class": "mono", "spellcheck": "false"}),
        help_text=_("A W3C WoT Thing Description or Thing Model (JSON). Its id or title names the model; publishing "
                    "the same one again makes its next version."),
    )
    retention_days = forms.IntegerField(label=_("Keep telemetry for (days)"), min_value=1, max_value=3650,
                                        required=False)

    def clean_document(self) -> Any:
        try:
            return json.loads(self.cleaned_data["document"])
        except ValueError as error:
            raise forms.ValidationError(_("This is not valid JSON: %(error)s") % {"error": error}) from error


class ClaimForm(forms.Form):
    code = forms.CharField(label=_("Claim code"), max_length=40,
                           help_text=_("On the sticker of your appliance, e.g. ABCD-EFGH-JKMN."))


class JSONValueField(forms.CharField):
    def to_python(self, value: Any) -> Any:
        text = super().to_python(value)
        if text in ("", None):
            return None
        try:
            return json.loads(text)
        except ValueError as error:
            raise forms.ValidationError(_("Enter a JSON value.")) from error


def _label(name: str, schema: dict[str, Any]) -> str:
    return str(schema.get("title") or name.replace("_", " ").capitalize())


def _help(schema: dict[str, Any]) -> str:
    parts = [str(schema["description"])] if schema.get("description") else []
    if schema.get("unit"):
        parts.append(_("unit: %(unit)s") % {"unit": schema["unit"]})
    return " · ".join(parts)


def field_for(name: str, schema: dict[str, Any], *, required: bool) -> forms.Field:
    kind = schema.get("type")
    options: dict[str, Any] = {"label": _label(name, schema), "help_text": _help(schema), "required": required}
    if "default" in schema:
        options["initial"] = schema["default"]
    if "enum" in schema and all(isinstance(v, str | int | float) for v in schema["enum"]):
        field: forms.Field = forms.TypedChoiceField(
            choices=[(json.dumps(v), str(v)) for v in schema["enum"]], coerce=json.loads, **options
        )
        if "default" in schema:
            field.initial = json.dumps(schema["default"])
        return field
    if kind == "boolean":
        return forms.BooleanField(**{**options, "required": False})
    if kind in ("integer", "number"):
        for option, keyword in (("min_value", "minimum"), ("max_value", "maximum")):
            if isinstance(schema.get(keyword), int | float):
                options[option] = schema[keyword]
        field_class = forms.IntegerField if kind == "integer" else forms.FloatField
        if kind == "number":
            options["widget"] = forms.NumberInput(attrs={"step": "any"})
        return field_class(**options)
    if kind == "string":
        return forms.CharField(max_length=schema.get("maxLength"), min_length=schema.get("minLength"), **options)
    return JSONValueField(widget=forms.Textarea(attrs={"rows": 2, "class": "mono"}), **options)


def schema_form(schema: dict[str, Any] | None, *, prefix: str = "", data: Any = None) -> forms.Form:
    """A form for a value of this schema; `form_value` turns its cleaned data back into that value."""
    form = forms.Form(data=data, prefix=prefix or None)
    if schema is None:
        return form
    if schema.get("type") == "object" and isinstance(schema.get("properties"), dict):
        required = set(schema.get("required") or [])
        for name, sub in schema["properties"].items():
            if isinstance(sub, dict) and not sub.get("readOnly"):
                form.fields[name] = field_for(name, sub, required=name in required)
    else:
        form.fields[SCALAR] = field_for(str(schema.get("title") or _("Value")), schema, required=True)
    return form


def form_value(form: forms.Form, schema: dict[str, Any] | None) -> Any:
    if schema is None:
        return None
    data = form.cleaned_data
    if SCALAR in form.fields and list(form.fields) == [SCALAR]:
        return data[SCALAR]
    return {name: value for name, value in data.items() if value is not None and value != ""}

