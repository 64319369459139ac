"""Organisations on the API: registering, profiles, members, invitations, leaving, verification and the timeline."""

from typing import Any

import pytest
from django.test import Client

from makercloud.accounts import services
from makercloud.accounts.models import Invitation, Membership, Organisation
from makercloud.core.models import Event
from makercloud.core.problems import TYPE_BASE


def problem_type(response: Any) -> str:
    assert response["Content-Type"] == "application/problem+json", response.content
    return str(response.json()["type"]).removeprefix(TYPE_BASE)


@pytest.fixture
def supplier(maker: Any) -> Organisation:
    return services.organisation_create(actor=maker, kind="supplier", name="Compressor Co", description="Quiet ones")


def test_registering_a_supplier_makes_the_caller_its_owner(maker: Any, client_for: Any) -> None:
    browser = client_for(maker)
    response = browser.post("/api/v1/organisations", {"kind": "investor", "name": "Seed Fund"},
                            content_type="application/json")
    assert response.status_code == 201
    body = response.json()
    assert (body["kind"], body["name"], body["verification"]) == ("investor", "Seed Fund", "pending")
    mine = browser.get("/api/v1/organisations").json()["items"]
    assert [o["id"] for o in mine] == [body["id"]]
    assert Membership.objects.get(organisation_id=body["id"]).role == "owner"


@pytest.mark.parametrize("kind", ["venture", "platform", "bank"])
def test_only_suppliers_and_investors_are_registered_here(maker: Any, client_for: Any, kind: str) -> None:
    response = client_for(maker).post("/api/v1/organisations", {"kind": kind, "name": "X"},
                                      content_type="application/json")
    assert response.status_code == 422
    assert Organisation.objects.count() == 0


def test_a_profile_and_its_members_are_public(client: Client, supplier: Organisation, maker: Any) -> None:
    profile = client.get(f"/api/v1/organisations/{supplier.pk}").json()
    assert profile["name"] == "Compressor Co"
    members = client.get(f"/api/v1/organisations/{supplier.pk}/members").json()["items"]
    assert members == [{"id": members[0]["id"], "person": {"id": maker.pk, "name": "Li Wei"}, "role": "owner",
                        "joined_at": members[0]["joined_at"]}]
    assert "maker@example.com" not in client.get(f"/api/v1/organisations/{supplier.pk}/members").content.decode()


def test_my_organisations_need_credentials(client: Client, db: Any) -> None:
    assert client.get("/api/v1/organisations").status_code == 401


def test_a_manager_changes_the_profile_and_a_stranger_cannot(
    supplier: Organisation, maker: Any, make_person: Any, client_for: Any
) -> None:
    stranger = client_for(make_person())
    response = stranger.patch(f"/api/v1/organisations/{supplier.pk}", {"name": "Mine now"},
                              content_type="application/json")
    assert response.status_code == 403
    assert problem_type(response) == "not-organisation-manager"
    supplier.refresh_from_db()
    assert supplier.name == "Compressor Co"

    response = client_for(maker).patch(f"/api/v1/organisations/{supplier.pk}", {"description": "Quieter ones"},
                                       content_type="application/json")
    assert response.status_code == 200
    assert response.json()["description"] == "Quieter ones"
    assert response.json()["name"] == "Compressor Co"


def test_an_invitation_is_sent_listed_and_accepted(
    supplier: Organisation, maker: Any, make_person: Any, client_for: Any
) -> None:
    newcomer = make_person("newcomer@example.com")
    response = client_for(maker).post(f"/api/v1/organisations/{supplier.pk}/invitations",
                                      {"email": "newcomer@example.com", "role": "admin"},
                                      content_type="application/json")
    assert response.status_code == 201
    assert response.json()["status"] == "open"
    assert "token" not in response.json()
    listed = client_for(maker).get(f"/api/v1/organisations/{supplier.pk}/invitations").json()["items"]
    assert [i["email"] for i in listed] == ["newcomer@example.com"]

    # The token only travels by e-mail: withdraw that one and make one here to get its token.
    services.invitation_revoke(actor=maker, invitation=Invitation.objects.get(email="newcomer@example.com"))
    _invitation, token = services.invitation_create(actor=maker, organisation=supplier, email=newcomer.email,
                                                    role="admin")
    accepted = client_for(newcomer).post("/api/v1/invitations/accept", {"token": token},
                                         content_type="application/json")
    assert accepted.status_code == 201
    assert accepted.json() == {"organisation_id": supplier.pk, "organisation_name": "Compressor Co",
                               "organisation_kind": "supplier", "role": "admin"}
    again = client_for(newcomer).post("/api/v1/invitations/accept", {"token": token}, content_type="application/json")
    assert again.status_code == 400
    assert problem_type(again) == "invalid-invitation"


def test_an_invitation_cannot_be_accepted_by_someone_else(supplier: Organisation, maker: Any, make_person: Any,
                                                          client_for: Any) -> None:
    _invitation, token = services.invitation_create(actor=maker, organisation=supplier, email="right@example.com")
    wrong = make_person("wrong@example.com")
    response = client_for(wrong).post("/api/v1/invitations/accept", {"token": token}, content_type="application/json")
    assert response.status_code == 400
    assert problem_type(response) == "invalid-invitation"
    assert not Membership.objects.filter(person=wrong).exists()


def test_a_non_manager_cannot_invite_or_see_invitations(supplier: Organisation, make_person: Any,
                                                        client_for: Any) -> None:
    stranger = client_for(make_person())
    response = stranger.post(f"/api/v1/organisations/{supplier.pk}/invitations", {"email": "x@example.com"},
                             content_type="application/json")
    assert response.status_code == 403
    assert stranger.get(f"/api/v1/organisations/{supplier.pk}/invitations").status_code == 403
    assert Invitation.objects.count() == 0


