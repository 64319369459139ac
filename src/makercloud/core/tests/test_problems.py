"""Bad input on the API gets an RFC 9457 problem, never a 500 or a traceback, and writes nothing."""

import re
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import Organisation
from makercloud.core.models import Event
from makercloud.core.problems import TYPE_BASE
from makercloud.ventures import selectors as venture_selectors

VENTURE = {"name": "Cool Fridge", "mission": "Keep food fresh for longer", "origin": "outside"}


def assert_problem(response: Any, status: int, type: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["type"] == TYPE_BASE + type
    assert body["status"] == status
    assert body["title"] and body["detail"]
    assert "Traceback" not in response.content.decode()
    return body


@pytest.fixture
def signed_in(maker: Any, client_for: Any) -> Client:
    return client_for(maker)


def nothing_written() -> tuple[int, int]:
    return Organisation.objects.count(), Event.objects.count()


def test_malformed_json_is_a_400_problem_and_writes_nothing(signed_in: Client) -> None:
    before = nothing_written()
    response = signed_in.post("/api/v1/ventures", '{"name": "x",', content_type="application/json")
    assert_problem(response, 400, "malformed-body")
    assert nothing_written() == before


@pytest.mark.parametrize("body", [b"\xff\xfe not utf-8", b"NaN-ish {", b""])
def test_bodies_that_are_not_json_objects_are_refused(signed_in: Client, body: bytes) -> None:
    response = signed_in.post("/api/v1/ventures", body, content_type="application/json")
    assert response.status_code in {400, 422}
    assert response["Content-Type"] == "application/problem+json"


def test_a_json_array_is_a_validation_problem(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/ventures", "[1, 2]", content_type="application/json")
    assert_problem(response, 422, "validation")


def test_a_form_body_is_refused_as_unsupported_media_type(signed_in: Client) -> None:
    before = nothing_written()
    response = signed_in.post("/api/v1/ventures", "name=x&mission=y&origin=outside",
                              content_type="application/x-www-form-urlencoded")
    body = assert_problem(response, 415, "unsupported-media-type")
    assert "application/x-www-form-urlencoded" in body["detail"]
    assert nothing_written() == before


def test_unknown_fields_are_a_422_listing_each_error(signed_in: Client) -> None:
    before = nothing_written()
    response = signed_in.post("/api/v1/ventures", {**VENTURE, "stage": "spun off", "budget": 5},
                              content_type="application/json")
    body = assert_problem(response, 422, "validation")
    assert sorted(e["loc"] for e in body["errors"]) == [["body", "budget"], ["body", "stage"]]
    assert all(e["msg"] for e in body["errors"])
    assert nothing_written() == before


def test_missing_and_wrongly_typed_fields_name_their_location(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/ventures", {"name": 5, "origin": "mars"}, content_type="application/json")
    body = assert_problem(response, 422, "validation")
    assert {tuple(e["loc"]) for e in body["errors"]} == {("body", "name"), ("body", "mission"), ("body", "origin")}


def test_a_body_over_one_mebibyte_is_a_413(signed_in: Client) -> None:
    before = nothing_written()
    huge = '{"name": "x", "mission": "' + "m" * (1024 * 1024) + '", "origin": "outside"}'
    response = signed_in.post("/api/v1/ventures", huge, content_type="application/json")
    assert_problem(response, 413, "too-large")
    assert nothing_written() == before


def test_a_content_length_over_the_limit_is_a_413_even_if_the_body_is_small(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/ventures", "{}", content_type="application/json", CONTENT_LENGTH=str(5 << 20))
    assert_problem(response, 413, "too-large")


def test_a_content_length_that_is_not_a_number_is_no_500(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/ventures", "{}", content_type="application/json", CONTENT_LENGTH="lots")
    assert response.status_code in {400, 422}
    assert response["Content-Type"] == "application/problem+json"


def test_nul_characters_are_refused_before_the_database(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/ventures", {**VENTURE, "name": "Cool\x00Fridge"},
                              content_type="application/json")
    body = assert_problem(response, 422, "validation")
    assert body["errors"][0]["loc"] == ["body", "name"]


def test_too_long_names_are_refused_before_the_database(signed_in: Client) -> None:
    response = signed_in.post("/api/v1/ventures", {**VENTURE, "name": "x" * 121}, content_type="application/json")
    assert_problem(response, 422, "validation")


@pytest.mark.parametrize("path", ["/api/v1/ventures/abc", "/api/v1/ventures/0", "/api/v1/ventures/-3",
                                  "/api/v1/ventures/99999999999999999999999999"])
def test_bad_ids_are_validation_problems(client: Client, path: str) -> None:
    body = assert_problem(client.get(path), 422, "validation")
    assert body["errors"][0]["loc"] == ["path", "venture_id"]


def test_a_missing_resource_is_a_404_problem(client: Client, db: Any) -> None:
    assert_problem(client.get("/api/v1/ventures/9223372036854775807"), 404, "venture-not-found")
    assert_problem(client.get("/api/v1/organisations/12345"), 404, "organisation-not-found")


def test_a_path_that_does_not_exist_is_a_404_problem(client: Client, settings: Any) -> None:
    settings.DEBUG = False
    body = assert_problem(client.get("/api/v1/no/such/thing"), 404, "not-found")
    assert "/api/v1/no/such/thing" in body["detail"]
    assert_problem(client.post("/api/v1/nothing-here", {}, content_type="application/json"), 404, "not-found")


def test_an_unserved_method_is_a_405_problem_with_allow(client: Client, db: Any) -> None:
    response = client.delete("/api/v1/ventures")
    assert_problem(response, 405, "method-not-allowed")
    assert set(re.split(r",\s*", response["Allow"])) == {"GET", "POST"}


def test_an_unexpected_error_is_a_500_problem_without_a_traceback(client: Client, db: Any, monkeypatch: Any) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals")

    monkeypatch.setattr(venture_selectors, "ventures_public", explode)
    response = client.get("/api/v1/ventures")
    body = assert_problem(response, 500, "internal")
    assert "secret internals" not in response.content.decode()
    assert body["title"] == "Something went wrong on our side"


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "limit=ten", "cursor=%%%", "cursor=LTE",
                                   "cursor=OTk5OTk5OTk5OTk5OTk5OTk5OTk5OTk5"])
def test_bad_pagination_parameters_are_problems(client: Client, db: Any, query: str) -> None:
    response = client.get(f"/api/v1/ventures?{query}")
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["type"] in {TYPE_BASE + "validation", TYPE_BASE + "invalid-cursor"}
