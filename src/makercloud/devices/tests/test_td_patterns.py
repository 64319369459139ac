"""Patterns in device models run on RE2: a catastrophic one costs linear time, and what RE2 cannot run is refused
when the model is published, naming where it is."""

import copy
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.devices import services, td
from makercloud.devices.errors import InvalidThingDescription
from makercloud.devices.models import DeviceModel
from makercloud.devices.tests.conftest import LAMP
from makercloud.ventures.models import Venture

HOSTILE = "^(a+)+$"  # exponential backtracking on "aaa…a!" with a backtracking engine such as Python's re
FORMS = [{"href": "https://keypad.example/x"}]


def _model(**properties: Any) -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/2022/wot/td/v1.1",
        "title": "Keypad",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": {name: {**schema, "forms": FORMS} for name, schema in properties.items()},
    }


def test_a_catastrophic_pattern_rejects_a_long_near_match_and_accepts_a_match() -> None:
    keypad = td.payload_validator(_model(
        code={"type": "string", "pattern": HOSTILE},
        tags={"type": "object", "patternProperties": {HOSTILE: {"type": "integer"}}, "additionalProperties": False},
    ))

    assert keypad.check_telemetry({"code": "a" * 50 + "!"}) == [f"code: {'a' * 50 + '!'!r} does not match {HOSTILE!r}"]
    assert keypad.check_telemetry({"code": "a" * 5000}) == []
    (problem,) = keypad.check_telemetry({"tags": {"a" * 50 + "!": 1}})
    assert "does not match any of the regexes" in problem
    assert keypad.check_telemetry({"tags": {"aaaa": 1}}) == []
    assert keypad.check_telemetry({"tags": {"aaaa": "one"}}) == ["tags.aaaa: 'one' is not of type 'integer'"]


def test_a_hostile_default_is_tried_in_linear_time_when_the_model_is_published() -> None:
    with pytest.raises(InvalidThingDescription) as refused:
        td.validate(_model(code={"type": "string", "pattern": HOSTILE, "default": "a" * 50 + "!"}))
    assert [error["loc"] for error in refused.value.errors] == ["$.properties.code.default"]


@pytest.mark.parametrize(("pattern", "text", "matches"), [
    ("^\\u00e9t\\u00e9$", "été", True),  # ECMA-262's \uXXXX escapes
    ("^\\\\u00e9$", "\\u00e9", True),  # an escaped backslash followed by 'u' is not an escape
    ("^\\d+$", "١٢٣", False),  # \d is ASCII digits in ECMA-262 (Python's re would take Arabic-Indic digits)
    ("^\\d+$", "123", True),
    ("^on$", "on\n", False),  # $ is the very end in ECMA-262 (Python's re also matches before a final newline)
    ("(?<year>\\d{4})-\\d{2}", "on 2026-11 it", True),  # named groups, searched anywhere
])
def test_patterns_mean_what_ecma_262_says(pattern: str, text: str, matches: bool) -> None:
    problems = td.payload_validator(_model(value={"type": "string", "pattern": pattern})).check_telemetry(
        {"value": text})
    assert (problems == []) is matches, problems


@pytest.mark.parametrize(("schema", "loc", "reason"), [
    ({"type": "string", "pattern": "^(?=.*\\d)\\w+$"}, "$.properties.pin.pattern", "look-ahead"),
    ({"type": "string", "pattern": "^(?<!x)y$"}, "$.properties.pin.pattern", "look-behind"),
    ({"type": "object", "patternProperties": {"^(a)\\1$": {}}}, "$.properties.pin.patternProperties['^(a)\\\\1$']",
     "back-references"),
    ({"type": "string", "pattern": "a{1000}{1000}"}, "$.properties.pin.pattern", "bad repetition"),
])
def test_a_pattern_re2_cannot_run_is_refused_naming_where_and_why(schema: dict[str, Any], loc: str,
                                                                   reason: str) -> None:
    with pytest.raises(InvalidThingDescription) as refused:
        td.validate(_model(pin=schema))
    (error,) = [e for e in refused.value.errors if "pattern" in e["loc"]]
    assert error["loc"] == loc
    assert reason in error["msg"] and "RE2" in error["msg"]


def test_the_api_refuses_a_look_ahead_with_a_readable_problem(maker_client: Client, venture: Venture) -> None:
    document = copy.deepcopy(LAMP)
    document["properties"]["scene"]["properties"]["name"]["pattern"] = "^(?=[A-Z])\\w+$"
    response = maker_client.post(f"/api/v1/ventures/{venture.pk}/device-models", document,
                                 content_type="application/json")
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "$.properties.scene.properties.name.pattern"]
    assert error["msg"].startswith("not a usable regular expression: look-ahead (?=…) is not supported")
    assert not DeviceModel.objects.exists()


def test_a_desired_state_against_a_hostile_pattern_is_refused_naming_its_path(
    maker: User, maker_client: Client, venture: Venture
) -> None:
    document = copy.deepcopy(LAMP)
    document["properties"]["scene"]["properties"]["name"]["pattern"] = HOSTILE
    model, _created = services.device_model_publish(actor=maker, organisation=venture.organisation, document=document)
    device, _secret, _claim = services.device_provision(actor=maker, organisation=venture.organisation, model=model,
                                                        name="Lamp")
    response = maker_client.patch(f"/api/v1/devices/{device.pk}/desired",
                                  {"state": {"scene": {"name": "a" * 19 + "!"}}}, content_type="application/json")
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["loc"] == ["body", "state", "scene", "name"]
    assert error["msg"] == f"{'a' * 19 + '!'!r} does not match {HOSTILE!r}"
    device.refresh_from_db()
    assert device.desired == {}
