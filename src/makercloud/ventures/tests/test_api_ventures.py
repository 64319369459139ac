"""Ventures on the API: the public directory, founding, changing, members, invitations and leaving."""

from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import Invitation, Membership, Organisation
from makercloud.core.models import Event
from makercloud.core.problems import TYPE_BASE
from makercloud.ventures import services
from makercloud.ventures.models import Venture

FOUND = {"name": "Cool Fridge", "mission": "Keep food fresh for longer", "origin": "employee"}


def problem_type(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["type"]).removeprefix(TYPE_BASE)


@pytest.fixture
def venture(maker: Any) -> Venture:
    return services.venture_found(actor=maker, name="Quiet Washer", mission="Wash without noise", origin="outside")


def test_founding_a_venture_makes_the_founder_its_owner(maker: Any, client_for: Any) -> None:
    response = client_for(maker).post("/api/v1/ventures", FOUND, content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert {k: body[k] for k in ("name", "mission", "origin", "verification", "member_count")} == {
        **FOUND, "verification": "pending", "member_count": 1
    }
    assert body["founded_at"].endswith("Z")
    venture = Venture.objects.get(pk=body["id"])
    assert Membership.objects.get(organisation=venture.organisation).person == maker
    assert Event.objects.filter(kind="venture.founded", subject_id=str(venture.pk), public=True).exists()


def test_a_refused_founding_writes_nothing(maker: Any, client_for: Any) -> None:
    before = (Organisation.objects.count(), Venture.objects.count(), Event.objects.count())
    response = client_for(maker).post("/api/v1/ventures", {**FOUND, "mission": "   "},
                                      content_type="application/json")
    assert response.status_code == 422
    assert problem_type(response) == "invalid-input"
    response = client_for(maker).post("/api/v1/ventures", {**FOUND, "name": "  "}, content_type="application/json")
    assert response.status_code == 422
    assert (Organisation.objects.count(), Venture.objects.count(), Event.objects.count()) == before


def test_anonymous_founding_is_refused(client: Client, db: Any) -> None:
    assert client.post("/api/v1/ventures", FOUND, content_type="application/json").status_code == 401
    assert Venture.objects.count() == 0


def test_the_directory_detail_and_members_are_public(client: Client, venture: Venture, maker: Any) -> None:
    listed = client.get("/api/v1/ventures").json()
    assert [v["id"] for v in listed["items"]] == [venture.pk]
    assert listed["next_cursor"] is None
    detail = client.get(f"/api/v1/ventures/{venture.pk}").json()
    assert (detail["name"], detail["member_count"]) == ("Quiet Washer", 1)
    members = client.get(f"/api/v1/ventures/{venture.pk}/members").json()["items"]
    assert [(m["person"]["id"], m["role"]) for m in members] == [(maker.pk, "owner")]


def test_an_owner_changes_the_venture(venture: Venture, maker: Any, client_for: Any) -> None:
    response = client_for(maker).patch(f"/api/v1/ventures/{venture.pk}",
                                       {"name": "Silent Washer", "origin": "employee"},
                                       content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["name"], response.json()["origin"]) == ("Silent Washer", "employee")
    assert response.json()["mission"] == "Wash without noise"


def test_a_non_member_cannot_change_a_venture(venture: Venture, make_person: Any, client_for: Any) -> None:
    response = client_for(make_person()).patch(f"/api/v1/ventures/{venture.pk}", {"mission": "Mine now"},
                                               content_type="application/json")
    assert response.status_code == 403
    assert problem_type(response) == "not-organisation-manager"
    venture.refresh_from_db()
    assert venture.mission == "Wash without noise"


def test_a_plain_member_cannot_change_or_invite(venture: Venture, make_person: Any, client_for: Any) -> None:
    member = make_person()
    Membership.objects.create(person=member, organisation=venture.organisation, role="member")
    browser = client_for(member)
    assert browser.patch(f"/api/v1/ventures/{venture.pk}", {"mission": "x"},
                         content_type="application/json").status_code == 403
    assert browser.post(f"/api/v1/ventures/{venture.pk}/members", {"email": "a@example.com"},
                        content_type="application/json").status_code == 403
    assert Invitation.objects.count() == 0


def test_an_operator_may_change_any_venture(venture: Venture, operator: Any, client_for: Any) -> None:
    response = client_for(operator).patch(f"/api/v1/ventures/{venture.pk}", {"mission": "Moderated"},
                                          content_type="application/json")
    assert response.status_code == 200
    assert response.json()["mission"] == "Moderated"


def test_a_patch_with_an_unknown_origin_or_field_changes_nothing(venture: Venture, maker: Any,
                                                                 client_for: Any) -> None:
    browser = client_for(maker)
    for body in ({"name": "New", "origin": "moon"}, {"name": "New", "stage": "spun off"}):
        response = browser.patch(f"/api/v1/ventures/{venture.pk}", body, content_type="application/json")
        assert response.status_code == 422
    venture.refresh_from_db()
    assert venture.name == "Quiet Washer"


def test_inviting_a_maker_to_a_venture(venture: Venture, maker: Any, client_for: Any) -> None:
    response = client_for(maker).post(f"/api/v1/ventures/{venture.pk}/members",
                                      {"email": "friend@example.com", "role": "admin"},
                                      content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert (body["email"], body["role"], body["status"]) == ("friend@example.com", "admin", "open")
    assert body["organisation"]["id"] == venture.organisation_id
    assert Invitation.objects.get().organisation == venture.organisation


def test_an_unknown_venture_is_a_404_for_every_operation(maker: Any, client_for: Any) -> None:
    browser = client_for(maker)
    for response in (
        browser.get("/api/v1/ventures/4242"),
        browser.patch("/api/v1/ventures/4242", {"mission": "x"}, content_type="application/json"),
        browser.get("/api/v1/ventures/4242/members"),
        browser.post("/api/v1/ventures/4242/members", {"email": "a@example.com"}, content_type="application/json"),
        browser.post("/api/v1/ventures/4242/leave"),
    ):
        assert response.status_code == 404
        assert problem_type(response) == "venture-not-found"


def test_leaving_a_venture(venture: Venture, maker: Any, make_person: Any, client_for: Any) -> None:
    member = make_person()
    Membership.objects.create(person=member, organisation=venture.organisation, role="member")
    assert client_for(member).post(f"/api/v1/ventures/{venture.pk}/leave").status_code == 204
    assert Client().get(f"/api/v1/ventures/{venture.pk}").json()["member_count"] == 1
    response = client_for(maker).post(f"/api/v1/ventures/{venture.pk}/leave")
    assert response.status_code == 409
    assert problem_type(response) == "last-owner"
    outsider = client_for(make_person()).post(f"/api/v1/ventures/{venture.pk}/leave")
    assert outsider.status_code == 422
