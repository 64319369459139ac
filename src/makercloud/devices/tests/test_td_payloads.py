"""PayloadValidator: what the gateway checks for every message, and that it never raises. Pure tests."""

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from makercloud.devices import td
from makercloud.devices.errors import InvalidThingDescription

FORMS = [{"href": "https://oven.example/x"}]
MODEL: dict[str, Any] = {
    "@context": "https://www.w3.org/2022/wot/td/v1.1",
    "title": "Oven",
    "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
    "security": "nosec_sc",
    "properties": {
        "temperature": {"type": "number", "minimum": 0, "maximum": 300, "readOnly": True, "forms": FORMS},
        "timer": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 7200, "forms": FORMS},
        "door": {"type": "boolean", "readOnly": True, "forms": FORMS},
        "mode": {"type": "string", "enum": ["bake", "grill", "fan"], "forms": FORMS},
        "label": {"type": "string", "minLength": 1, "maxLength": 8, "forms": FORMS},
        "rack": {"type": "object", "properties": {"level": {"type": "integer", "minimum": 1, "maximum": 4}},
                 "required": ["level"], "forms": FORMS},
        "pin": {"type": "string", "writeOnly": True, "forms": FORMS},
        "anything": {"description": "no schema", "forms": FORMS},
    },
    "actions": {
        "preheat": {"input": {"type": "object", "properties": {"to": {"type": "number", "maximum": 250}},
                              "required": ["to"]},
                    "output": {"type": "string", "enum": ["done", "aborted"]}, "forms": FORMS},
        "stop": {"forms": FORMS},
    },
    "events": {"overheat": {"data": {"type": "number", "minimum": 0}, "forms": FORMS}},
}


@pytest.fixture(scope="module")
def oven() -> td.PayloadValidator:
    return td.payload_validator(MODEL)


def test_good_telemetry_passes(oven: td.PayloadValidator):
    assert oven.check_telemetry({"temperature": 180.5, "timer": 60, "door": False, "mode": "bake", "label": "pie",
                                 "rack": {"level": 2}, "anything": [1, {"x": None}]}) == []
    assert oven.check_reported({"temperature": 0, "timer": 7199.0}) == []


@pytest.mark.parametrize(("values", "expected"), [
    ({"temperature": 301}, "temperature: 301 is greater than the maximum of 300"),
    ({"temperature": -0.5}, "temperature: -0.5 is less than the minimum of 0"),
    ({"temperature": True}, "temperature: True is not of type 'number'"),
    ({"temperature": "20"}, "temperature: '20' is not of type 'number'"),
    ({"timer": 0}, "timer: 0 is less than or equal to the minimum of 0"),
    ({"timer": 7200}, "timer: 7200 is greater than or equal to the maximum of 7200"),
    ({"timer": 1.5}, "timer: 1.5 is not of type 'integer'"),
    ({"door": 1}, "door: 1 is not of type 'boolean'"),
    ({"mode": "steam"}, "mode: 'steam' is not one of ['bake', 'fan', 'grill']"),
    ({"label": ""}, "label: '' is shorter than 1 characters"),
    ({"label": "123456789"}, "label: '123456789' is longer than 8 characters"),
    ({"rack": {"level": 9}}, "rack.level: 9 is greater than the maximum of 4"),
    ({"rack": {}}, "rack: 'level' is a required property"),
    ({"pin": "1234"}, "pin: the property is writeOnly and cannot be reported by a device"),
])
def test_bad_telemetry_values_are_named(oven: td.PayloadValidator, values: dict[str, Any], expected: str):
    assert oven.check_telemetry(values) == [expected]
    assert oven.check_reported(values) == [expected]


def test_unknown_properties_are_errors(oven: td.PayloadValidator):
    [error] = oven.check_telemetry({"temprature": 20})
    assert error.startswith("temprature: unknown property (the model has: anything, door, label")


@pytest.mark.parametrize("values", [None, [], "x", 3, [{"temperature": 1}]])
def test_telemetry_that_is_not_an_object_is_an_error(oven: td.PayloadValidator, values: Any):
    [error] = oven.check_telemetry(values)
    assert error.startswith("expected an object of property: value")


def test_all_bad_values_of_a_message_are_reported(oven: td.PayloadValidator):
    assert len(oven.check_telemetry({"temperature": 999, "door": "open", "ghost": 1, "timer": 5})) == 3


