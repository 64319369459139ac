"""schemathesis against the generated OpenAPI document, in process.

No operation answers a generated input with a 5xx, and every answer matches what the document promises: status
codes, content types and response schemas.
"""

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from makercloud.accounts import services as accounts_services
from makercloud.ventures import services as ventures_services


@pytest.fixture(autouse=True)
def keep_the_test_connection() -> Iterator[None]:
    """As Django's test client does: the plain WSGI handler would close the test's database connection."""
    for signal in (request_started, request_finished):
        signal.disconnect(close_old_connections)
    yield
    for signal in (request_started, request_finished):
        signal.connect(close_old_connections)


@pytest.fixture
def credentials(maker: Any, operator: Any) -> dict[str, str]:
    """A token with every scope, for a maker who owns a venture and a supplier (ids 1, 2, … exist)."""
    ventures_services.venture_found(actor=maker, name="Cool Fridge", mission="Keep food fresh", origin="outside")
    accounts_services.organisation_create(actor=maker, kind="supplier", name="Compressor Co")
    _token, raw = accounts_services.token_create(person=maker, name="fuzz")
    return {"Authorization": f"Bearer {raw}"}


# Loaded at collection (reading the document touches no database); one test per operation.
schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_documented_answers_and_never_a_server_error(
    case: Any, credentials: dict[str, str]
) -> None:
    # Schema-valid input may still break a rule the schema cannot state (a blank name, an unknown invitation, a
    # cursor not made by us): those are 4xx problems, so "valid data is accepted" is the one check left out.
    case.call_and_validate(headers=credentials, excluded_checks=[positive_data_acceptance])
