"""Device models as W3C Web of Things Thing Descriptions (TD 1.1) and Thing Models: validate, compile, export.

A pure module — no database, no network, no Django — because services call it when a model is published and the
MQTT gateway calls it for every message it ingests.

- `validate(document)` checks a TD or TM against the pinned TD 1.1 JSON Schema and makercloud's own semantic rules,
  collects every problem as `{"loc": JSON path, "msg": text}` and raises `InvalidThingDescription`, or returns a
  `DeviceModelSpec`: what the model says, compiled for binding.
- `payload_validator(document, content_hash=...)` gives the (cached) `PayloadValidator` that checks telemetry,
  reported and desired state, event data and action input/output on the gateway's hot path.
- `export(document, mqtt_url=..., api_url=...)` gives the TD back with makercloud's own protocol bindings.
- `content_hash(document)` and `parse(text)` (JSON that refuses duplicate keys, naming their path).

What is checked, and why, is written up for makers in docs/device-models.md.
"""

import copy
import difflib
import functools
import hashlib
import json
import os
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, Final, TypeGuard
from urllib.parse import quote

from jsonschema import Draft7Validator
from jsonschema.exceptions import best_match

from makercloud.devices import patterns
from makercloud.devices.errors import InvalidThingDescription

__all__ = [
    "ActionSpec",
    "DeviceModelSpec",
    "EventSpec",
    "PayloadValidator",
    "PropertySpec",
    "content_hash",
    "export",
    "parse",
    "payload_validator",
    "validate",
]

SCHEMA_ENV: Final = "MAKERCLOUD_WOT_SCHEMA"
PACKAGED_SCHEMA: Final = Path(__file__).with_name("wot") / "td-1.1-json-schema.json"

THING_MODEL_TYPE: Final = "tm:ThingModel"
DATA_TYPES: Final = ("boolean", "integer", "number", "string", "object", "array", "null")
NAME_MAX_LENGTH: Final = 120
MAX_ERRORS: Final = 200  # a hopeless document should not produce a megabyte of problems
MAX_MESSAGES_PER_VALUE: Final = 5

# Binding vocabularies used by `export`.
MQTT_VOCABULARY: Final = "https://www.w3.org/2019/wot/mqtt#"
HTTP_VOCABULARY: Final = "http://www.w3.org/2011/http#"
HTTP_SECURITY: Final = "makercloud_bearer"
MQTT_SECURITY: Final = "makercloud_device"

Error = dict[str, str]
Path_ = tuple[str | int, ...]

_PLACEHOLDER = re.compile(r"^\{\{[^{}]+\}\}$")
_BAD_NAME_CHARACTER = re.compile(r"[/+#\s\x00-\x1f\x7f]")
_PLAIN_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]*$")  # as jsonschema's json_path, so locs from both match
_TEMPLATE_VARIABLE = re.compile(r"^\{([A-Za-z_][A-Za-z0-9_]*)\}$")
# Keys of an affordance that are about interaction, not about the data; everything else is its data schema.
_INTERACTION_KEYS: Final = frozenset({"forms", "uriVariables", "observable"})
# Keywords that do not constrain a value (annotations; `format` is not asserted under draft-07 by default).
_ANNOTATIONS: Final = frozenset({
    "title", "titles", "description", "descriptions", "@type", "unit", "readOnly", "writeOnly", "format",
    "default", "contentEncoding", "contentMediaType", "$comment", "examples",
})
_META_VALIDATOR: Final = Draft7Validator(Draft7Validator.META_SCHEMA)
_ORDERED_BOUNDS: Final = (
    ("minimum", "maximum", False),
    ("exclusiveMinimum", "exclusiveMaximum", True),
    ("minimum", "exclusiveMaximum", True),
    ("exclusiveMinimum", "maximum", True),
    ("minLength", "maxLength", False),
    ("minItems", "maxItems", False),
    ("minProperties", "maxProperties", False),
)


# The result ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PropertySpec:
    name: str
    schema: Mapping[str, Any]  # a draft-07 JSON Schema for the value; {} accepts any JSON value
    read_only: bool
    write_only: bool
    observable: bool
    unit: str | None


@dataclass(frozen=True, slots=True)
class ActionSpec:
    name: str
    input: Mapping[str, Any] | None  # None: the model declares no input schema (any input is accepted)
    output: Mapping[str, Any] | None
    safe: bool
    idempotent: bool


@dataclass(frozen=True, slots=True)
class EventSpec:
    name: str
    data: Mapping[str, Any] | None


