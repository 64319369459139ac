"""What validate() checks beyond the TD 1.1 schema, what it returns, and parse()/content_hash(). Pure tests."""

import copy
import hashlib
from typing import Any

import pytest

from makercloud.devices import td
from makercloud.devices.errors import InvalidThingDescription

CONTEXT = "https://www.w3.org/2022/wot/td/v1.1"
FORMS = [{"href": "https://fridge.example/x"}]


def thing(**affordances: Any) -> dict[str, Any]:
    """A small valid TD; keyword arguments replace or add top-level members."""
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "id": "urn:example:fridge",
        "title": "Fridge",
        "description": "A fridge with a door sensor.",
        "securityDefinitions": {"nosec_sc": {"scheme": "nosec"}},
        "security": "nosec_sc",
        "properties": {
            "temperature": {"type": "number", "minimum": -30, "maximum": 10, "unit": "cel", "readOnly": True,
                            "observable": True, "forms": FORMS},
            "target": {"type": "number", "minimum": -25, "maximum": 8, "forms": FORMS},
            "pin": {"type": "string", "writeOnly": True, "forms": FORMS},
        },
        "actions": {
            "defrost": {"input": {"type": "integer", "minimum": 1, "maximum": 60}, "output": {"type": "boolean"},
                        "idempotent": True, "forms": FORMS},
            "ping": {"safe": True, "forms": FORMS},
        },
        "events": {"doorOpened": {"data": {"type": "string", "enum": ["front", "freezer"]}, "forms": FORMS}},
    }
    document.update(affordances)
    return document


