import pytest
from django.core import mail

from makercloud.accounts import services
from makercloud.accounts.errors import EmailTaken, InvalidVerification, WeakPassword
from makercloud.accounts.models import User
from makercloud.core.models import Event


def test_sign_up_stores_a_hashed_password_and_sends_a_verification_link(db, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        person = services.person_sign_up(email="Ada@Example.COM", name="Ada", password="a-long-passphrase-42")
    assert person.email == "ada@example.com"
    assert person.password != "a-long-passphrase-42" and person.check_password("a-long-passphrase-42")
    assert not person.email_verified
    assert Event.objects.filter(kind="person.signed_up", subject_id=str(person.pk)).exists()
    [message] = mail.outbox
    token = message.body.split("/accounts/verify/")[1].split("/")[0]
    assert services.person_verify_email(token=token).email_verified


def test_a_taken_email_is_refused_whatever_its_case_and_nothing_is_written(db):
    services.person_sign_up(email="ada@example.com", name="Ada", password="a-long-passphrase-42")
    events = Event.objects.count()
    with pytest.raises(EmailTaken):
        services.person_sign_up(email="ADA@example.com", name="Other", password="a-long-passphrase-42")
    assert User.objects.count() == 1 and Event.objects.count() == events


@pytest.mark.parametrize("password", ["short", "password123", "12345678901", "ada@example.com"])
def test_weak_passwords_are_refused_with_the_reason(db, password):
    with pytest.raises(WeakPassword) as refused:
        services.person_sign_up(email="ada@example.com", name="Ada", password=password)
    assert refused.value.detail
    assert not User.objects.exists()


def test_a_tampered_verification_link_is_refused(maker):
    with pytest.raises(InvalidVerification):
        services.person_verify_email(token="not-a-real-token")
    maker.refresh_from_db()
    assert not maker.email_verified