@dataclass(frozen=True, slots=True)
class DeviceModelSpec:
    """What a valid device model says, compiled for binding. Returned by `validate`."""

    title: str
    description: str
    is_thing_model: bool
    id: str | None
    content_hash: str
    properties: Mapping[str, PropertySpec]
    actions: Mapping[str, ActionSpec]
    events: Mapping[str, EventSpec]
    # Findings that do not stop publication but that the maker should see, in the same {loc, msg} shape.
    warnings: tuple[Error, ...] = ()


# The schema ----------------------------------------------------------------------------------------------------


def schema_path() -> Path:
    """Where the TD 1.1 JSON Schema is read from: $MAKERCLOUD_WOT_SCHEMA, or the copy shipped in this package."""
    return Path(os.environ.get(SCHEMA_ENV) or PACKAGED_SCHEMA)


@functools.cache
def _validators() -> tuple[Any, Any]:
    """(TD validator, TM validator), compiled once per process; the schema's own patterns run on RE2 as well."""
    td_schema = json.loads(schema_path().read_text(encoding="utf-8"))
    Draft7Validator.check_schema(td_schema)
    return patterns.Validator(td_schema), patterns.Validator(_thing_model_schema(td_schema))


def _thing_model_schema(td_schema: dict[str, Any]) -> dict[str, Any]:
    """The TD schema loosened into a Thing Model schema (W3C TD 1.1 §10): a TM may leave out `security`,
    `securityDefinitions` and every `forms`, and its `@type` includes "tm:ThingModel", which the TD schema forbids.
    Everything it does write must still have the TD's shape (placeholders are allowed separately)."""
    schema = copy.deepcopy(td_schema)
    if isinstance(schema.get("required"), list):
        schema["required"] = [key for key in schema["required"] if key not in ("security", "securityDefinitions")]
    definitions = schema.get("definitions", {})
    for element in ("property_element", "action_element", "event_element"):
        definition = definitions.get(element, {})
        if "required" in definition:
            definition["required"] = [key for key in definition["required"] if key != "forms"]
            if not definition["required"]:
                del definition["required"]
    if "type_declaration" in definitions:
        strings = {"type": "array", "items": {"type": "string"}}
        definitions["type_declaration"] = {"oneOf": [{"type": "string"}, strings]}
    return schema


# Validation ----------------------------------------------------------------------------------------------------


def is_thing_model(document: Mapping[str, Any]) -> bool:
    kind = document.get("@type")
    return kind == THING_MODEL_TYPE or (isinstance(kind, list) and THING_MODEL_TYPE in kind)


def validate(document: object) -> DeviceModelSpec:
    """Check a Thing Description or Thing Model and compile it; raise `InvalidThingDescription` listing every
    problem found (schema and semantic), each with the JSON path it is at."""
    if not isinstance(document, dict):
        _refuse([{"loc": "$", "msg": f"a Thing Description is a JSON object, not {_json_type(document)}"}])
    assert isinstance(document, dict)  # for mypy: _refuse never returns
    thing_model = is_thing_model(document)
    checker = _Checker(thing_model=thing_model)
    checker.check_document(document)
    errors = _merge(_schema_errors(document, thing_model=thing_model), checker.errors)
    if errors:
        _refuse(errors)
    return _compile(document, thing_model=thing_model, compiled=checker.compiled, warnings=checker.warnings)


def _refuse(errors: list[Error]) -> None:
    errors = errors[:MAX_ERRORS]
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    raise InvalidThingDescription(f"{errors[0]['loc']}: {errors[0]['msg']}{more}", errors=errors)


def _schema_errors(document: dict[str, Any], *, thing_model: bool) -> list[Error]:
    td_validator, tm_validator = _validators()
    validator = tm_validator if thing_model else td_validator
    errors = []
    for error in validator.iter_errors(document):
        error = best_match([error])  # descend into oneOf/anyOf to the most specific reason
        if thing_model and _is_placeholder(error.instance):
            continue
        errors.append({"loc": error.json_path, "msg": _shorten(error.message)})
    return errors


def _merge(schema_errors: list[Error], semantic_errors: list[Error]) -> list[Error]:
    """All errors in document order, one per location: where both found one, ours says it better."""
    ours = {error["loc"] for error in semantic_errors}
    merged = [error for error in schema_errors if error["loc"] not in ours] + semantic_errors
    unique = {(error["loc"], error["msg"]): error for error in merged}
    return sorted(unique.values(), key=lambda error: _sort_key(error["loc"]))


def _sort_key(loc: str) -> list[tuple[int, str]]:
    return [(int(part), "") if part.isdigit() else (-1, part) for part in re.split(r"[.\[\]']+", loc) if part]


