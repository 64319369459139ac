"""The personal access tokens page: a token is shown once, then only its prefix."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts import services
from makercloud.accounts.models import PersonalAccessToken, User


def test_a_new_token_is_shown_once_then_only_its_prefix(maker: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(maker)
    response = client.post("/accounts/tokens/", {"name": "backup", "scopes": ["ventures:read", "profile"],
                                                 "expires_in": "30"})
    page = response.content.decode()
    token = PersonalAccessToken.objects.get(person=maker)
    assert response.status_code == 200
    assert token.scopes == ["profile", "ventures:read"] and token.expires_at is not None
    shown = page.split('<code id="new-token">', 1)[1].split("</code>", 1)[0]
    assert shown.startswith(f"mc_pat_{token.prefix}_")
    assert services.token_authenticate(raw=shown) is not None  # what we showed is the working token

    later = client.get("/accounts/tokens/").content.decode()
    assert shown not in later
    assert f"mc_pat_{token.prefix}…" in later and "backup" in later


def test_a_token_needs_a_scope(maker: User, client_for: Callable[[User], Client]) -> None:
    response = client_for(maker).post("/accounts/tokens/", {"name": "nothing"})
    assert response.status_code == 400 and "field-errors" in response.content.decode()
    assert not PersonalAccessToken.objects.exists()


def test_revoking_a_token_stops_it_and_marks_it(maker: User, client_for: Callable[[User], Client]) -> None:
    token, raw = services.token_create(person=maker, name="ci", scopes=["profile"])
    client = client_for(maker)
    response = client.post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "revoked" in response.content.decode()
    assert services.token_authenticate(raw=raw) is None


def test_nobody_revokes_someone_elses_token(
    maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    token, raw = services.token_create(person=maker, name="ci", scopes=["profile"])
    stranger = make_person("stranger@example.com")
    response = client_for(stranger).post(f"/accounts/tokens/{token.pk}/revoke/", follow=True)
    assert "There is no such token." in response.content.decode()
    assert services.token_authenticate(raw=raw) is not None


def test_the_tokens_page_needs_a_signed_in_person(db: object) -> None:
    response = Client().get("/accounts/tokens/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")
