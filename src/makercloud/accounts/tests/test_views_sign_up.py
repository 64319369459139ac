"""Sign-up, sign-in, sign-out, e-mail verification and password reset, as a visitor sees them."""

import re
from collections.abc import Callable
from typing import Any

from django.core import mail
from django.test import Client

from makercloud.accounts.models import User

PASSWORD = "correct-horse-battery-staple"  # the repo-root conftest's make_person password


def sign_up(client: Client, **overrides: str) -> Any:
    data = {"email": "ada@example.com", "name": "Ada Maker", "password": "a-long-unusual-passphrase",
            "intent": "maker", **overrides}
    return client.post("/accounts/signup/", data)


def test_sign_up_creates_the_person_signs_them_in_and_sends_a_verification_link(
    db: Any, django_capture_on_commit_callbacks: Any
) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    person = User.objects.get(email="ada@example.com")
    assert person.name == "Ada Maker" and person.intent == "maker" and not person.email_verified
    assert "Ada" in client.get("/dashboard/").content.decode()
    assert len(mail.outbox) == 1 and "/accounts/verify/" in mail.outbox[0].body


def test_a_taken_address_shows_the_message_and_writes_no_row(make_person: Callable[..., User]) -> None:
    make_person("taken@example.com")
    response = sign_up(Client(), email="Taken@Example.com")
    assert response.status_code == 400
    assert "already has an account" in response.content.decode()
    assert User.objects.filter(email__iexact="taken@example.com").count() == 1


def test_a_weak_password_shows_the_reason_and_writes_no_row(db: Any) -> None:
    response = sign_up(Client(), password="12345")
    page = response.content.decode()
    assert response.status_code == 400
    assert "too short" in page and 'aria-invalid="true"' in page
    assert not User.objects.filter(email="ada@example.com").exists()


def test_missing_fields_re_render_with_field_errors(db: Any) -> None:
    response = Client().post("/accounts/signup/", {"email": "not-an-address", "name": "", "password": ""})
    page = response.content.decode()
    assert response.status_code == 400
    assert page.count('class="field-errors"') == 4  # email, name, password, intent
    assert User.objects.count() == 0


def test_sign_in_by_e_mail_in_any_case_and_sign_out_by_post(make_person: Callable[..., User]) -> None:
    make_person("li@example.com", name="Li Wei")
    client = Client()
    response = client.post("/accounts/login/", {"username": "LI@example.com", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/dashboard/"
    assert client.get("/dashboard/").status_code == 200
    assert client.get("/accounts/logout/").status_code == 405  # signing out is a POST, never a link
    client.post("/accounts/logout/")
    assert client.get("/dashboard/").status_code == 302


def test_a_wrong_password_is_refused_with_a_message(make_person: Callable[..., User]) -> None:
    make_person("li@example.com")
    response = Client().post("/accounts/login/", {"username": "li@example.com", "password": "wrong-password-1"})
    assert response.status_code == 200
    assert "correct email address and password" in response.content.decode().replace("e-mail", "email")


def test_the_verification_link_confirms_the_address(db: Any, django_capture_on_commit_callbacks: Any) -> None:
    client = Client()
    with django_capture_on_commit_callbacks(execute=True):
        sign_up(client)
    link = re.search(r"/accounts/verify/\S+/", mail.outbox[0].body)
    assert link is not None
    response = client.get(link.group(0))
    assert response.status_code == 200 and "is confirmed" in response.content.decode()
    assert User.objects.get(email="ada@example.com").email_verified


def test_a_damaged_verification_link_says_so(db: Any) -> None:
    response = Client().get("/accounts/verify/not-a-real-token/")
    assert response.status_code == 400
    assert "damaged" in response.content.decode()


def test_resend_verification_sends_a_new_link(maker: User, client_for: Callable[[User], Client]) -> None:
    client = client_for(maker)
    assert "Send the link again" in client.get("/accounts/profile/").content.decode()
    response = client.post("/accounts/verify/resend/", follow=True)
    assert "We sent a new confirmation link" in response.content.decode()
    assert len(mail.outbox) == 1 and mail.outbox[0].to == [maker.email]


def test_password_reset_mails_a_link_that_sets_a_new_password(maker: User) -> None:
    client = Client()
    response = client.post("/accounts/password/reset/", {"email": maker.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = re.search(r"http://\S+/accounts/password/reset/\S+/", mail.outbox[0].body)
    assert link is not None
    form = client.get(link.group(0), follow=True)
    assert form.status_code == 200 and "new_password1" in form.content.decode()
    done = client.post(form.redirect_chain[-1][0], {"new_password1": "another-long-passphrase",
                                                    "new_password2": "another-long-passphrase"})
    assert done.status_code == 302
    assert Client().login(username=maker.email, password="another-long-passphrase")


def test_profile_changes_name_and_intent(maker: User, client_for: Callable[[User], Client]) -> None:
    response = client_for(maker).post("/accounts/profile/", {"name": "Li Wei Zhang", "intent": "supplier"})
    assert response.status_code == 302
    maker.refresh_from_db()
    assert (maker.name, maker.intent) == ("Li Wei Zhang", "supplier")