class _Checker:
    """The checks the TD schema cannot express. Defensive about shapes: the schema reports those."""

    def __init__(self, *, thing_model: bool) -> None:
        self.thing_model = thing_model
        self.errors: list[Error] = []
        self.warnings: list[Error] = []
        self.compiled: dict[Path_, dict[str, Any]] = {}  # bound data schemas by location, for _compile

    def add(self, path: Path_, msg: str) -> None:
        self.errors.append({"loc": json_path(path), "msg": msg})

    def warn(self, path: Path_, msg: str) -> None:
        self.warnings.append({"loc": json_path(path), "msg": msg})

    def check_document(self, document: dict[str, Any]) -> None:
        self.check_security(document)
        if self.thing_model:
            self.check_thing_model(document)
        for kind in ("properties", "actions", "events"):
            affordances = document.get(kind)
            if not isinstance(affordances, dict):
                continue
            for name, affordance in affordances.items():
                self.check_name(kind, name)
                if not isinstance(affordance, dict):
                    continue
                path: Path_ = (kind, name)
                if kind == "properties":
                    self.check_property(path, affordance)
                elif kind == "actions":
                    for key in ("input", "output"):
                        if key in affordance:
                            self.check_bound_schema((*path, key), affordance[key])
                elif "data" in affordance:
                    self.check_bound_schema((*path, "data"), affordance["data"])

    # Names -----------------------------------------------------------------------------------------------------

    def check_name(self, kind: str, name: str) -> None:
        path: Path_ = (kind, name)
        if not name:
            self.add(path, "an affordance name cannot be empty")
        elif len(name) > NAME_MAX_LENGTH:
            self.add(path, f"the name is {len(name)} characters long; at most {NAME_MAX_LENGTH} are allowed")
        elif name in (".", ".."):
            self.add(path, f"{name!r} cannot be a name: it is not usable as a URL path segment")
        elif match := _BAD_NAME_CHARACTER.search(name):
            self.add(path, f"the name {name!r} contains {match.group()!r}; names are MQTT topic levels and URL path "
                           "segments, so they cannot contain '/', '+', '#', whitespace or control characters")

    # Security --------------------------------------------------------------------------------------------------

    def check_security(self, document: dict[str, Any]) -> None:
        definitions = document.get("securityDefinitions")
        if not isinstance(definitions, dict):
            if self.thing_model:
                return  # a Thing Model may name schemes that the TDs made from it define
            definitions = {}
        self.check_security_names(("security",), document.get("security"), definitions)
        for name, scheme in definitions.items():
            if isinstance(scheme, dict) and scheme.get("scheme") == "combo":
                for key in ("oneOf", "allOf"):
                    self.check_security_names(("securityDefinitions", name, key), scheme.get(key), definitions)
        for path, form in _forms(document):
            self.check_security_names((*path, "security"), form.get("security"), definitions)

    def check_security_names(self, path: Path_, names: object, definitions: dict[str, Any]) -> None:
        if isinstance(names, str):
            if names not in definitions:
                self.add(path, _undefined_scheme(names, definitions))
        elif isinstance(names, list):
            for index, name in enumerate(names):
                if isinstance(name, str) and name not in definitions:
                    self.add((*path, index), _undefined_scheme(name, definitions))

    # Thing Models ----------------------------------------------------------------------------------------------

    def check_thing_model(self, document: dict[str, Any]) -> None:
        for path in _paths_of_key(document, "tm:ref"):
            self.add(path, "makercloud does not resolve tm:ref: a published model must be self-contained (it is "
                           "immutable once devices use it); write the referenced definition inline")
        links = document.get("links")
        if isinstance(links, list):
            for index, link in enumerate(links):
                if isinstance(link, dict) and link.get("rel") == "tm:extends":
                    self.add(("links", index, "rel"), "makercloud does not resolve tm:extends: a published model "
                                                      "must be self-contained; copy in what it extends")
        for key in ("tm:required", "tm:optional"):
            pointers = document.get(key)
            if not isinstance(pointers, list):
                continue
            for index, pointer in enumerate(pointers):
                parts = pointer.split("/") if isinstance(pointer, str) else []
                found = (
                    len(parts) == 3 and parts[0] == "#" and parts[1] in ("properties", "actions", "events")
                    and isinstance(document.get(parts[1]), dict) and parts[2] in document[parts[1]]
                )
                if not found:
                    self.add((key, index), f"{pointer!r} does not point at an affordance of this model "
                                           "(expected '#/properties/<name>', '#/actions/<name>' or '#/events/<name>')")

    # Properties and data schemas -------------------------------------------------------------------------------

    def check_property(self, path: Path_, affordance: dict[str, Any]) -> None:
        if affordance.get("readOnly") is True and affordance.get("writeOnly") is True:
            self.add((*path, "writeOnly"), "a property cannot be both readOnly and writeOnly: the device could "
                                           "neither report it nor be told it, so it cannot be bound")
        schema = {key: value for key, value in affordance.items() if key not in _INTERACTION_KEYS}
        self.check_bound_schema(path, schema)

    def check_bound_schema(self, path: Path_, schema: object) -> None:
        """A data schema the gateway will validate payloads against: it must compile and be safe to run."""
        if not isinstance(schema, dict):
            self.add(path, f"expected a data schema (a JSON object such as {{\"type\": \"number\"}}), "
                           f"not {_json_type(schema)}")
            return
        if self.thing_model:
            schema = dict(_without_placeholders(schema))
        before = len(self.errors)
        self.check_data_schema(path, schema)
        for ref_path in _paths_of_key(schema, "$ref", strings_only=True):
            self.add(path + ref_path, "references ($ref) are not supported in a device's data schemas; write the "
                                      "schema inline")
        flagged = {error["loc"] for error in self.errors[before:]}
        for error in _META_VALIDATOR.iter_errors(schema):  # what would make jsonschema fail at run time
            where = path + tuple(error.absolute_path)
            if json_path(where) not in flagged:
                self.add(where, _shorten(best_match([error]).message))
        if len(self.errors) == before:
            self.compiled[path] = schema

    def check_data_schema(self, path: Path_, schema: object) -> None:
        if not isinstance(schema, dict):
            self.add(path, f"expected a data schema (a JSON object such as {{\"type\": \"number\"}}), "
                           f"not {_json_type(schema)}")
            return
        declared = schema.get("type")
        type_ok = True
        if "type" in schema and declared not in DATA_TYPES:
            type_ok = False
            hint = difflib.get_close_matches(declared, DATA_TYPES, n=1) if isinstance(declared, str) else []
            self.add((*path, "type"), f"unknown type {declared!r}"
                                      + (f" — did you mean {hint[0]!r}?" if hint else "")
                                      + f" (one of {', '.join(DATA_TYPES)})")
        for low, high, strict in _ORDERED_BOUNDS:
            low_value, high_value = schema.get(low), schema.get(high)
            if _is_number(low_value) and _is_number(high_value) and (
                low_value > high_value or (strict and low_value == high_value)
            ):
                relation = "is not less than" if strict else "is greater than"
                self.add((*path, low), f"{low} {low_value} {relation} {high} {high_value}: no value can fit")
        pattern = schema.get("pattern")
        if isinstance(pattern, str) and (problem := patterns.pattern_problem(pattern)):
            self.add((*path, "pattern"), f"not a usable regular expression: {problem}")
        named = schema.get("patternProperties")
        for name in named if isinstance(named, dict) else ():
            if problem := patterns.pattern_problem(name):
                self.add((*path, "patternProperties", name), f"not a usable regular expression: {problem}")
        properties = schema.get("properties")
        if "properties" in schema:
            if isinstance(properties, dict):
                for name, subschema in properties.items():
                    self.check_data_schema((*path, "properties", name), subschema)
            else:
                self.add((*path, "properties"), f"expected an object of named data schemas, not "
                                                f"{_json_type(properties)}")
        required = schema.get("required")
        if isinstance(required, list):
            known = properties if isinstance(properties, dict) else {}
            closed = schema.get("additionalProperties") is False
            for index, name in enumerate(required):
                if isinstance(name, str) and name not in known:
                    # Open objects may carry members their schema does not describe, so this is satisfiable and
                    # only suspicious (real plugfest TDs do it); with additionalProperties false it never is.
                    (self.add if closed else self.warn)(
                        (*path, "required", index),
                        f"{name!r} is required but is not among the properties defined here"
                        + (", and additionalProperties is false: no value can fit" if closed else ""),
                    )
        if "items" in schema:
            items = schema["items"]
            if isinstance(items, list):
                for index, subschema in enumerate(items):
                    self.check_data_schema((*path, "items", index), subschema)
            else:
                self.check_data_schema((*path, "items"), items)
        for key in ("oneOf", "anyOf", "allOf"):
            if key in schema:
                alternatives = schema[key]
                if isinstance(alternatives, list):
                    for index, subschema in enumerate(alternatives):
                        self.check_data_schema((*path, key, index), subschema)
                else:
                    self.add((*path, key), f"expected a list of data schemas, not {_json_type(alternatives)}")
        for key in ("additionalProperties", "additionalItems", "not", "contains", "propertyNames"):
            if isinstance(schema.get(key), dict):
                self.check_data_schema((*path, key), schema[key])
        self.check_values(path, schema, type_ok=type_ok)

    def check_values(self, path: Path_, schema: dict[str, Any], *, type_ok: bool) -> None:
        """enum, const and default must be values the schema itself accepts."""
        enum = schema.get("enum")
        if isinstance(enum, list) and not enum:
            self.add((*path, "enum"), "enum must list at least one value")
        if not type_ok:
            return
        rest = {key: value for key, value in schema.items() if key not in ("enum", "const", "default")}
        try:
            Draft7Validator.check_schema(rest)
            if any(_paths_of_key(rest, "$ref", strings_only=True)):
                return
            validator = patterns.Validator(rest)
            candidates: list[tuple[Path_, Any]] = []
            if isinstance(enum, list):
                candidates += [((*path, "enum", index), value) for index, value in enumerate(enum)]
            candidates += [((*path, key), schema[key]) for key in ("const", "default") if key in schema]
            for where, value in candidates:
                if self.thing_model and _is_placeholder(value):
                    continue
                error = best_match(validator.iter_errors(value))
                if error is not None:
                    described = f" (type {declared!r})" if (declared := schema.get("type")) else ""
                    self.add(where, f"{_shorten(repr(value), 60)} does not fit this data schema{described}: "
                                    f"{_shorten(error.message)}")
        except Exception:  # noqa: S110 — a schema too broken to try values against is reported elsewhere
            pass


