"""The W3C WoT plugfest corpus: every valid TD is accepted and exports to a valid TD; every invalid one is refused
with errors that name JSON paths. Pure tests: no database."""

import json
import os
from pathlib import Path
from typing import Any

import pytest

from makercloud.core.errors import InvalidInput
from makercloud.devices import td
from makercloud.devices.errors import InvalidThingDescription

SHARED = Path(os.environ["MAKERCLOUD_SHARED"]) if os.environ.get("MAKERCLOUD_SHARED") else (
    Path(__file__).parents[4].parent / "shared"
)
WOT = SHARED / "wot"
CORPUS = WOT / "corpus"
MQTT_URL = "mqtt://mqtt.makercloud.test:1883"
API_URL = "https://makercloud.test/api/v1"

needs_corpus = pytest.mark.skipif(not CORPUS.is_dir(), reason=f"the shared WoT corpus is not at {CORPUS}")


def corpus(kind: str) -> list[Path]:
    return sorted((CORPUS / kind).glob("*.jsonld")) if CORPUS.is_dir() else []


def load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def refusal(document: Any) -> InvalidThingDescription:
    with pytest.raises(InvalidThingDescription) as caught:
        td.validate(document)
    return caught.value


@needs_corpus
def test_the_corpus_is_there():
    assert len(corpus("valid")) == 309
    assert len(corpus("invalid")) == 21


@needs_corpus
@pytest.mark.parametrize("path", corpus("valid"), ids=lambda path: path.name)
def test_every_valid_corpus_document_is_accepted_and_its_export_too(path: Path):
    document = load(path)
    spec = td.validate(document)
    assert spec.title == document["title"]
    assert set(spec.properties) == set(document.get("properties") or {})

    exported = td.export(document, mqtt_url=MQTT_URL, api_url=API_URL)

    again = td.validate(exported)
    assert set(again.properties) == set(spec.properties)
    assert set(again.actions) == set(spec.actions)
    assert set(again.events) == set(spec.events)
    assert "forms" not in exported
    for kind in ("properties", "actions", "events"):
        for affordance in (exported.get(kind) or {}).values():
            assert affordance["forms"], "every affordance gets makercloud's forms"
            assert all(form["href"] in (MQTT_URL,) or form["href"].startswith(API_URL + "/")
                       for form in affordance["forms"]), "none of the original bindings survives"
    assert document == load(path), "export does not touch its input"


@needs_corpus
@pytest.mark.parametrize("path", corpus("invalid"), ids=lambda path: path.name)
def test_every_invalid_corpus_document_is_refused_with_json_paths(path: Path):
    error = refusal(load(path))

    assert isinstance(error, InvalidInput)
    assert error.type == "invalid-thing-description"
    assert error.errors and error.extra["errors"] == error.errors
    for item in error.errors:
        assert set(item) == {"loc", "msg"}
        assert item["loc"].startswith("$") and item["msg"]
    assert error.detail.startswith(error.errors[0]["loc"] + ": ")


KNOWN_REASONS = [
    # (file, a loc that must be among the errors, a word its message must contain)
    ("events_2020.09.Online_TDs_TUM_HueIndoorSensor1.td.jsonld",
     "$.properties.lightInformation.properties.state.properties.lastupdated.type", "date-time"),
    ("events_2020.09.Online_TDs_TUM_HueIndoorSensor1.td.jsonld", "$", "security"),
    ("events_2020.09.Online_TDs_UNIBO_gateway.td.jsonld", "$.forms", "non-empty"),
    ("events_2021.06.Online_TD_TDs_Hitachi_hitachi-acc-air.td.jsonld", "$['@context']", "http://www.w3.org/ns/td"),
    ("events_2022.03.Online_TD_logilab_logilabtdd.td.jsonld", "$.actions.createTD.forms[0].response", "contentType"),
    ("events_2021.03.Online_TMs_Siemens_MyLight-Extends-LwM2M.td.jsonld", "$.properties.required", "object"),
]


@needs_corpus
@pytest.mark.parametrize(("name", "loc", "word"), KNOWN_REASONS)
def test_invalid_corpus_documents_are_refused_for_the_right_reason(name: str, loc: str, word: str):
    error = refusal(load(CORPUS / "invalid" / name))

    assert any(item["loc"] == loc and word in item["msg"] for item in error.errors), error.errors


@needs_corpus
def test_the_packaged_schema_is_the_pinned_one():
    assert td.PACKAGED_SCHEMA.read_bytes() == (WOT / "td-1.1-json-schema.json").read_bytes()


def test_the_schema_file_can_be_chosen_by_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path):
    strict = tmp_path / "schema.json"
    strict.write_text(json.dumps({"$schema": "http://json-schema.org/draft-07/schema#", "required": ["mustHave"]}))
    monkeypatch.setenv(td.SCHEMA_ENV, str(strict))
    td._validators.cache_clear()
    try:
        assert td.schema_path() == strict
        error = refusal({"@context": "https://www.w3.org/2022/wot/td/v1.1", "title": "x", "security": "s",
                         "securityDefinitions": {"s": {"scheme": "nosec"}}})
        assert any("mustHave" in item["msg"] for item in error.errors)
    finally:
        monkeypatch.delenv(td.SCHEMA_ENV)
        td._validators.cache_clear()
    assert td.schema_path() == td.PACKAGED_SCHEMA
