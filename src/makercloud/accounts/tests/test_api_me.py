"""GET/PATCH /me, personal access tokens and the invitations waiting for the caller."""

from typing import Any

from django.test import Client

from makercloud.accounts import services
from makercloud.accounts.models import PersonalAccessToken
from makercloud.core.models import Event
from makercloud.core.problems import TYPE_BASE


def test_me_shows_profile_operator_flag_and_memberships(maker: Any, client_for: Any) -> None:
    services.organisation_create(actor=maker, kind="supplier", name="Compressor Co")
    body = client_for(maker).get("/api/v1/me").json()
    assert body["email"] == "maker@example.com"
    assert body["name"] == "Li Wei"
    assert body["operator"] is False
    assert body["memberships"] == [
        {"organisation_id": body["memberships"][0]["organisation_id"], "organisation_name": "Compressor Co",
         "organisation_kind": "supplier", "role": "owner"}
    ]


def test_me_says_when_the_caller_is_an_operator(operator: Any, client_for: Any) -> None:
    assert client_for(operator).get("/api/v1/me").json()["operator"] is True


def test_patch_me_changes_only_what_is_sent(maker: Any, client_for: Any) -> None:
    response = client_for(maker).patch("/api/v1/me", {"intent": "supplier"}, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["intent"] == "supplier"
    assert response.json()["name"] == "Li Wei"
    maker.refresh_from_db()
    assert maker.intent == "supplier"
    assert Event.objects.filter(kind="person.updated", subject_id=str(maker.pk)).count() == 1


def test_patch_me_refuses_an_unknown_intent_and_changes_nothing(maker: Any, client_for: Any) -> None:
    response = client_for(maker).patch("/api/v1/me", {"name": "New", "intent": "astronaut"},
                                       content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "intent"]
    maker.refresh_from_db()
    assert (maker.name, maker.intent) == ("Li Wei", "maker")


def test_a_token_is_shown_once_and_then_works(maker: Any, client_for: Any) -> None:
    browser = client_for(maker)
    response = browser.post("/api/v1/me/tokens", {"name": "ci", "scopes": ["ventures:read"]},
                            content_type="application/json")
    assert response.status_code == 201
    created = response.json()
    assert created["token"].startswith(f"mc_pat_{created['prefix']}_")
    assert created["scopes"] == ["ventures:read"]

    listed = browser.get("/api/v1/me/tokens").json()["items"]
    assert [t["id"] for t in listed] == [created["id"]]
    assert "token" not in listed[0]

    script = Client()
    assert script.get("/api/v1/ventures", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 200
    assert script.get("/api/v1/me", headers={"Authorization": f"Bearer {created['token']}"}).status_code == 403


def test_token_creation_refuses_unknown_scopes_past_expiry_and_naive_times(maker: Any, client_for: Any) -> None:
    browser = client_for(maker)
    cases = [
        ({"name": "x", "scopes": ["root"]}, "unknown-scope"),
        ({"name": "x", "scopes": []}, "invalid-input"),
        ({"name": "x", "expires_at": "2001-01-01T00:00:00Z"}, "invalid-input"),
        ({"name": "x", "expires_at": "2999-01-01T00:00:00"}, "validation"),  # no time zone
        ({"name": "x" * 81}, "validation"),
    ]
    for body, type in cases:
        response = browser.post("/api/v1/me/tokens", body, content_type="application/json")
        assert response.status_code == 422, body
        assert response.json()["type"] == TYPE_BASE + type, body
    assert PersonalAccessToken.objects.count() == 0


def test_revoking_a_token_refuses_it_from_then_on(maker: Any, client_for: Any) -> None:
    token, raw = services.token_create(person=maker, name="script", scopes=["profile"])
    headers = {"Authorization": f"Bearer {raw}"}
    assert Client().get("/api/v1/me", headers=headers).status_code == 200
    response = client_for(maker).delete(f"/api/v1/me/tokens/{token.pk}")
    assert response.status_code == 204
    assert Client().get("/api/v1/me", headers=headers).status_code == 401
    listed = client_for(maker).get("/api/v1/me/tokens").json()["items"]
    assert listed[0]["revoked_at"] is not None
    assert listed[0]["revoked_at"].endswith("Z")  # RFC 3339 in UTC


def test_someone_elses_token_is_not_found(maker: Any, make_person: Any, client_for: Any) -> None:
    other = make_person()
    token, raw = services.token_create(person=other, name="theirs", scopes=["profile"])
    response = client_for(maker).delete(f"/api/v1/me/tokens/{token.pk}")
    assert response.status_code == 404
    assert response.json()["type"] == TYPE_BASE + "token-not-found"
    assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 200


def test_my_invitations_lists_only_open_ones_to_my_address(maker: Any, make_person: Any, client_for: Any) -> None:
    owner = make_person()
    org = services.organisation_create(actor=owner, kind="supplier", name="Motor Works")
    other = services.organisation_create(actor=owner, kind="investor", name="Seed Fund")
    invitation, _token = services.invitation_create(actor=owner, organisation=org, email="MAKER@example.com")
    withdrawn, _token = services.invitation_create(actor=owner, organisation=other, email=maker.email)
    services.invitation_revoke(actor=owner, invitation=withdrawn)
    services.invitation_create(actor=owner, organisation=other, email="someone@example.com")

    items = client_for(maker).get("/api/v1/me/invitations").json()["items"]
    assert [(i["id"], i["organisation"]["name"], i["status"]) for i in items] == [
        (invitation.pk, "Motor Works", "open")
    ]
    assert items[0]["invited_by"] == {"id": owner.pk, "name": owner.name}