def _undefined_scheme(name: str, definitions: Mapping[str, Any]) -> str:
    defined = ", ".join(repr(key) for key in definitions) or "none"
    return f"security scheme {name!r} is not defined in securityDefinitions (defined: {defined})"


# Compiling -----------------------------------------------------------------------------------------------------


def _compile(
    document: dict[str, Any], *, thing_model: bool, compiled: dict[Path_, dict[str, Any]], warnings: list[Error]
) -> DeviceModelSpec:
    def bound(path: Path_) -> Mapping[str, Any] | None:
        schema = compiled.get(path)
        return None if schema is None else _frozen(_strip_annotations(schema))

    properties: dict[str, PropertySpec] = {}
    for name, affordance in (document.get("properties") or {}).items():
        unit = affordance.get("unit")
        properties[name] = PropertySpec(
            name=name, schema=bound(("properties", name)) or MappingProxyType({}),
            read_only=affordance.get("readOnly") is True, write_only=affordance.get("writeOnly") is True,
            observable=affordance.get("observable") is True, unit=unit if isinstance(unit, str) else None,
        )
    actions = {
        name: ActionSpec(
            name=name, input=bound(("actions", name, "input")), output=bound(("actions", name, "output")),
            safe=affordance.get("safe") is True, idempotent=affordance.get("idempotent") is True,
        )
        for name, affordance in (document.get("actions") or {}).items()
    }
    events = {
        name: EventSpec(name=name, data=bound(("events", name, "data")))
        for name, affordance in (document.get("events") or {}).items()
    }
    thing_id = document.get("id")
    description = document.get("description")
    return DeviceModelSpec(
        title=document["title"],
        description=description if isinstance(description, str) else "",
        is_thing_model=thing_model,
        id=thing_id if isinstance(thing_id, str) else None,
        content_hash=content_hash(document),
        properties=MappingProxyType(properties),
        actions=MappingProxyType(actions),
        events=MappingProxyType(events),
        warnings=tuple(warnings),
    )


