"""The whole OAuth flow with a real OAuth client library (authlib) against the running server.

An app registered by a venture and approved by an operator; a user consents to one of their two lamps; the app reads
and controls that one and not the other, refreshes its token (rotation; reusing the old refresh token is refused and
ends the family), and loses everything the moment the user revokes it.
"""

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import OAuth2Client
from django.test import Client

from makercloud.accounts.models import User
from makercloud.developers.models import Grant
from makercloud.developers.tests.test_oauth_support import (
    REDIRECT_URI,
    World,
    build_world,
    consent,
    register,
)

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def live_world(committed_db: None, make_person: Callable[..., User]) -> World:
    return build_world(make_person)


@pytest.fixture
def server(live_server: Any) -> Iterator[str]:
    yield live_server.url


def _oauth_client(server: str, client_id: str, **kwargs: Any) -> OAuth2Client:
    return OAuth2Client(
        client_id=client_id, redirect_uri=REDIRECT_URI, scope="devices:read devices:control telemetry:read",
        code_challenge_method="S256", token_endpoint_auth_method=kwargs.pop("auth", "none"), **kwargs,
    )


def _authorise(server: str, oauth: OAuth2Client, browser: Client, world: World) -> dict[str, Any]:
    """authlib builds the authorisation URL (with PKCE S256); the user consents in their browser session; authlib
    exchanges the code at the token endpoint of the running server."""
    verifier = oauth_verifier()
    url, state = oauth.create_authorization_url(f"{server}/o/authorize/", code_verifier=verifier)
    assert "code_challenge_method=S256" in url
    path = url[len(server):]
    answer = consent(browser, path, scopes=["devices:read", "devices:control", "telemetry:read"],
                     devices=[world.lamp])
    assert answer.status_code == 302
    callback = answer["Location"]
    assert callback.startswith(REDIRECT_URI) and f"state={state}" in callback
    return dict(oauth.fetch_token(f"{server}/o/token/", authorization_response=callback, code_verifier=verifier))


def oauth_verifier() -> str:
    from authlib.common.security import generate_token

    return generate_token(48)


def test_an_approved_app_reaches_the_one_granted_device_until_the_user_revokes_it(
    live_world: World, server: str, client_for: Callable[[User], Client]
) -> None:
    world = live_world
    app, _ = register(world)
    browser = client_for(world.user)
    oauth = _oauth_client(server, app.client_id)

    token = _authorise(server, oauth, browser, world)

    assert token["token_type"] == "Bearer"
    assert set(token["scope"].split()) == {"devices:read", "devices:control", "telemetry:read"}
    api = f"{server}/api/v1"
    twin = oauth.get(f"{api}/devices/{world.lamp.pk}")
    assert twin.status_code == 200 and twin.json()["name"] == "Kitchen lamp"
    assert oauth.get(f"{api}/devices/{world.other.pk}").status_code == 404  # the user's, but not granted
    changed = oauth.patch(f"{api}/devices/{world.lamp.pk}/desired", json={"state": {"brightness": 40}})
    assert changed.status_code == 200 and changed.json()["desired"] == {"brightness": 40}
    assert oauth.patch(f"{api}/devices/{world.other.pk}/desired",
                       json={"state": {"brightness": 40}}).status_code == 404
    home = oauth.get(f"{api}/me/devices").json()["items"]
    assert [d["id"] for d in home] == [world.lamp.pk]
    # not granted: events:subscribe; never grantable: devices:manage (claiming, provisioning)
    assert oauth.get(f"{api}/devices/{world.lamp.pk}/stream").status_code == 403
    assert oauth.post(f"{api}/devices/claim", json={"code": "ABCD-EFGH"}).status_code == 403

    # Refresh: a new pair; the old refresh token, replayed, is refused and ends the whole family.
    old_refresh = token["refresh_token"]
    renewed = dict(oauth.refresh_token(f"{server}/o/token/", refresh_token=old_refresh))
    assert renewed["refresh_token"] != old_refresh and renewed["access_token"] != token["access_token"]
    assert oauth.get(f"{api}/devices/{world.lamp.pk}").status_code == 200
    replay = httpx.post(f"{server}/o/token/", data={"grant_type": "refresh_token", "refresh_token": old_refresh,
                                                     "client_id": app.client_id})
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"
    after_reuse = httpx.post(f"{server}/o/token/", data={
        "grant_type": "refresh_token", "refresh_token": renewed["refresh_token"], "client_id": app.client_id})
    assert after_reuse.status_code == 400  # the family is revoked: the newest refresh token is dead too

    # A fresh authorisation, then the user revokes the app on the connected apps page: 401 on the next call.
    oauth = _oauth_client(server, app.client_id)
    token = _authorise(server, oauth, browser, world)
    assert oauth.get(f"{api}/devices/{world.lamp.pk}").status_code == 200
    grant = Grant.objects.get(app=app, person=world.user, revoked_at__isnull=True)
    page = browser.get("/connected-apps/")
    assert page.status_code == 200 and "Laundry assistant" in page.content.decode()
    assert "Operate the devices you choose" in page.content.decode()  # what it may do, in plain words
    assert browser.post(f"/connected-apps/{grant.pk}/revoke").status_code == 302
    refused = oauth.get(f"{api}/devices/{world.lamp.pk}")
    assert refused.status_code == 401 and refused.headers["content-type"] == "application/problem+json"
    with pytest.raises(OAuthError, match="invalid_grant"):
        oauth.refresh_token(f"{server}/o/token/", refresh_token=token["refresh_token"])
    after = browser.get("/connected-apps/").content.decode()
    assert f'id="grant-{grant.pk}"' not in after and "No app is connected to your devices." in after