def with_property(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    document = thing()
    document["properties"][name] = {**schema, "forms": FORMS}
    return document


def errors_of(document: Any) -> list[dict[str, str]]:
    with pytest.raises(InvalidThingDescription) as caught:
        td.validate(document)
    return caught.value.errors


def locs(document: Any) -> set[str]:
    return {error["loc"] for error in errors_of(document)}


# What a valid model gives back -----------------------------------------------------------------------------------


def test_a_valid_td_is_compiled():
    spec = td.validate(thing())

    assert (spec.title, spec.description, spec.id, spec.is_thing_model) == (
        "Fridge", "A fridge with a door sensor.", "urn:example:fridge", False)
    assert spec.content_hash == td.content_hash(thing())
    temperature = spec.properties["temperature"]
    assert temperature.schema == {"type": "number", "minimum": -30, "maximum": 10}
    assert (temperature.read_only, temperature.write_only, temperature.observable, temperature.unit) == (
        True, False, True, "cel")
    assert spec.properties["pin"].write_only and not spec.properties["pin"].read_only
    defrost = spec.actions["defrost"]
    assert defrost.input == {"type": "integer", "minimum": 1, "maximum": 60}
    assert defrost.output == {"type": "boolean"}
    assert (defrost.safe, defrost.idempotent) == (False, True)
    assert spec.actions["ping"].input is None and spec.actions["ping"].safe
    assert spec.events["doorOpened"].data == {"type": "string", "enum": ["front", "freezer"]}
    assert spec.warnings == ()


def test_the_spec_is_frozen():
    spec = td.validate(thing())
    with pytest.raises(AttributeError):
        spec.title = "Other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        spec.properties["x"] = spec.properties["temperature"]  # type: ignore[index]


@pytest.mark.parametrize("document", [[], "td", 3, None, [{"title": "x"}]])
def test_anything_but_an_object_is_refused(document: Any):
    [error] = errors_of(document)
    assert error["loc"] == "$" and "a Thing Description is a JSON object" in error["msg"]


# Security ------------------------------------------------------------------------------------------------------


def test_an_undefined_security_name_is_refused():
    errors = errors_of(thing(security="basic_sc"))
    assert errors == [{"loc": "$.security", "msg": "security scheme 'basic_sc' is not defined in securityDefinitions "
                                                   "(defined: 'nosec_sc')"}]


def test_undefined_security_names_in_lists_combos_and_forms_are_refused():
    document = thing(security=["nosec_sc", "oauth"])
    document["securityDefinitions"]["both"] = {"scheme": "combo", "oneOf": ["nosec_sc", "psk"]}
    document["properties"]["target"]["forms"] = [{"href": "https://x/", "security": "apikey"}]

    assert locs(document) == {"$.security[1]", "$.securityDefinitions.both.oneOf[1]",
                              "$.properties.target.forms[0].security"}


# Ranges and lengths --------------------------------------------------------------------------------------------


def test_minimum_above_maximum_two_levels_deep_is_refused():
    document = with_property("shelf", {
        "type": "object",
        "properties": {"tray": {"type": "object", "properties": {"height": {"type": "number", "minimum": 10,
                                                                             "maximum": 1}}}},
    })
    errors = errors_of(document)

    assert errors == [{"loc": "$.properties.shelf.properties.tray.properties.height.minimum",
                       "msg": "minimum 10 is greater than maximum 1: no value can fit"}]


@pytest.mark.parametrize(("schema", "loc"), [
    ({"type": "number", "exclusiveMinimum": 5, "exclusiveMaximum": 5}, "exclusiveMinimum"),
    ({"type": "number", "minimum": 5, "exclusiveMaximum": 5}, "minimum"),
    ({"type": "number", "exclusiveMinimum": 7, "maximum": 5}, "exclusiveMinimum"),
    ({"type": "string", "minLength": 4, "maxLength": 3}, "minLength"),
    ({"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 1}, "minItems"),
])
def test_empty_ranges_are_refused(schema: dict[str, Any], loc: str):
    assert locs(with_property("p", schema)) == {f"$.properties.p.{loc}"}


def test_equal_bounds_are_fine():
    td.validate(with_property("p", {"type": "integer", "minimum": 3, "maximum": 3}))


def test_empty_ranges_in_action_input_are_refused():
    document = thing()
    document["actions"]["defrost"]["input"] = {"type": "array", "items": {"type": "integer", "minimum": 9,
                                                                          "maximum": 0}}
    assert locs(document) == {"$.actions.defrost.input.items.minimum"}


# Malformed data schemas ----------------------------------------------------------------------------------------


def test_a_misspelt_type_is_refused_with_a_suggestion():
    document = with_property("level", {"type": "object", "properties": {"value": {"type": "integr"}}})
    errors = errors_of(document)

    assert [error["loc"] for error in errors] == ["$.properties.level.properties.value.type"]
    assert "unknown type 'integr'" in errors[0]["msg"] and "did you mean 'integer'" in errors[0]["msg"]


def test_a_misspelt_type_in_event_data_is_refused():
    document = thing()
    document["events"]["doorOpened"]["data"] = {"type": "strnig"}
    assert locs(document) == {"$.events.doorOpened.data.type"}


def test_an_enum_of_the_wrong_type_is_refused():
    errors = errors_of(with_property("speed", {"type": "number", "enum": [1, "fast", 3]}))

    assert [error["loc"] for error in errors] == ["$.properties.speed.enum[1]"]
    assert "'fast' does not fit this data schema (type 'number')" in errors[0]["msg"]


@pytest.mark.parametrize(("schema", "loc"), [
    ({"type": "boolean", "const": "yes"}, "const"),
    ({"type": "integer", "default": 1.5}, "default"),
    ({"type": "integer", "minimum": 0, "default": -1}, "default"),
    ({"type": "string", "enum": []}, "enum"),
])
def test_const_default_and_enum_must_fit(schema: dict[str, Any], loc: str):
    assert f"$.properties.p.{loc}" in locs(with_property("p", schema))


@pytest.mark.parametrize(("schema", "loc"), [
    ({"type": "array", "items": 5}, "items"),
    ({"type": "array", "items": [{"type": "number"}, "number"]}, "items[1]"),
    ({"type": "object", "properties": {"a": "number"}}, "properties.a"),
    ({"oneOf": [{"type": "number"}, True]}, "oneOf[1]"),
    ({"type": "string", "pattern": "(unclosed"}, "pattern"),
    ({"type": "string", "pattern": 5}, "pattern"),
    ({"type": "object", "properties": {"a": {"$ref": "#/definitions/a"}}}, "properties.a['$ref']"),
])
def test_things_that_are_not_schemas_are_refused(schema: dict[str, Any], loc: str):
    assert f"$.properties.p.{loc}" in locs(with_property("p", schema))


def test_required_naming_an_absent_member_of_an_open_object_is_a_warning():
    spec = td.validate(with_property("door", {"type": "object", "properties": {"open": {"type": "boolean"}},
                                              "required": ["open", "angle"]}))

    assert spec.warnings == ({"loc": "$.properties.door.required[1]",
                              "msg": "'angle' is required but is not among the properties defined here"},)


def test_required_naming_an_absent_member_of_a_closed_object_is_refused():
    document = with_property("door", {"type": "object", "properties": {"open": {"type": "boolean"}},
                                      "required": ["angle"], "additionalProperties": False})
    assert locs(document) == {"$.properties.door.required[0]"}


# Names and binding ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a/b", "a+b", "level#2", "door open", "tab\there", "", "x" * 121, "..", "nul\x00"])
@pytest.mark.parametrize("kind", ["properties", "actions", "events"])
def test_names_that_are_not_topic_levels_or_path_segments_are_refused(kind: str, name: str):
    document = thing()
    document[kind][name] = {"forms": FORMS}

    assert locs(document) == {td.json_path((kind, name))}


@pytest.mark.parametrize("name", ["temp-1", "温度", "x" * 120, "door.open", "$sys"])
def test_names_that_work_as_topic_levels_are_accepted(name: str):
    document = thing()
    document["properties"][name] = {"type": "boolean", "forms": FORMS}
    assert name in td.validate(document).properties


def test_a_property_both_read_only_and_write_only_cannot_be_bound():
    assert locs(with_property("p", {"type": "number", "readOnly": True, "writeOnly": True})) == {
        "$.properties.p.writeOnly"}


def test_a_property_without_a_type_is_bound_as_any_json_value():
    spec = td.validate(with_property("image", {"description": "A snapshot"}))
    assert spec.properties["image"].schema == {}


# All errors, in one go -----------------------------------------------------------------------------------------


def test_all_errors_are_collected_and_the_detail_names_the_first():
    document = thing(security="missing")
    document["properties"]["temperature"]["minimum"] = 50
    document["actions"]["bad/name"] = {"forms": FORMS}
    del document["title"]

    with pytest.raises(InvalidThingDescription) as caught:
        td.validate(document)
    error = caught.value

    assert [item["loc"] for item in error.errors] == [
        "$", "$.actions['bad/name']", "$.properties.temperature.minimum", "$.security"]
    assert error.detail == "$: 'title' is a required property (and 3 more)"
    assert error.extra == {"errors": error.errors}
    assert error.status == 422 and error.type == "invalid-thing-description"


# Thing Models --------------------------------------------------------------------------------------------------


def thing_model(**members: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "@type": "tm:ThingModel",
        "title": "Lamp model",
        "properties": {"brightness": {"type": "integer", "minimum": 0, "maximum": "{{MAX_BRIGHTNESS}}"},
                       "on": {"type": "boolean"}},
        "actions": {"toggle": {}},
    }
    document.update(members)
    return document


def test_a_thing_model_needs_no_forms_or_security_and_may_use_placeholders():
    spec = td.validate(thing_model())

    assert spec.is_thing_model
    assert spec.properties["brightness"].schema == {"type": "integer", "minimum": 0}


def test_a_td_may_not_leave_out_forms_and_security():
    document = thing_model()
    document["@type"] = "Lamp"
    assert {"$", "$.properties.brightness", "$.properties.brightness.maximum"} <= locs(document)


def test_a_thing_model_still_gets_the_semantic_checks():
    document = thing_model(security="nosec_sc", securityDefinitions={"other": {"scheme": "nosec"}})
    document["properties"]["level"] = {"type": "integr", "minimum": 5, "maximum": 1}
    assert locs(document) == {"$.security", "$.properties.level.type", "$.properties.level.minimum"}


def test_a_thing_model_must_be_self_contained():
    document = thing_model(links=[{"rel": "tm:extends", "href": "https://example.com/base.tm.jsonld"}])
    document["properties"]["colour"] = {"tm:ref": "https://example.com/colour.tm.jsonld#/properties/colour"}
    document["tm:required"] = ["#/properties/on", "#/properties/missing"]

    assert locs(document) == {"$.links[0].rel", "$.properties.colour['tm:ref']", "$['tm:required'][1]"}


# parse() and content_hash() ------------------------------------------------------------------------------------


def test_parse_refuses_duplicate_names_with_their_path():
    text = '{"title": "x", "properties": {"temp": {"type": "number"}, "temp": {"type": "string"}}, "title": "y"}'
    with pytest.raises(InvalidThingDescription) as caught:
        td.parse(text)
    assert {error["loc"] for error in caught.value.errors} == {"$.title", "$.properties.temp"}


@pytest.mark.parametrize("text", ['{"a": NaN}', '{"a": ', b"\xff\xfe\x00", "[1,]"])
def test_parse_refuses_what_is_not_json(text: str | bytes):
    with pytest.raises(InvalidThingDescription) as caught:
        td.parse(text)
    assert caught.value.errors[0]["loc"] == "$"


def test_parse_gives_plain_json():
    assert td.parse(b'{"b": [1, {"c": null}], "a": "\xc3\xa9"}') == {"b": [1, {"c": None}], "a": "é"}


def test_content_hash_is_sha256_of_canonical_json():
    assert td.content_hash({"b": "é", "a": [1, 2.5]}) == hashlib.sha256(
        '{"a":[1,2.5],"b":"é"}'.encode()).hexdigest()
    reordered = dict(reversed(list(thing().items())))
    assert td.content_hash(reordered) == td.content_hash(thing())
    changed = copy.deepcopy(thing())
    changed["properties"]["target"]["maximum"] = 9
    assert td.content_hash(changed) != td.content_hash(thing())