def _strip_annotations(schema: dict[str, Any]) -> dict[str, Any]:
    """The top level of a bound schema without keys that never constrain a value (nested ones are harmless)."""
    return {key: value for key, value in schema.items() if key not in _ANNOTATIONS and ":" not in key}


def _frozen(schema: dict[str, Any]) -> Mapping[str, Any]:
    return MappingProxyType(copy.deepcopy(schema))


def _without_placeholders(value: Any) -> Any:
    """A Thing Model's data schema with every keyword whose value is a {{PLACEHOLDER}} removed (unconstrained)."""
    if isinstance(value, dict):
        return {key: _without_placeholders(item) for key, item in value.items() if not _is_placeholder(item)}
    if isinstance(value, list):
        return [_without_placeholders(item) for item in value]
    return value


# Payloads (the gateway's hot path) ------------------------------------------------------------------------------

_Check = Callable[[str, Any], Sequence[str]]  # (label, value) -> problems, each starting with the label
_OK: Final[tuple[str, ...]] = ()


class PayloadValidator:
    """Checks payloads against one device model. Build it once per model (see `payload_validator`); every method
    returns a list of problems, empty when the payload is fine, and never raises for any JSON value."""

    __slots__ = ("_action_inputs", "_action_outputs", "_events", "_readable", "_spec", "_writable")

    def __init__(self, spec: DeviceModelSpec) -> None:
        self._spec = spec
        self._readable = {name: _compile_check(p.schema) for name, p in spec.properties.items() if not p.write_only}
        self._writable = {name: _compile_check(p.schema) for name, p in spec.properties.items() if not p.read_only}
        self._events = {name: _compile_check(e.data) for name, e in spec.events.items()}
        self._action_inputs = {name: _compile_check(a.input) for name, a in spec.actions.items()}
        self._action_outputs = {name: _compile_check(a.output) for name, a in spec.actions.items()}

    @property
    def spec(self) -> DeviceModelSpec:
        return self._spec

    def check_telemetry(self, values: object) -> list[str]:
        """`values` of a telemetry message: {property: value}; write-only properties cannot be reported."""
        return self._check_state(values, self._readable, "reported by a device", "writeOnly")

    def check_reported(self, state: object) -> list[str]:
        """`state` of a reported-state message: {property: value}."""
        return self._check_state(state, self._readable, "reported by a device", "writeOnly")

    def check_desired(self, state: object) -> list[str]:
        """A desired-state change: {property: value}; read-only properties cannot be set."""
        return self._check_state(state, self._writable, "set", "readOnly")

    def check_event(self, name: str, data: object) -> list[str]:
        check = self._events.get(name)
        if check is None:
            return [f"unknown event {name!r}{_known(self._events)}"]
        return list(check("data", data))

    def check_action_input(self, name: str, value: object) -> list[str]:
        check = self._action_inputs.get(name)
        if check is None:
            return [f"unknown action {name!r}{_known(self._action_inputs)}"]
        return list(check("input", value))

    def check_action_output(self, name: str, value: object) -> list[str]:
        check = self._action_outputs.get(name)
        if check is None:
            return [f"unknown action {name!r}{_known(self._action_outputs)}"]
        return list(check("output", value))

    def _check_state(self, values: object, checks: dict[str, _Check], verb: str, flag: str) -> list[str]:
        if type(values) is not dict:
            return [f"expected an object of property: value, not {_json_type(values)}"]
        errors: list[str] = []
        for name, value in values.items():
            check = checks.get(name)
            if check is None:
                if name in self._spec.properties:
                    errors.append(f"{name}: the property is {flag} and cannot be {verb}")
                else:
                    errors.append(f"{name}: unknown property{_known(self._spec.properties)}")
                continue
            problems = check(name, value)
            if problems:
                errors.extend(problems)
        return errors


