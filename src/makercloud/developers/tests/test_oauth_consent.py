"""The consent screen and the authorisation rules: the sandbox, PKCE S256 only, exact redirect URIs, denial, unticked
scopes, suspension and rate limits."""

import json
from collections.abc import Callable, Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.cache import cache
from django.test import Client, override_settings

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Role, User
from makercloud.developers.models import Grant
from makercloud.developers.services import clients as services
from makercloud.developers.tests.test_oauth_support import (
    ALL_SCOPES,
    World,
    authorize_query,
    code_from,
    consent,
    pkce,
    register,
    token_exchange,
    token_for,
    world,  # noqa: F401
)


@pytest.fixture(autouse=True)
def fresh_counters() -> Iterator[None]:
    cache.clear()
    services._pending.clear()
    yield
    services._pending.clear()


def _bearer(token: str) -> dict[str, str]:
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_the_consent_screen_says_in_plain_words_what_the_app_may_do_in_english_and_chinese(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    browser = client_for(world.user)
    page = browser.get(authorize_query(app, challenge=pkce()[1])).content.decode()
    assert "Operate the devices you choose: change their settings and start their actions." in page
    assert "Kitchen lamp" in page and "Bedroom lamp" in page and "Virtual lamp" not in page
    browser.post("/i18n/setlang/", {"language": "zh-hans"})
    chinese = browser.get(authorize_query(app, challenge=pkce()[1])).content.decode()
    assert "操作你选择的设备" in chinese


def test_a_sandbox_app_is_only_for_its_ventures_members_and_virtual_devices(
    world: World, make_person: Callable[..., User], client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world, approve=False)
    refused = client_for(world.user).get(authorize_query(app, challenge=pkce()[1]))
    assert refused.status_code == 403 and "still being tested by its makers" in refused.content.decode()

    tester = make_person(intent="maker")
    _invitation, raw = accounts_services.invitation_create(
        actor=world.maker, organisation=world.venture.organisation, email=tester.email, role=Role.MEMBER)
    accounts_services.invitation_accept(actor=tester, token=raw)
    browser = client_for(tester)
    page = browser.get(authorize_query(app, challenge=pkce()[1])).content.decode()
    assert "Virtual lamp" in page and "Kitchen lamp" not in page
    wrong = consent(browser, authorize_query(app, challenge=pkce()[1]), scopes=["devices:read"],
                    devices=[world.lamp])
    assert wrong.status_code == 400 and not Grant.objects.exists()

    token = token_for(world, app, browser, scopes=["devices:read"], devices=[world.virtual])["access_token"]
    assert Client().get(f"/api/v1/devices/{world.virtual.pk}", **_bearer(token)).status_code == 200
    # Once the tester leaves the venture, the sandbox app's token stops working.
    accounts_services.membership_leave(actor=tester, organisation=world.venture.organisation)
    assert Client().get(f"/api/v1/devices/{world.virtual.pk}", **_bearer(token)).status_code == 401


def test_pkce_s256_is_required_and_plain_refused(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    app, _ = register(world)
    browser = client_for(world.user)
    without_method = authorize_query(app, challenge="a" * 43).replace("&code_challenge_method=S256", "")
    for query in (authorize_query(app, challenge=None), authorize_query(app, challenge="a" * 43, method="plain"),
                  without_method):
        response = browser.get(query)
        assert response.status_code == 302
        answer = parse_qs(urlsplit(response["Location"]).query)
        assert answer["error"] == ["invalid_request"] and "code" not in answer


def test_a_redirect_uri_that_is_not_registered_is_never_redirected_to(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    response = client_for(world.user).get(
        authorize_query(app, challenge=pkce()[1], redirect_uri="https://evil.example/cb"))
    assert response.status_code in {400, 200} and "Location" not in response
    assert "not valid" in response.content.decode()


def test_a_wrong_code_verifier_gets_no_token(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    app, _ = register(world)
    _verifier, challenge = pkce()
    code = code_from(consent(client_for(world.user), authorize_query(app, challenge=challenge),
                             scopes=["devices:read"], devices=[world.lamp]))
    response = token_exchange(Client(), app, code, pkce()[0])
    assert response.status_code == 400 and response.json()["error"] == "invalid_grant"


def test_denying_sends_access_denied_and_grants_nothing(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    app, _ = register(world)
    response = consent(client_for(world.user), authorize_query(app, challenge=pkce()[1]), scopes=ALL_SCOPES,
                       devices=[world.lamp], allow=False)
    assert response.status_code == 302 and "error=access_denied" in response["Location"]
    assert not Grant.objects.exists()


def test_unticked_scopes_are_not_in_the_token(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["devices:read"], devices=[world.lamp])
    assert token["scope"] == "devices:read"
    grant = Grant.objects.get()
    assert grant.scopes == ["devices:read"] and list(grant.devices.all()) == [world.lamp]
    response = Client().patch(f"/api/v1/devices/{world.lamp.pk}/desired", {"state": {"on": True}},
                              content_type="application/json", **_bearer(token["access_token"]))
    assert response.status_code == 403


def test_suspending_an_app_revokes_every_grant_and_token_at_once(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["devices:read"], devices=[world.lamp])
    assert Client().get(f"/api/v1/devices/{world.lamp.pk}", **_bearer(token["access_token"])).status_code == 200
    services.app_review(actor=world.operator, app=app, decision="suspend", reason="Sends data to third parties.")
    assert Client().get(f"/api/v1/devices/{world.lamp.pk}", **_bearer(token["access_token"])).status_code == 401
    assert Grant.objects.get().revoked_at is not None
    refreshed = Client().post("/o/token/", {"grant_type": "refresh_token", "refresh_token": token["refresh_token"],
                                            "client_id": app.client_id})
    assert refreshed.status_code in {400, 401}
    again = client_for(world.user).get(authorize_query(app, challenge=pkce()[1]))
    assert again.status_code in {400, 403}


@override_settings(OAUTH_RATE_LIMIT_PER_TOKEN=3)
def test_past_the_per_token_limit_calls_get_429_with_retry_after_and_are_counted(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["devices:read"], devices=[world.lamp])
    client = Client()
    statuses = [client.get(f"/api/v1/devices/{world.lamp.pk}", **_bearer(token["access_token"])).status_code
                for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = client.get(f"/api/v1/devices/{world.lamp.pk}", **_bearer(token["access_token"]))
    assert limited.status_code == 429 and limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited["Retry-After"]) <= 60 and limited.json()["type"].endswith("/rate-limited")
    usage = client_for(world.maker).get(f"/api/v1/apps/{app.pk}/usage").json()
    assert usage["api_calls"] == 3 and usage["rate_limited_calls"] == 2
    assert usage["tokens_issued"] == 1 and usage["active_grants"] == 1
    assert usage["days"][0]["calls"] == 3


@override_settings(OAUTH_RATE_LIMIT_PER_APP=2)
def test_the_per_app_limit_spans_its_tokens(
    world: World, make_person: Callable[..., User], client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, _ = register(world)
    first = token_for(world, app, client_for(world.user), scopes=["profile"], devices=[])["access_token"]
    second = token_for(world, app, client_for(make_person()), scopes=["profile"], devices=[])["access_token"]
    calls = [Client().get("/api/v1/me", **_bearer(t)).status_code for t in (first, second, second)]
    assert calls == [200, 200, 429]


def test_an_app_reads_the_profile_but_never_changes_it(world: World, client_for: Callable[[User], Client]) -> None:  # noqa: F811
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["profile"], devices=[])["access_token"]
    assert Client().get("/api/v1/me", **_bearer(token)).json()["name"] == "Uma User"
    changed = Client().patch("/api/v1/me", {"name": "Hacked"}, content_type="application/json", **_bearer(token))
    assert changed.status_code == 403
    world.user.refresh_from_db()
    assert world.user.name == "Uma User"


def test_revoking_a_grant_enqueues_grant_revoked_for_the_apps_endpoints(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    from makercloud.developers.models import Delivery
    from makercloud.developers.services import webhooks

    app, _ = register(world)
    webhooks.webhook_endpoint_create(actor=world.maker, app=app, url="https://hooks.example/in",
                                     event_types=["grant.revoked"])
    token_for(world, app, client_for(world.user), scopes=["devices:read"], devices=[world.lamp])
    grant = Grant.objects.get()
    services.grant_revoke(actor=world.user, grant=grant)
    delivery = Delivery.objects.get(event_type="grant.revoked")
    assert delivery.app_id == app.pk
    body = json.loads(delivery.body)
    assert body["data"]["grant"] == grant.pk and body["data"]["devices"] == [world.lamp.pk]
    assert body["data"]["reason"] == "revoked_by_user"


def test_no_implicit_password_or_client_credentials_grant(
    world: World, client_for: Callable[[User], Client]  # noqa: F811
) -> None:
    app, secret = register(world, client_type="confidential")
    implicit = client_for(world.user).get(
        authorize_query(app, challenge=pkce()[1]).replace("response_type=code", "response_type=token"))
    assert implicit.status_code == 302 and "error=unauthorized_client" in implicit["Location"]
    assert "access_token" not in implicit["Location"]
    for data in ({"grant_type": "client_credentials"},
                 {"grant_type": "password", "username": world.user.email, "password": "correct-horse-battery-staple"}):
        response = Client().post("/o/token/", {**data, "client_id": app.client_id, "client_secret": secret})
        assert response.status_code in {400, 401} and "access_token" not in response.json(), data
        assert response.json()["error"] in {"unauthorized_client", "unsupported_grant_type", "invalid_grant"}