def test_inviting_a_member_again_is_a_conflict(supplier: Organisation, maker: Any, client_for: Any) -> None:
    response = client_for(maker).post(f"/api/v1/organisations/{supplier.pk}/invitations", {"email": maker.email},
                                      content_type="application/json")
    assert response.status_code == 409
    assert problem_type(response) == "already-member"


def test_an_invalid_email_is_a_validation_problem(supplier: Organisation, maker: Any, client_for: Any) -> None:
    response = client_for(maker).post(f"/api/v1/organisations/{supplier.pk}/invitations", {"email": "not an email"},
                                      content_type="application/json")
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"] == ["body", "email"]


def test_withdrawing_an_invitation(supplier: Organisation, maker: Any, make_person: Any, client_for: Any) -> None:
    invitation, token = services.invitation_create(actor=maker, organisation=supplier, email="late@example.com")
    assert client_for(make_person()).delete(f"/api/v1/invitations/{invitation.pk}").status_code == 403
    assert client_for(maker).delete(f"/api/v1/invitations/{invitation.pk}").status_code == 204
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    late = make_person("late@example.com")
    response = client_for(late).post("/api/v1/invitations/accept", {"token": token}, content_type="application/json")
    assert problem_type(response) == "invalid-invitation"
    assert client_for(maker).delete("/api/v1/invitations/999999").status_code == 404


def test_removing_a_member_and_the_last_owner_rule(supplier: Organisation, maker: Any, make_person: Any,
                                                  client_for: Any) -> None:
    member = make_person()
    membership = Membership.objects.create(person=member, organisation=supplier, role="member")
    owner_membership = Membership.objects.get(person=maker, organisation=supplier)

    assert client_for(member).delete(
        f"/api/v1/organisations/{supplier.pk}/members/{owner_membership.pk}").status_code == 403
    last = client_for(maker).delete(f"/api/v1/organisations/{supplier.pk}/members/{owner_membership.pk}")
    assert last.status_code == 409
    assert problem_type(last) == "last-owner"
    assert client_for(maker).delete(f"/api/v1/organisations/{supplier.pk}/members/{membership.pk}").status_code == 204
    assert not Membership.objects.filter(pk=membership.pk).exists()


def test_a_membership_of_another_organisation_is_not_found(supplier: Organisation, maker: Any,
                                                           client_for: Any) -> None:
    elsewhere = services.organisation_create(actor=maker, kind="investor", name="Elsewhere")
    theirs = Membership.objects.get(organisation=elsewhere)
    response = client_for(maker).delete(f"/api/v1/organisations/{supplier.pk}/members/{theirs.pk}")
    assert response.status_code == 404
    assert Membership.objects.filter(pk=theirs.pk).exists()


def test_leaving(supplier: Organisation, maker: Any, make_person: Any, client_for: Any) -> None:
    member = make_person()
    Membership.objects.create(person=member, organisation=supplier, role="member")
    assert client_for(member).post(f"/api/v1/organisations/{supplier.pk}/leave").status_code == 204
    assert not Membership.objects.filter(person=member, organisation=supplier).exists()
    response = client_for(maker).post(f"/api/v1/organisations/{supplier.pk}/leave")
    assert response.status_code == 409
    assert problem_type(response) == "last-owner"


def test_an_operator_verifies_and_a_maker_cannot(supplier: Organisation, maker: Any, operator: Any,
                                                client_for: Any) -> None:
    refused = client_for(maker).post(f"/api/v1/organisations/{supplier.pk}/verification",
                                     {"approve": True, "note": "trust me"}, content_type="application/json")
    assert refused.status_code == 403
    assert problem_type(refused) == "not-operator"
    supplier.refresh_from_db()
    assert supplier.verification == "pending"

    response = client_for(operator).post(f"/api/v1/organisations/{supplier.pk}/verification",
                                         {"approve": True, "note": "licence checked"},
                                         content_type="application/json")
    assert response.status_code == 200
    assert response.json()["verification"] == "verified"
    assert response.json()["verified_at"] is not None
    assert Event.objects.filter(kind="organisation.verified", subject_id=str(supplier.pk)).count() == 1


def test_the_timeline_shows_private_events_only_to_those_who_may_see_them(
    supplier: Organisation, maker: Any, make_person: Any, client_for: Any
) -> None:
    services.invitation_create(actor=maker, organisation=supplier, email="private@example.com")  # not public
    filters = "subject_type=invitation&kind=invitation.sent"
    assert [e["kind"] for e in client_for(maker).get(f"/api/v1/events?{filters}").json()["items"]] == [
        "invitation.sent"
    ]
    assert client_for(make_person()).get(f"/api/v1/events?{filters}").json()["items"] == []
    assert Client().get(f"/api/v1/events?{filters}").json()["items"] == []
    public = Client().get(f"/api/v1/events?subject_type=organisation&subject_id={supplier.pk}").json()["items"]
    assert [e["kind"] for e in public] == ["organisation.created"]


def test_the_timeline_with_a_token_needs_events_read(maker: Any, bearer_for: Any) -> None:
    assert Client().get("/api/v1/events", headers=bearer_for(maker, ["events:read"])).status_code == 200
    assert Client().get("/api/v1/events", headers=bearer_for(maker, ["profile"])).status_code == 403


def test_timeline_filters_are_bounded(client: Client, db: Any) -> None:
    response = client.get("/api/v1/events?kind=" + "x" * 81)
    assert response.status_code == 422
    assert response.json()["errors"][0]["loc"][-1] == "kind"
