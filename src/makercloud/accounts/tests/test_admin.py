"""What operators do in the admin lands in the audit trail like the same thing done on the pages."""

from collections.abc import Callable
from typing import Any

from conftest import PASSWORD
from django.core import signing
from django.test import Client

from makercloud.accounts import services
from makercloud.accounts.models import Membership, Organisation, User
from makercloud.accounts.views import describe
from makercloud.core.models import Event

NEW_PASSWORD = "a-long-unusual-passphrase"


def inline(prefix: str, rows: list[dict[str, Any]], initial: int = 0) -> dict[str, Any]:
    data: dict[str, Any] = {f"{prefix}-TOTAL_FORMS": len(rows), f"{prefix}-INITIAL_FORMS": initial,
                            f"{prefix}-MIN_NUM_FORMS": 0, f"{prefix}-MAX_NUM_FORMS": 1000}
    for n, row in enumerate(rows):
        data.update({f"{prefix}-{n}-{name}": value for name, value in row.items()})
    return data


def test_a_person_added_in_the_admin_gets_the_sign_up_event_with_the_operator_as_actor(
    operator: User, client_for: Callable[[User], Client],
) -> None:
    response = client_for(operator).post("/admin/accounts/user/add/", {
        "email": "New@Example.com", "name": "New Person", "intent": "supplier", "usable_password": "true",
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    })
    assert response.status_code == 302
    person = User.objects.get(email="new@example.com")
    event = Event.objects.get(kind="person.signed_up", subject_type="user", subject_id=str(person.pk))
    assert event.actor == operator and event.data["intent"] == "supplier"
    assert describe([event])[0].text == "Olga Operator opened an account for New Person."
    own = Event.objects.get(kind="person.signed_up", subject_id=str(operator.pk))  # the operator signed up
    assert describe([own])[0].text == "Olga Operator joined makercloud."