def test_a_confidential_app_authenticates_with_its_secret_and_introspects_its_tokens(
    live_world: World, server: str, client_for: Callable[[User], Client]
) -> None:
    world = live_world
    app, secret = register(world, client_type="confidential")
    assert secret
    oauth = OAuth2Client(client_id=app.client_id, client_secret=secret, redirect_uri=REDIRECT_URI,
                         scope="devices:read", code_challenge_method="S256")
    verifier = oauth_verifier()
    url, _state = oauth.create_authorization_url(f"{server}/o/authorize/", code_verifier=verifier)
    answer = consent(client_for(world.user), url[len(server):], scopes=["devices:read"], devices=[world.lamp])
    token = oauth.fetch_token(f"{server}/o/token/", authorization_response=answer["Location"],
                              code_verifier=verifier)

    seen = httpx.post(f"{server}/o/introspect/", data={"token": token["access_token"]}, auth=(app.client_id, secret))
    assert seen.status_code == 200
    assert seen.json()["active"] is True and seen.json()["scope"] == "devices:read"
    assert seen.json()["devices"] == [world.lamp.pk]
    wrong = httpx.post(f"{server}/o/introspect/", data={"token": token["access_token"]},
                       auth=(app.client_id, "not-the-secret"))
    assert wrong.status_code == 401
    # A wrong secret at the token endpoint is refused as well.
    bad = httpx.post(f"{server}/o/token/", data={"grant_type": "refresh_token",
                                                 "refresh_token": token["refresh_token"]},
                     auth=(app.client_id, "nope"))
    assert bad.status_code == 401
    # RFC 7009: the app revokes its own access token; introspection then says inactive and the API 401.
    revoked = httpx.post(f"{server}/o/revoke_token/", data={"token": token["access_token"]},
                         auth=(app.client_id, secret))
    assert revoked.status_code == 200
    assert httpx.post(f"{server}/o/introspect/", data={"token": token["access_token"]},
                      auth=(app.client_id, secret)).json() == {"active": False}
    assert httpx.get(f"{server}/api/v1/devices/{world.lamp.pk}",
                     headers={"Authorization": f"Bearer {token['access_token']}"}).status_code == 401


def test_the_metadata_document_describes_the_server(server: str) -> None:
    document = httpx.get(f"{server}/.well-known/oauth-authorization-server").json()
    assert document["issuer"] == server
    assert document["authorization_endpoint"] == f"{server}/o/authorize/"
    assert document["token_endpoint"] == f"{server}/o/token/"
    assert document["revocation_endpoint"] == f"{server}/o/revoke_token/"
    assert document["introspection_endpoint"] == f"{server}/o/introspect/"
    assert document["code_challenge_methods_supported"] == ["S256"]
    assert document["response_types_supported"] == ["code"]
    assert set(document["grant_types_supported"]) == {"authorization_code", "refresh_token"}
    assert set(document["scopes_supported"]) == {
        "devices:read", "devices:control", "telemetry:read", "events:subscribe", "profile"
    }
