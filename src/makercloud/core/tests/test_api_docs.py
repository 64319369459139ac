"""The OpenAPI document and the interactive docs are served, complete, and load nothing from a CDN."""

import re
from typing import Any

import pytest
from django.contrib.staticfiles import finders
from django.test import Client

from makercloud.config.api import api


@pytest.fixture
def document(client: Client, db: Any) -> dict[str, Any]:
    response = client.get("/api/v1/openapi.json")
    assert response.status_code == 200
    return response.json()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, item in document["paths"].items() for method, op in item.items()]


def test_docs_page_loads_its_assets_from_our_own_static(client: Client, db: Any) -> None:
    response = client.get("/api/v1/docs")
    assert response.status_code == 200
    html = response.content.decode()
    urls = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert any(url.endswith("swagger-ui-bundle.js") for url in urls)
    for url in urls:
        assert url.startswith("/static/"), url
        assert finders.find(url.removeprefix("/static/")), f"{url} is not among our static files"
    assert "cdn" not in html.lower()
    assert '"validatorUrl": null' in html  # no badge fetched from validator.swagger.io


def test_every_operation_is_documented(document: dict[str, Any]) -> None:
    ops = operations(document)
    assert len(ops) >= 25
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        assert op.get("summary"), where
        assert op.get("description"), where
        assert op.get("tags"), where
        errors = {int(status) for status in op["responses"] if int(status) >= 400}
        assert errors, f"{where} documents no error responses"
        for status in errors:
            content = op["responses"][str(status)]["content"]
            assert list(content) == ["application/problem+json"], where


def test_writes_document_body_errors_and_scopes(document: dict[str, Any]) -> None:
    found = document["paths"]["/api/v1/ventures"]["post"]
    assert {"400", "401", "403", "413", "415", "422"} <= set(found["responses"])
    assert {"TokenAuth": ["ventures:write"]} in found["security"]


def test_public_reads_say_anonymous_callers_are_welcome(document: dict[str, Any]) -> None:
    assert {} in document["paths"]["/api/v1/ventures"]["get"]["security"]
    assert {} not in document["paths"]["/api/v1/me"]["get"]["security"]


def test_operation_ids_are_unique_handler_names(document: dict[str, Any]) -> None:
    ids = [op["operationId"] for _path, _method, op in operations(document)]
    assert len(ids) == len(set(ids))
    assert "venture_found" in ids


def test_the_served_document_is_the_generated_one(document: dict[str, Any]) -> None:
    assert document["info"]["title"] == api.title
    assert set(document["paths"]) == set(api.get_openapi_schema()["paths"])


def test_every_schema_name_names_one_schema() -> None:
    """The document keys schemas by class name; two classes of one name would silently describe one of them."""
    from ninja import Schema

    def subclasses(cls: type) -> list[type]:
        return [sub for direct in cls.__subclasses__() for sub in (direct, *subclasses(direct))]

    seen: dict[str, str] = {}
    for schema in subclasses(Schema):
        if not schema.__module__.startswith("makercloud.") or ".api" not in schema.__module__:
            continue
        where = f"{schema.__module__}.{schema.__qualname__}"
        assert seen.setdefault(schema.__name__, where) == where, f"{where} and {seen[schema.__name__]}"


@pytest.mark.parametrize("value", ["0.5", "1700000000", "2026-13-01T00:00:00Z", "yesterday", "2026-11-29T12:00:00"])
def test_a_point_in_time_is_rfc_3339_with_a_time_zone(value: str, maker: Any, client_for: Any) -> None:
    response = client_for(maker).get("/api/v1/ledger/transfers", {"to": value})
    assert response.status_code == 422, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["errors"][0]["loc"][-1] == "to"


def test_rfc_3339_instants_are_read(maker: Any, client_for: Any) -> None:
    response = client_for(maker).get("/api/v1/ledger/transfers", {"to": "2026-11-29T12:00:00+08:00"})
    assert response.status_code == 200 and response.json()["items"] == []