def _known(names: Mapping[str, Any]) -> str:
    listed = ", ".join(sorted(names)[:20])
    return f" (the model has: {listed})" if listed else " (the model declares none)"


def _compile_check(schema: Mapping[str, Any] | None) -> _Check:
    """The fastest correct check for a schema: hand-written for the common scalar shapes, else jsonschema."""
    if not schema:
        return _accept_any
    fast = _scalar_check(schema)
    if fast is not None:
        return fast
    validator = patterns.Validator(_thaw(schema))

    def check(label: str, value: Any) -> Sequence[str]:
        errors = []
        for error in validator.iter_errors(value):
            errors.append(f"{label}{json_path(tuple(error.absolute_path))[1:]}: {_shorten(error.message)}")
            if len(errors) >= MAX_MESSAGES_PER_VALUE:
                break
        return errors

    return check


def _accept_any(label: str, value: Any) -> Sequence[str]:
    return _OK


def _scalar_check(schema: Mapping[str, Any]) -> _Check | None:
    """Hand-written checks for {"type": "boolean"}, numbers/integers with bounds and strings with enum/lengths,
    deciding exactly as draft-07 does (bool is not a number; 1.0 is an integer). None for anything else."""
    keys = set(schema) - {"type"}
    kind = schema.get("type")
    if kind == "boolean" and not keys:
        def check_boolean(label: str, value: Any) -> Sequence[str]:
            return _OK if value is True or value is False else (f"{label}: {value!r} is not of type 'boolean'",)
        return check_boolean
    if kind in ("number", "integer") and keys <= {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bounds = [schema.get(key) for key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum")]
        if not all(bound is None or _is_number(bound) for bound in bounds):
            return None
        low, high, low_excl, high_excl = bounds
        integer = kind == "integer"

        def check_number(label: str, value: Any) -> Sequence[str]:
            kind_of = type(value)
            if not (kind_of is int or kind_of is float) or (integer and kind_of is float and not value.is_integer()):
                return (f"{label}: {value!r} is not of type {kind!r}",)
            if low is not None and value < low:
                return (f"{label}: {value!r} is less than the minimum of {low!r}",)
            if high is not None and value > high:
                return (f"{label}: {value!r} is greater than the maximum of {high!r}",)
            if low_excl is not None and value <= low_excl:
                return (f"{label}: {value!r} is less than or equal to the minimum of {low_excl!r}",)
            if high_excl is not None and value >= high_excl:
                return (f"{label}: {value!r} is greater than or equal to the maximum of {high_excl!r}",)
            return _OK
        return check_number
    if kind == "string" and keys <= {"enum", "minLength", "maxLength"}:
        enum = schema.get("enum")
        if enum is not None and not (isinstance(enum, list | tuple) and all(isinstance(v, str) for v in enum)):
            return None
        allowed = frozenset(enum) if enum is not None else None
        shortest, longest = schema.get("minLength"), schema.get("maxLength")
        if not all(bound is None or (type(bound) is int) for bound in (shortest, longest)):
            return None

        def check_string(label: str, value: Any) -> Sequence[str]:
            if type(value) is not str:
                return (f"{label}: {_shorten(repr(value), 60)} is not of type 'string'",)
            if allowed is not None and value not in allowed:
                return (f"{label}: {_shorten(repr(value), 60)} is not one of {sorted(allowed)!r}",)
            if shortest is not None and len(value) < shortest:
                return (f"{label}: {_shorten(repr(value), 60)} is shorter than {shortest} characters",)
            if longest is not None and len(value) > longest:
                return (f"{label}: {_shorten(repr(value), 60)} is longer than {longest} characters",)
            return _OK
        return check_string
    return None


class _ByHash:
    """A cache key that is the content hash alone, carrying the document along for the first build."""

    __slots__ = ("document", "key")

    def __init__(self, key: str, document: Mapping[str, Any]) -> None:
        self.key, self.document = key, document

    def __hash__(self) -> int:
        return hash(self.key)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _ByHash) and other.key == self.key


@functools.lru_cache(maxsize=2048)
def _cached_payload_validator(keyed: _ByHash) -> PayloadValidator:
    return PayloadValidator(validate(keyed.document))


def payload_validator(document: Mapping[str, Any], *, content_hash: str | None = None) -> PayloadValidator:
    """The PayloadValidator of a device model, built once per content hash and kept (LRU, 2048 models).

    Pass the stored `DeviceModel.content_hash` so that a cache hit costs no hashing; it must be the hash of
    `document` (as `content_hash()` computes it). Raises InvalidThingDescription if the document is not valid."""
    key = content_hash or _canonical_hash(document)
    return _cached_payload_validator(_ByHash(key, document))


# Hashing and parsing -------------------------------------------------------------------------------------------


def content_hash(document: object) -> str:
    """SHA-256 (hex) of the canonical JSON: sorted keys, no spaces, UTF-8 without \\u escapes."""
    return _canonical_hash(document)


def _canonical_hash(document: object) -> str:
    canonical = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def parse(text: str | bytes) -> object:
    """JSON text to a value, refusing what json.loads lets through silently: a key repeated in one object (the
    later would win — two affordances of one name, say), NaN and Infinity. Raises InvalidThingDescription."""
    duplicates: dict[int, list[str]] = {}

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                duplicates.setdefault(id(result), []).append(key)
            result[key] = value
        return result

    def constant(name: str) -> None:
        raise ValueError(f"{name} is not a JSON value")

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=constant)
    except json.JSONDecodeError as error:
        _refuse([{"loc": "$", "msg": f"not valid JSON: {error.msg} (line {error.lineno}, column {error.colno})"}])
    except (ValueError, UnicodeDecodeError) as error:
        _refuse([{"loc": "$", "msg": f"not valid JSON: {error}"}])
    if duplicates:
        errors = [
            {"loc": json_path((*path, key)), "msg": f"{key!r} appears more than once in this object; a name may "
                                                     "be used only once (JSON keeps only the last)"}
            for path, node in _walk(value) if id(node) in duplicates
            for key in dict.fromkeys(duplicates[id(node)])
        ]
        _refuse(errors)
    return value


