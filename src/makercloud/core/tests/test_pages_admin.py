"""The operators' admin: every model is there, secrets are not, and the event log is read-only."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.core.models import Event


def test_the_admin_lists_every_model(operator: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(operator)
    for path in ("accounts/user", "accounts/organisation", "accounts/membership", "accounts/invitation",
                 "accounts/personalaccesstoken", "ventures/venture", "core/event"):
        assert client.get(f"/admin/{path}/").status_code == 200, path


def test_the_event_log_cannot_be_added_changed_or_deleted(
    operator: User, client_for: Callable[[User], Client]
) -> None:
    client = client_for(operator)
    event = Event.objects.first()
    assert event is not None
    assert client.get("/admin/core/event/add/").status_code == 403
    assert client.get(f"/admin/core/event/{event.pk}/delete/").status_code == 403
    page = client.get(f"/admin/core/event/{event.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    assert client.post(f"/admin/core/event/{event.pk}/change/", {"kind": "tampered"}).status_code == 403
    assert Event.objects.get(pk=event.pk).kind == event.kind


def test_token_and_invitation_hashes_are_never_shown(operator: User, client_for: Callable[[User], Client]) -> None:
    token, _raw = accounts_services.token_create(person=operator, name="ci", scopes=["profile"])
    organisation = accounts_services.organisation_create(actor=operator, kind="supplier", name="Motors")
    invitation, _ = accounts_services.invitation_create(actor=operator, organisation=organisation,
                                                        email="x@example.com")
    client = client_for(operator)
    token_page = client.get(f"/admin/accounts/personalaccesstoken/{token.pk}/change/").content.decode()
    assert token.prefix in token_page and token.token_hash not in token_page and 'name="_save"' not in token_page
    invitation_page = client.get(f"/admin/accounts/invitation/{invitation.pk}/change/").content.decode()
    assert "x@example.com" in invitation_page and invitation.token_hash not in invitation_page


def test_an_operator_adds_a_person_with_a_password(operator: User, client_for: Callable[[User], Client]) -> None:
    response = client_for(operator).post("/admin/accounts/user/add/", {
        "email": "new@example.com", "name": "New Person", "intent": "user", "usable_password": "true",
        "password1": "a-long-unusual-passphrase", "password2": "a-long-unusual-passphrase",
    })
    assert response.status_code == 302
    assert Client().login(username="new@example.com", password="a-long-unusual-passphrase")


def test_people_who_are_not_staff_are_kept_out(make_person: Callable[..., User],
                                                client_for: Callable[[User], Client]) -> None:
    response = client_for(make_person()).get("/admin/accounts/user/")
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
