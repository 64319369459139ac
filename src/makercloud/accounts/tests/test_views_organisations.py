"""Suppliers and investors: register, verify, edit, invite — and who may not."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts import services
from makercloud.accounts.models import Invitation, Organisation, User


def test_a_supplier_registers_and_waits_for_verification(
    make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    supplier = make_person("sales@motors.example", intent="supplier")
    client = client_for(supplier)
    response = client.post("/organisations/new/", {"kind": "supplier", "name": "Quiet Motors",
                                                   "description": "Brushless motors."})
    assert response.status_code == 302 and response["Location"] == "/organisations/quiet-motors/"
    page = client.get("/dashboard/").content.decode()
    assert "Quiet Motors" in page and "Waiting for verification" in page


def test_the_operator_verifies_a_supplier_from_the_dashboard(
    operator: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    owner = make_person("sales@motors.example", intent="supplier")
    organisation = services.organisation_create(actor=owner, kind="supplier", name="Quiet Motors")
    client = client_for(operator)
    dashboard = client.get("/dashboard/").content.decode()
    assert "Quiet Motors" in dashboard and "/admin/" in dashboard
    response = client.post("/organisations/quiet-motors/verify/",
                           {"decision": "verify", "note": "Papers checked.", "next": "/dashboard/"}, follow=True)
    assert response.redirect_chain[-1][0] == "/dashboard/"
    assert "Quiet Motors is verified." in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.verification == "verified" and organisation.verification_note == "Papers checked."
    assert "Verified" in client_for(owner).get("/dashboard/").content.decode()


def test_the_operator_rejects_with_a_note_the_owner_reads(
    operator: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    owner = make_person("sales@motors.example", intent="supplier")
    services.organisation_create(actor=owner, kind="supplier", name="Quiet Motors")
    client_for(operator).post("/organisations/quiet-motors/verify/", {"decision": "reject", "note": "No licence."})
    page = client_for(owner).get("/organisations/quiet-motors/").content.decode()
    assert "Rejected" in page and "No licence." in page


def test_only_operators_verify(make_person: Callable[..., User], client_for: Callable[[User], Client]) -> None:
    owner = make_person("sales@motors.example", intent="supplier")
    organisation = services.organisation_create(actor=owner, kind="supplier", name="Quiet Motors")
    response = client_for(owner).post("/organisations/quiet-motors/verify/", {"decision": "verify"})
    assert response.status_code == 403 and "Only platform operators may do this." in response.content.decode()
    organisation.refresh_from_db()
    assert organisation.verification == "pending"


def test_a_non_member_can_neither_edit_nor_invite(
    make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    owner = make_person("sales@motors.example", intent="supplier")
    services.organisation_create(actor=owner, kind="supplier", name="Quiet Motors")
    stranger = client_for(make_person("stranger@example.com"))
    assert stranger.get("/organisations/quiet-motors/edit/").status_code == 403
    assert stranger.post("/organisations/quiet-motors/edit/", {"name": "Mine now"}).status_code == 403
    assert stranger.post("/organisations/quiet-motors/invite/", {"email": "x@example.com",
                                                                 "role": "owner"}).status_code == 403
    assert Organisation.objects.get(slug="quiet-motors").name == "Quiet Motors"
    assert not Invitation.objects.exists()
    assert "Invite someone" not in stranger.get("/organisations/quiet-motors/").content.decode()


def test_the_owner_edits_invites_and_withdraws(
    make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    owner = make_person("sales@motors.example", intent="supplier")
    services.organisation_create(actor=owner, kind="supplier", name="Quiet Motors")
    client = client_for(owner)
    client.post("/organisations/quiet-motors/edit/", {"name": "Quieter Motors", "description": "Even quieter."})
    assert "Quieter Motors" in client.get("/organisations/quiet-motors/").content.decode()
    page = client.post("/organisations/quiet-motors/invite/", {"email": "new@example.com", "role": "admin"},
                       follow=True).content.decode()
    assert "We sent an invitation to new@example.com." in page
    invitation = Invitation.objects.get(email="new@example.com")
    page = client.post(f"/organisations/quiet-motors/invitations/{invitation.pk}/withdraw/", follow=True)
    assert "is withdrawn" in page.content.decode()
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None


def test_an_unknown_organisation_is_a_404(db: object) -> None:
    response = Client().get("/organisations/nothing-here/")
    assert response.status_code == 404 and "There is no such organisation." in response.content.decode()