# Export --------------------------------------------------------------------------------------------------------


def export(
    document: object, *, device_id_placeholder: str = "{deviceId}", mqtt_url: str, api_url: str
) -> dict[str, Any]:
    """The model as a TD with makercloud's bindings (DESIGN §5) in place of its own: every affordance's forms are
    replaced, root forms dropped, and `base`, `security` and `securityDefinitions` set to makercloud's. A Thing
    Model stays a Thing Model. The result passes `validate`."""
    validate(document)  # refuses what is not valid, with the same errors
    assert isinstance(document, dict)
    td = copy.deepcopy(document)
    api = api_url.rstrip("/")
    device = device_id_placeholder
    td["@context"] = _context_with_bindings(td.get("@context"))
    td.pop("forms", None)
    td["base"] = api + "/"
    td["securityDefinitions"] = {
        HTTP_SECURITY: {
            "scheme": "bearer", "in": "header", "name": "Authorization",
            "description": "makercloud HTTP API: an OAuth 2 access token of an app, or a personal access token.",
        },
        MQTT_SECURITY: {
            "scheme": "basic",
            "description": "makercloud MQTT broker: client id = username = the device id, password = the device "
                           "secret shown once at provisioning.",
        },
    }
    td["security"] = [HTTP_SECURITY]
    variable = _TEMPLATE_VARIABLE.match(device)
    td.pop("uriVariables", None)
    if variable:
        td["uriVariables"] = {variable.group(1): {"type": "string", "description": "The device id."}}

    def mqtt(op: list[str], topic: str, *, subscribe: bool) -> dict[str, Any]:
        return {
            "href": mqtt_url, "op": op, "contentType": "application/json", "security": [MQTT_SECURITY],
            "mqv:controlPacket": "mqv:subscribe" if subscribe else "mqv:publish",
            ("mqv:filter" if subscribe else "mqv:topic"): topic,
        }

    def http(op: str, method: str, path: str) -> dict[str, Any]:
        return {"href": f"{api}/{path}", "op": op, "htv:methodName": method, "contentType": "application/json",
                "security": [HTTP_SECURITY]}

    for affordance in (td.get("properties") or {}).values():
        forms = []
        if affordance.get("writeOnly") is not True:
            forms.append(mqtt(["observeproperty", "unobserveproperty"], f"devices/{device}/telemetry", subscribe=True))
            forms.append(mqtt(["readproperty", "observeproperty", "unobserveproperty"], f"devices/{device}/reported",
                              subscribe=True))
        if affordance.get("readOnly") is not True:
            forms.append(http("writeproperty", "PATCH", f"devices/{device}/desired"))
        affordance["forms"] = forms
        affordance.pop("uriVariables", None)
    for name, affordance in (td.get("actions") or {}).items():
        affordance["forms"] = [
            http("invokeaction", "POST", f"devices/{device}/actions/{quote(name, safe='')}"),
            mqtt(["invokeaction"], f"devices/{device}/actions/invoke", subscribe=False),
        ]
        affordance.pop("uriVariables", None)
    for name, affordance in (td.get("events") or {}).items():
        affordance["forms"] = [
            mqtt(["subscribeevent", "unsubscribeevent"], f"devices/{device}/events/{name}", subscribe=True),
        ]
        affordance.pop("uriVariables", None)
    return td