def test_desired_state_takes_only_writable_properties(oven: td.PayloadValidator):
    assert oven.check_desired({"timer": 30, "pin": "0000", "mode": "fan"}) == []
    assert oven.check_desired({"temperature": 100}) == [
        "temperature: the property is readOnly and cannot be set"]


def test_events_and_actions(oven: td.PayloadValidator):
    assert oven.check_event("overheat", 320.0) == []
    assert oven.check_event("overheat", -1) == ["data: -1 is less than the minimum of 0"]
    assert oven.check_event("smoke", 1) == ["unknown event 'smoke' (the model has: overheat)"]
    assert oven.check_action_input("preheat", {"to": 200}) == []
    assert oven.check_action_input("preheat", {"to": 260}) == ["input.to: 260 is greater than the maximum of 250"]
    assert oven.check_action_input("preheat", None) == ["input: None is not of type 'object'"]
    assert oven.check_action_input("stop", None) == []  # no input schema: unconstrained
    assert oven.check_action_input("explode", None)[0].startswith("unknown action 'explode'")
    assert oven.check_action_output("preheat", "done") == []
    assert oven.check_action_output("preheat", "burnt") == ["output: 'burnt' is not one of ['aborted', 'done']"]


def test_validators_are_cached_by_content_hash():
    first = td.payload_validator(MODEL)
    assert td.payload_validator(MODEL, content_hash=td.content_hash(MODEL)) is first
    other = {**MODEL, "title": "Other oven"}
    assert td.payload_validator(other) is not first


def test_an_invalid_model_gets_no_validator():
    with pytest.raises(InvalidThingDescription):
        td.payload_validator({**MODEL, "security": "missing"})


# Properties ------------------------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=12),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4),
    max_leaves=12,
)
property_names = st.sampled_from(sorted(MODEL["properties"])) | st.text(max_size=10)


@settings(max_examples=300, deadline=None)
@given(payload=st.dictionaries(property_names, json_values, max_size=8) | json_values)
def test_random_payloads_never_raise(payload: Any):
    oven = td.payload_validator(MODEL)
    for check in (oven.check_telemetry, oven.check_reported, oven.check_desired):
        errors = check(payload)
        assert isinstance(errors, list) and all(isinstance(error, str) and error for error in errors)
    for errors in (oven.check_event("overheat", payload), oven.check_action_input("preheat", payload),
                   oven.check_action_output("preheat", payload), oven.check_event(str(payload)[:5], payload)):
        assert isinstance(errors, list) and all(isinstance(error, str) for error in errors)


@settings(max_examples=300, deadline=None)
@given(values=st.fixed_dictionaries({}, optional={
    "temperature": st.floats(min_value=0, max_value=300) | st.integers(min_value=0, max_value=300),
    "timer": st.integers(min_value=1, max_value=7199),
    "door": st.booleans(),
    "mode": st.sampled_from(["bake", "grill", "fan"]),
    "label": st.text(min_size=1, max_size=8),
    "rack": st.fixed_dictionaries({"level": st.integers(min_value=1, max_value=4)}),
    "anything": json_values,
}))
def test_values_inside_the_schema_pass(values: dict[str, Any]):
    assert td.payload_validator(MODEL).check_telemetry(values) == []


SCALAR_SCHEMAS = [
    {"type": "boolean"},
    {"type": "number"},
    {"type": "number", "minimum": -1.5, "maximum": 2},
    {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
    {"type": "integer", "minimum": 0},
    {"type": "string", "enum": ["a", "b"]},
    {"type": "string", "minLength": 2, "maxLength": 3},
]


@pytest.mark.parametrize("schema", SCALAR_SCHEMAS, ids=str)
def test_scalar_schemas_take_the_fast_path(schema: dict[str, Any]):
    assert td._scalar_check(schema) is not None


@settings(max_examples=400, deadline=None)
@given(schema=st.sampled_from(SCALAR_SCHEMAS),
       value=json_values | st.floats() | st.integers(min_value=-3, max_value=12) | st.sampled_from([1.0, 2.0, "ab"]))
def test_the_fast_path_decides_as_jsonschema_does(schema: dict[str, Any], value: Any):
    fast = td._scalar_check(schema)
    assert fast is not None
    assert (not fast("v", value)) == Draft7Validator(schema).is_valid(value)
