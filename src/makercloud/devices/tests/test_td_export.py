"""export(): the model with makercloud's bindings (DESIGN §5) instead of its own. Pure tests."""

from typing import Any

from makercloud.devices import td

MQTT = "mqtts://mqtt.makercloud.test:8883"
API = "https://makercloud.test/api/v1/"
FORMS = [{"href": "coap://lamp.local/x", "op": ["readproperty", "writeproperty"]}]


def lamp() -> dict[str, Any]:
    return {
        "@context": "https://www.w3.org/2019/wot/td/v1",
        "title": "Lamp",
        "base": "coap://lamp.local/",
        "securityDefinitions": {"psk_sc": {"scheme": "psk"}},
        "security": ["psk_sc"],
        "forms": [{"href": "coap://lamp.local/all", "op": "readallproperties"}],
        "properties": {
            "on": {"type": "boolean", "forms": FORMS},
            "power": {"type": "number", "readOnly": True, "forms": FORMS,
                      "uriVariables": {"unit": {"type": "string"}}},
            "code": {"type": "string", "writeOnly": True, "forms": FORMS},
        },
        "actions": {"调光": {"input": {"type": "integer"}, "forms": [{"href": "coap://lamp.local/fade"}]}},
        "events": {"overheated": {"data": {"type": "number"}, "forms": [{"href": "coap://lamp.local/oh"}]}},
    }


def test_bindings_are_replaced_by_makercloud_ones():
    exported = td.export(lamp(), mqtt_url=MQTT, api_url=API)

    assert exported["base"] == "https://makercloud.test/api/v1/"
    assert "forms" not in exported
    assert exported["security"] == ["makercloud_bearer"]
    assert exported["securityDefinitions"]["makercloud_bearer"]["scheme"] == "bearer"
    assert exported["securityDefinitions"]["makercloud_device"]["scheme"] == "basic"
    assert "psk_sc" not in exported["securityDefinitions"]
    assert exported["uriVariables"] == {"deviceId": {"type": "string", "description": "The device id."}}
    assert exported["@context"] == ["https://www.w3.org/2019/wot/td/v1",
                                    {"mqv": "https://www.w3.org/2019/wot/mqtt#", "htv": "http://www.w3.org/2011/http#"}]

    on = exported["properties"]["on"]["forms"]
    assert [(form.get("mqv:filter"), form.get("htv:methodName"), form["op"]) for form in on] == [
        ("devices/{deviceId}/telemetry", None, ["observeproperty", "unobserveproperty"]),
        ("devices/{deviceId}/reported", None, ["readproperty", "observeproperty", "unobserveproperty"]),
        (None, "PATCH", "writeproperty"),
    ]
    assert on[0]["href"] == MQTT and on[0]["mqv:controlPacket"] == "mqv:subscribe"
    assert on[0]["security"] == ["makercloud_device"]
    assert on[2]["href"] == "https://makercloud.test/api/v1/devices/{deviceId}/desired"
    assert on[2]["security"] == ["makercloud_bearer"]

    power = exported["properties"]["power"]
    assert [form["op"] for form in power["forms"]][-1] != "writeproperty"  # read-only: no write form
    assert "uriVariables" not in power
    assert [form["op"] for form in exported["properties"]["code"]["forms"]] == ["writeproperty"]  # write-only

    http, mqtt = exported["actions"]["调光"]["forms"]
    assert (http["href"], http["htv:methodName"], http["op"]) == (
        "https://makercloud.test/api/v1/devices/{deviceId}/actions/%E8%B0%83%E5%85%89", "POST", "invokeaction")
    assert (mqtt["mqv:topic"], mqtt["mqv:controlPacket"], mqtt["op"]) == (
        "devices/{deviceId}/actions/invoke", "mqv:publish", ["invokeaction"])

    [event] = exported["events"]["overheated"]["forms"]
    assert (event["mqv:filter"], event["op"]) == ("devices/{deviceId}/events/overheated",
                                                  ["subscribeevent", "unsubscribeevent"])


def test_what_is_not_binding_is_kept():
    exported = td.export(lamp(), mqtt_url=MQTT, api_url=API)
    original = lamp()
    assert exported["title"] == original["title"]
    assert exported["properties"]["power"]["type"] == "number"
    assert exported["actions"]["调光"]["input"] == {"type": "integer"}
    assert exported["events"]["overheated"]["data"] == {"type": "number"}


def test_an_invalid_model_is_not_exported():
    document = lamp()
    document["actions"]["fade to"] = {"forms": [{"href": "coap://lamp.local/fade"}]}
    assert [error["loc"] for error in _errors(document)] == ["$.actions['fade to']"]


def test_export_for_one_device_writes_its_id_and_declares_no_variable():
    document = lamp()
    document["actions"] = {"fade": document["actions"].pop("调光")}
    exported = td.export(document, device_id_placeholder="d_0123", mqtt_url=MQTT, api_url=API)

    assert "uriVariables" not in exported
    assert exported["actions"]["fade"]["forms"][0]["href"] == "https://makercloud.test/api/v1/devices/d_0123/actions/fade"
    td.validate(exported)


def test_the_export_of_a_valid_td_validates():
    document = lamp()
    document["actions"] = {"fade": document["actions"].pop("调光")}
    spec = td.validate(td.export(document, mqtt_url=MQTT, api_url=API))
    assert set(spec.properties) == {"on", "power", "code"}


def test_a_thing_model_exports_as_a_thing_model():
    model = {"@context": ["https://www.w3.org/2022/wot/td/v1.1"], "@type": "tm:ThingModel", "title": "Lamp",
             "properties": {"level": {"type": "integer", "maximum": "{{MAX}}"}}}
    exported = td.export(model, mqtt_url=MQTT, api_url=API)

    spec = td.validate(exported)
    assert spec.is_thing_model
    assert exported["properties"]["level"]["maximum"] == "{{MAX}}"
    assert exported["properties"]["level"]["forms"]


def _errors(document: dict[str, Any]) -> list[dict[str, str]]:
    try:
        td.export(document, mqtt_url=MQTT, api_url=API)
    except td.InvalidThingDescription as error:
        return error.errors
    return []