def _context_with_bindings(context: Any) -> list[Any]:
    entries = list(context) if isinstance(context, list) else [context]
    entries.append({"mqv": MQTT_VOCABULARY, "htv": HTTP_VOCABULARY})
    return entries


# Small pieces --------------------------------------------------------------------------------------------------


def json_path(path: Path_) -> str:
    """A location as a JSON path, written as jsonschema writes `ValidationError.json_path`."""
    text = "$"
    for part in path:
        if isinstance(part, int):
            text += f"[{part}]"
        elif _PLAIN_KEY.match(part):
            text += "." + part
        else:
            text += "['" + part.replace("\\", "\\\\").replace("'", "\\'") + "']"
    return text


def _walk(value: Any, path: Path_ = ()) -> Iterator[tuple[Path_, Any]]:
    yield path, value
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, (*path, index))


def _paths_of_key(value: Any, key: str, *, strings_only: bool = False) -> list[Path_]:
    return [
        (*path, key) for path, node in _walk(value)
        if isinstance(node, dict) and key in node and (not strings_only or isinstance(node[key], str))
    ]


def _forms(document: dict[str, Any]) -> Iterator[tuple[Path_, dict[str, Any]]]:
    containers: list[tuple[Path_, Any]] = [((), document)]
    for kind in ("properties", "actions", "events"):
        if isinstance(document.get(kind), dict):
            containers += [((kind, name), affordance) for name, affordance in document[kind].items()]
    for path, container in containers:
        forms = container.get("forms") if isinstance(container, dict) else None
        if isinstance(forms, list):
            for index, form in enumerate(forms):
                if isinstance(form, dict):
                    yield (*path, "forms", index), form


def _is_number(value: object) -> TypeGuard[int | float]:
    return type(value) is int or type(value) is float


def _is_placeholder(value: object) -> bool:
    return isinstance(value, str) and _PLACEHOLDER.match(value) is not None


def _json_type(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _shorten(text: str, limit: int = 300) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _thaw(value: Any) -> Any:
    """A plain-dict deep copy of a frozen schema, for jsonschema (which wants dicts)."""
    if isinstance(value, Mapping):
        return {key: _thaw(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_thaw(item) for item in value]
    return value
