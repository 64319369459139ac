"""Who may call the API: sessions with CSRF, personal access tokens with scopes, and anonymous public reads."""

from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from makercloud.accounts import services
from makercloud.accounts.models import Organisation, PersonalAccessToken
from makercloud.core.problems import TYPE_BASE

VENTURE = {"name": "Cool Fridge", "mission": "Keep food fresh for longer", "origin": "outside"}


def problem_type(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["type"]).removeprefix(TYPE_BASE)


def test_no_credentials_is_a_401_with_a_bearer_challenge(client: Client, db: Any) -> None:
    response = client.get("/api/v1/me")
    assert response.status_code == 401
    assert problem_type(response) == "unauthenticated"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_token_with_the_scope_identifies_its_person(client: Client, maker: Any, bearer_for: Any) -> None:
    response = client.get("/api/v1/me", headers=bearer_for(maker, ["profile"]))
    assert response.status_code == 200
    assert response.json()["email"] == maker.email


def test_a_token_without_the_scope_is_a_403_naming_the_scope(client: Client, maker: Any, bearer_for: Any) -> None:
    before = Organisation.objects.count()
    response = client.post("/api/v1/ventures", VENTURE, content_type="application/json",
                           headers=bearer_for(maker, ["ventures:read", "profile"]))
    assert response.status_code == 403
    assert problem_type(response) == "insufficient-scope"
    assert response.json()["scope"] == "ventures:write"
    assert "ventures:write" in response.json()["detail"]
    assert 'scope="ventures:write"' in response["WWW-Authenticate"]
    assert Organisation.objects.count() == before


def test_a_token_with_the_write_scope_can_write(client: Client, maker: Any, bearer_for: Any) -> None:
    response = client.post("/api/v1/ventures", VENTURE, content_type="application/json",
                           headers=bearer_for(maker, ["ventures:write"]))
    assert response.status_code == 201


@pytest.mark.parametrize("state", ["revoked", "expired", "unknown", "tampered"])
def test_an_unusable_token_is_a_401_invalid_token(client: Client, maker: Any, state: str) -> None:
    token, raw = services.token_create(person=maker, name="script", scopes=["profile"])
    if state == "revoked":
        services.token_revoke(actor=maker, token=token)
    elif state == "expired":
        PersonalAccessToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    elif state == "unknown":
        raw = "mc_pat_00000000_" + "x" * 43
    else:
        raw = raw[:-1] + ("A" if raw[-1] != "A" else "B")
    response = client.get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"})
    assert response.status_code == 401
    assert problem_type(response) == "invalid-token"
    assert 'error="invalid_token"' in response["WWW-Authenticate"]


def test_a_token_of_a_deactivated_person_is_refused(client: Client, maker: Any, bearer_for: Any) -> None:
    headers = bearer_for(maker, ["profile"])
    maker.is_active = False
    maker.save(update_fields=["is_active"])
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_bad_token_is_refused_even_on_a_public_read(client: Client, db: Any) -> None:
    response = client.get("/api/v1/ventures", headers={"Authorization": "Bearer mc_pat_nope"})
    assert response.status_code == 401
    assert client.get("/api/v1/ventures").status_code == 200


def test_a_bearer_token_decides_even_with_a_session(maker: Any, client_for: Any, bearer_for: Any) -> None:
    signed_in = client_for(maker)
    response = signed_in.get("/api/v1/me", headers=bearer_for(maker, ["ventures:read"]))
    assert response.status_code == 403
    assert problem_type(response) == "insufficient-scope"


def test_a_session_write_without_the_csrf_token_is_refused(maker: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(maker)
    before = Organisation.objects.count()
    response = browser.post("/api/v1/ventures", VENTURE, content_type="application/json")
    assert response.status_code == 403
    assert problem_type(response) == "csrf-failed"
    assert Organisation.objects.count() == before


def test_a_session_write_with_the_csrf_token_succeeds(maker: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(maker)
    browser.get("/api/v1/docs")  # the docs page sets the CSRF cookie, as a browser would get it
    csrf = browser.cookies["csrftoken"].value
    response = browser.post("/api/v1/ventures", VENTURE, content_type="application/json", headers={"X-CSRFToken": csrf})
    assert response.status_code == 201


def test_a_token_write_needs_no_csrf(maker: Any, bearer_for: Any) -> None:
    script = Client(enforce_csrf_checks=True)
    response = script.post("/api/v1/ventures", VENTURE, content_type="application/json",
                           headers=bearer_for(maker, ["ventures:write"]))
    assert response.status_code == 201


def test_an_anonymous_write_without_csrf_is_a_401_not_a_csrf_error(db: Any) -> None:
    response = Client(enforce_csrf_checks=True).post("/api/v1/ventures", VENTURE, content_type="application/json")
    assert response.status_code == 401
    assert problem_type(response) == "unauthenticated"


def test_a_token_cannot_mint_tokens(client: Client, maker: Any, bearer_for: Any) -> None:
    headers = bearer_for(maker)  # a token with every scope
    response = client.post("/api/v1/me/tokens", {"name": "more"}, content_type="application/json", headers=headers)
    assert response.status_code == 403
    assert problem_type(response) == "session-required"
    assert PersonalAccessToken.objects.count() == 1  # only the one making the request
