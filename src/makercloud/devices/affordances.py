"""A device model's affordances — its properties, actions and events (the WoT terms) — and checks against them.

Desired states and action inputs are checked by the model's compiled `td.payload_validator` (cached per content
hash; model versions are immutable). Only when it refuses a value are the problems located again with jsonschema
(its patterns on RE2, `devices.patterns`), so that each error names its JSON path (`loc`) as the API's problem
details do.
"""

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from makercloud.devices import patterns, td
from makercloud.devices.errors import InvalidDeviceInput, UnknownAction
from makercloud.devices.models import DeviceModel

DEFAULT_ACTION_TIMEOUT = 10.0
MAX_ACTION_TIMEOUT = 300.0


@dataclass(frozen=True)
class ActionSpec:
    name: str
    input: dict[str, Any] | None
    output: dict[str, Any] | None
    timeout: float
    safe: bool
    idempotent: bool


def _section(document: dict[str, Any], name: str) -> dict[str, dict[str, Any]]:
    section = document.get(name)
    if not isinstance(section, dict):
        return {}
    return {key: value for key, value in section.items() if isinstance(value, dict)}


def properties(model: DeviceModel) -> dict[str, dict[str, Any]]:
    return _section(model.document, "properties")


def actions(model: DeviceModel) -> dict[str, dict[str, Any]]:
    return _section(model.document, "actions")


def events(model: DeviceModel) -> dict[str, dict[str, Any]]:
    return _section(model.document, "events")


def writable(model: DeviceModel) -> dict[str, dict[str, Any]]:
    return {name: spec for name, spec in properties(model).items() if not spec.get("readOnly")}


def _timeout(action: dict[str, Any]) -> float:
    for key, value in action.items():
        if (key == "timeout" or key.endswith(":timeout")) and isinstance(value, int | float) and math.isfinite(value):
            return float(min(max(value, 0.1), MAX_ACTION_TIMEOUT))
    return DEFAULT_ACTION_TIMEOUT


def action_spec(model: DeviceModel, name: str) -> ActionSpec:
    action = actions(model).get(name)
    if action is None:
        raise UnknownAction(detail=f"{model.title} v{model.version} has no action {name!r}.")
    schema_in, schema_out = action.get("input"), action.get("output")
    return ActionSpec(
        name=name,
        input=schema_in if isinstance(schema_in, dict) else None,
        output=schema_out if isinstance(schema_out, dict) else None,
        timeout=_timeout(action),
        safe=bool(action.get("safe")),
        idempotent=bool(action.get("idempotent")),
    )


def validator(model: DeviceModel) -> td.PayloadValidator:
    """The model version's compiled checks (built once per content hash, kept by `td`)."""
    return td.payload_validator(model.document, content_hash=model.content_hash)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _located(schema: Mapping[str, Any] | None, value: Any, loc: list[str | int]) -> list[dict[str, Any]]:
    """Each problem of a value that the fast check refused, with the JSON path it is at."""
    if not schema:
        return []
    found = sorted(patterns.Validator(_plain(schema)).iter_errors(value),  # patterns on RE2, as the fast check
                   key=lambda e: list(map(str, e.absolute_path)))
    return [{"loc": [*loc, *error.absolute_path], "msg": error.message} for error in found]


def check_desired(*, model: DeviceModel, state: dict[str, Any]) -> None:
    """Every key a writable property, every value (null removes the key) fitting that property's schema."""
    checks = validator(model)
    present = {key: value for key, value in state.items() if value is not None}
    if not checks.check_desired(present) and all(key in checks.spec.properties for key in state):
        return
    problems: list[dict[str, Any]] = []
    for key, value in state.items():
        loc: list[str | int] = ["body", "state", key]
        spec = checks.spec.properties.get(key)
        if spec is None:
            problems.append({"loc": loc, "msg": f"{model.title} has no property {key!r}"})
        elif spec.read_only:
            problems.append({"loc": loc, "msg": f"{key!r} is read-only: the device reports it, nobody sets it"})
        elif value is not None and checks.check_desired({key: value}):
            problems.extend(_located(spec.schema, value, loc) or [
                {"loc": loc, "msg": "; ".join(checks.check_desired({key: value}))}
            ])
    if problems:
        raise InvalidDeviceInput(detail=_summary(problems), errors=problems)


def check_invocation(*, model: DeviceModel, action: str, input: Any) -> ActionSpec:
    spec = action_spec(model, action)
    checks = validator(model)
    if not checks.check_action_input(action, input):
        return spec
    loc: list[str | int] = ["body", "input"]
    problems = _located(checks.spec.actions[action].input, input, loc) or [
        {"loc": loc, "msg": "; ".join(checks.check_action_input(action, input))}
    ]
    raise InvalidDeviceInput(detail=_summary(problems), errors=problems)


def _summary(problems: list[dict[str, Any]]) -> str:
    return "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in problems)