def test_an_address_taken_in_another_letter_case_is_refused_on_the_form(
    operator: User, maker: User, client_for: Callable[[User], Client],
) -> None:
    response = client_for(operator).post("/admin/accounts/user/add/", {
        "email": maker.email.upper(), "name": "Copy", "intent": "user", "usable_password": "true",
        "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    })
    assert response.status_code == 200 and "already has an account" in response.content.decode()
    assert User.objects.filter(email__iexact=maker.email).count() == 1


def test_changes_to_a_person_and_their_password_are_recorded_without_values(
    operator: User, maker: User, client_for: Callable[[User], Client],
) -> None:
    client = client_for(operator)
    response = client.post(f"/admin/accounts/user/{maker.pk}/change/", {
        "email": maker.email, "name": "Li Wei", "intent": "maker", "is_active": "on", "is_staff": "on",
        **inline("memberships", []),
    })
    assert response.status_code == 302, response.content.decode()[:2000]
    changed = Event.objects.get(kind="person.changed", subject_id=str(maker.pk))
    assert changed.actor == operator and changed.data["fields"] == ["is_staff"]
    assert describe([changed])[0].text == "Olga Operator changed the account of Li Wei."
    response = client.post(f"/admin/accounts/user/{maker.pk}/password/", {
        "usable_password": "true", "password1": NEW_PASSWORD, "password2": NEW_PASSWORD,
    })
    assert response.status_code == 302
    event = Event.objects.get(kind="person.password_changed", subject_id=str(maker.pk))
    assert event.actor == operator and event.data == {"how": "admin", "person": "Li Wei"}
    assert NEW_PASSWORD not in str(event.data) and Client().login(username=maker.email, password=NEW_PASSWORD)


def test_organisations_and_memberships_changed_in_the_admin_are_in_their_timeline(
    operator: User, maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client],
) -> None:
    supplier = services.organisation_create(actor=maker, kind="supplier", name="Compressor Co")
    owner = Membership.objects.get(organisation=supplier, person=maker)
    newcomer = make_person("newcomer@example.com", name="New Comer")
    client = client_for(operator)
    response = client.post(f"/admin/accounts/organisation/{supplier.pk}/change/", {
        "kind": "supplier", "name": "Compressor Company", "slug": supplier.slug, "description": "",
        **inline("memberships", [{"id": owner.pk, "organisation": supplier.pk, "person": maker.pk, "role": "owner"},
                                 {"organisation": supplier.pk, "person": newcomer.pk, "role": "admin"}], initial=1),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    events = {e.kind: e for e in Event.objects.filter(organisation_id=supplier.pk, actor=operator)}
    assert events["organisation.updated"].data == {"fields": ["name"]}
    assert describe([events["member.joined"]])[0].text == (
        "Olga Operator added New Comer to Compressor Company as Administrator.")
    joined = Membership.objects.get(organisation=supplier, person=newcomer)
    response = client.post(f"/admin/accounts/membership/{joined.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Membership.objects.filter(pk=joined.pk).exists()
    removed = Event.objects.get(kind="member.removed", organisation_id=supplier.pk)
    assert describe([removed])[0].text == "Olga Operator removed New Comer from Compressor Company."


def test_an_organisation_registered_in_the_admin_is_recorded(
    operator: User, client_for: Callable[[User], Client],
) -> None:
    response = client_for(operator).post("/admin/accounts/organisation/add/", {
        "kind": "investor", "name": "Seed Fund", "slug": "seed-fund", "description": "", **inline("memberships", []),
    })
    assert response.status_code == 302, response.content.decode()[:3000]
    fund = Organisation.objects.get(slug="seed-fund")
    event = Event.objects.get(kind="organisation.created", organisation_id=fund.pk)
    assert event.actor == operator and event.public and fund.created_by == operator


def test_a_person_who_changes_their_password_finds_it_in_their_timeline(
    maker: User, client_for: Callable[[User], Client],
) -> None:
    response = client_for(maker).post("/accounts/password/change/", {
        "old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD,
    })
    assert response.status_code == 302
    event = Event.objects.get(kind="person.password_changed", subject_id=str(maker.pk))
    assert event.actor == maker and event.data["how"] == "changed"


def test_an_organisation_deleted_in_the_admin_leaves_a_public_event(
    operator: User, maker: User, client_for: Callable[[User], Client],
) -> None:
    supplier = services.organisation_create(actor=maker, kind="supplier", name="Gone Motors")
    response = client_for(operator).post(f"/admin/accounts/organisation/{supplier.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302 and not Organisation.objects.filter(pk=supplier.pk).exists()
    event = Event.objects.get(kind="organisation.deleted")
    assert event.actor == operator and event.public and event.data == {"kind": "supplier", "name": "Gone Motors"}
    assert describe([event])[0].text == "Olga Operator deleted Gone Motors."


def test_operators_withdraw_invitations_and_revoke_tokens_but_delete_neither(
    operator: User, maker: User, client_for: Callable[[User], Client],
) -> None:
    supplier = services.organisation_create(actor=maker, kind="supplier", name="Compressor Co")
    invitation, _token = services.invitation_create(actor=maker, organisation=supplier, email="x@example.com")
    token, raw = services.token_create(person=maker, name="leaked", scopes=["profile"])
    client = client_for(operator)
    assert client.get(f"/admin/accounts/invitation/{invitation.pk}/delete/").status_code == 403
    assert client.get(f"/admin/accounts/personalaccesstoken/{token.pk}/delete/").status_code == 403
    response = client.post("/admin/accounts/invitation/", {"action": "withdraw", "_selected_action": [invitation.pk]})
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.revoked_at is not None
    assert Event.objects.get(kind="invitation.withdrawn", subject_id=str(invitation.pk)).actor == operator
    response = client.post("/admin/accounts/personalaccesstoken/", {"action": "revoke",
                                                                     "_selected_action": [token.pk]})
    assert response.status_code == 302
    assert Event.objects.get(kind="token.revoked", subject_id=str(token.pk)).actor == operator
    assert Client().get("/api/v1/me", headers={"Authorization": f"Bearer {raw}"}).status_code == 401


def test_a_new_address_set_in_the_admin_is_unconfirmed_and_must_be_free_in_any_letter_case(
    operator: User, maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client],
) -> None:
    taken = make_person("taken@example.com")
    services.person_verify_email(token=signing.dumps({"id": maker.pk, "email": maker.email},
                                                     salt=services.EMAIL_VERIFICATION_SALT))
    client = client_for(operator)
    form = {"name": "Li Wei", "intent": "maker", "is_active": "on", **inline("memberships", [])}
    refused = client.post(f"/admin/accounts/user/{maker.pk}/change/", {**form, "email": taken.email.upper()})
    assert refused.status_code == 200 and "already has an account" in refused.content.decode()
    response = client.post(f"/admin/accounts/user/{maker.pk}/change/", {**form, "email": "Li.Wei@Example.com"})
    assert response.status_code == 302
    maker.refresh_from_db()
    assert maker.email == "li.wei@example.com" and not maker.email_verified
    assert Event.objects.get(kind="person.changed", subject_id=str(maker.pk)).data["fields"] == ["email"]
