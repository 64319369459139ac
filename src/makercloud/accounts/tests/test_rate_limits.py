"""What sends e-mail on a person's request is rate limited: invitations (API and pages), confirmation links and
password-reset links. Past a limit: 429 problem+json with Retry-After on the API, the reason on the page (with the
form kept), and no e-mail. A new window of the clock lets the next request through."""

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from conftest import PASSWORD
from django.core import mail
from django.test import Client
from django.utils import timezone

from makercloud.accounts import services
from makercloud.accounts.models import Invitation, Organisation, User
from makercloud.core.problems import TYPE_BASE


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[timedelta], None]:
    """The clock that limits, invitations and events see: it starts a second into today (UTC), so that no test
    straddles the edge of a window, runs on in real time and is moved forward by the test."""
    started = time.monotonic()
    midnight = timezone.now().replace(hour=0, minute=0, second=1, microsecond=0)
    offset = [timedelta(0)]
    monkeypatch.setattr("django.utils.timezone.now",
                        lambda: midnight + offset[0] + timedelta(seconds=time.monotonic() - started))

    def move(by: timedelta) -> None:
        offset[0] += by

    return move


@pytest.fixture
def supplier(maker: User) -> Organisation:
    return services.organisation_create(actor=maker, kind="supplier", name="Compressor Co")


def invite(client: Client, organisation: Organisation, email: str) -> Any:
    return client.post(f"/api/v1/organisations/{organisation.pk}/invitations", {"email": email},
                       content_type="application/json")


# Invitations -----------------------------------------------------------------------------------------------------


def test_the_sixth_invitation_of_one_address_in_a_day_is_refused_with_429(
    maker: User, supplier: Organisation, client_for: Callable[[User], Client], clock: Callable[[timedelta], None],
    django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(maker)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(5):
            assert invite(client, supplier, "Victim@example.com").status_code == 201
        refused = invite(client, supplier, "victim@example.com")
    assert refused.status_code == 429 and refused["Content-Type"] == "application/problem+json"
    body = refused.json()
    assert body["type"] == TYPE_BASE + "rate-limited" and body["limit"] == "invitations-per-address"
    assert "invited 5 times today" in body["detail"]
    assert 0 < int(refused["Retry-After"]) <= 86400 and body["retry_after"] == int(refused["Retry-After"])
    assert len(mail.outbox) == 5 and Invitation.objects.filter(email="victim@example.com").count() == 5
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(client, supplier, "someone-else@example.com").status_code == 201  # other addresses still can
    clock(timedelta(days=1))
    with django_capture_on_commit_callbacks(execute=True):
        assert invite(client, supplier, "victim@example.com").status_code == 201
    assert len(mail.outbox) == 7


def test_an_organisation_sends_at_most_50_invitations_an_hour(
    maker: User, supplier: Organisation, make_person: Callable[..., User], client_for: Callable[[User], Client],
    clock: Callable[[timedelta], None], django_capture_on_commit_callbacks: Any,
) -> None:
    helper = make_person("helper@example.com")
    with django_capture_on_commit_callbacks(execute=True):
        services.invitation_create(actor=maker, organisation=supplier, email=helper.email, role="admin")
    services.invitation_accept(actor=helper, token=mail.outbox[0].body.split("/invitations/")[1].split("/")[0])
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        for n in range(49):  # the 50th of the hour was the helper's
            services.invitation_create(actor=maker if n % 2 else helper, organisation=supplier,
                                       email=f"crew{n}@example.com")
    refused = invite(client_for(helper), supplier, "one-more@example.com")
    assert refused.status_code == 429 and refused.json()["limit"] == "invitations-per-organisation"
    assert "50 invitations an hour" in refused.json()["detail"]
    assert len(mail.outbox) == 49 and not Invitation.objects.filter(email="one-more@example.com").exists()
    clock(timedelta(hours=1))
    assert invite(client_for(helper), supplier, "one-more@example.com").status_code == 201


def test_one_inviter_sends_at_most_50_invitations_an_hour_across_organisations(
    maker: User, supplier: Organisation, client_for: Callable[[User], Client], clock: Callable[[timedelta], None],
) -> None:
    investor = services.organisation_create(actor=maker, kind="investor", name="Seed Fund")
    for n in range(50):
        services.invitation_create(actor=maker, organisation=supplier if n < 30 else investor,
                                   email=f"list{n}@example.com")
    refused = invite(client_for(maker), investor, "list50@example.com")  # the fund itself sent only 20
    assert refused.status_code == 429 and refused.json()["limit"] == "invitations-per-inviter"
    assert "You can send 50 invitations an hour" in refused.json()["detail"]
    clock(timedelta(hours=1))
    assert invite(client_for(maker), investor, "list50@example.com").status_code == 201


def test_the_page_says_why_an_invitation_is_refused_and_keeps_the_address(
    maker: User, supplier: Organisation, client_for: Callable[[User], Client], django_capture_on_commit_callbacks: Any,
) -> None:
    client = client_for(maker)
    with django_capture_on_commit_callbacks(execute=True):
        for _ in range(6):
            page = client.post(f"/organisations/{supplier.slug}/invite/", {"email": "pal@example.com",
                                                                           "role": "admin"}, follow=True)
    text = page.content.decode()
    assert "This address was invited 5 times today. It can be invited again in" in text
    assert 'value="pal@example.com"' in text and '<option value="admin" selected>' in text
    assert len(mail.outbox) == 5


# Confirmation links ----------------------------------------------------------------------------------------------


def test_confirmation_links_are_resent_at_most_5_times_an_hour(
    maker: User, client_for: Callable[[User], Client], clock: Callable[[timedelta], None],
) -> None:
    client = client_for(maker)
    for _ in range(5):
        page = client.post("/accounts/verify/resend/", follow=True)
        assert "We sent a new confirmation link" in page.content.decode()
    page = client.post("/accounts/verify/resend/", follow=True)
    text = page.content.decode()
    assert "We sent you 5 confirmation links this hour. Try again in" in text
    assert "We sent a new confirmation link" not in text
    assert len(mail.outbox) == 5
    clock(timedelta(hours=1))
    assert "We sent a new confirmation link" in client.post("/accounts/verify/resend/", follow=True).content.decode()
    assert len(mail.outbox) == 6


# Password-reset links --------------------------------------------------------------------------------------------


def test_reset_links_for_one_address_are_sent_at_most_5_times_an_hour(
    maker: User, clock: Callable[[timedelta], None],
) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/accounts/password/reset/", {"email": maker.email}).status_code == 302
    refused = client.post("/accounts/password/reset/", {"email": maker.email.upper()})
    assert refused.status_code == 429 and 0 < int(refused["Retry-After"]) <= 3600
    text = refused.content.decode()
    assert "Links for this address were asked for 5 times this hour. Try again in" in text
    assert f'value="{maker.email.upper()}"' in text  # the form is kept
    assert len(mail.outbox) == 5
    clock(timedelta(hours=1))
    assert client.post("/accounts/password/reset/", {"email": maker.email}).status_code == 302
    assert len(mail.outbox) == 6


def test_an_unknown_address_is_limited_the_same_so_the_limit_tells_nothing(db: Any) -> None:
    client = Client()
    for _ in range(5):
        assert client.post("/accounts/password/reset/", {"email": "nobody@example.com"}).status_code == 302
    refused = client.post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert refused.status_code == 429 and "5 times this hour" in refused.content.decode()
    assert mail.outbox == []


def test_one_network_asks_for_at_most_20_reset_links_an_hour(make_person: Callable[..., User]) -> None:
    people = [make_person() for _ in range(21)]
    client = Client(REMOTE_ADDR="203.0.113.7")
    for person in people[:20]:
        assert client.post("/accounts/password/reset/", {"email": person.email}).status_code == 302
    refused = client.post("/accounts/password/reset/", {"email": people[20].email})
    assert refused.status_code == 429 and "from your network" in refused.content.decode()
    assert len(mail.outbox) == 20
    other = Client(REMOTE_ADDR="198.51.100.2")
    assert other.post("/accounts/password/reset/", {"email": people[20].email}).status_code == 302
    assert len(mail.outbox) == 21


# Sign-ups --------------------------------------------------------------------------------------------------------


def test_one_network_opens_at_most_50_accounts_an_hour(db: Any, clock: Callable[[timedelta], None],
                                                       django_capture_on_commit_callbacks: Any) -> None:
    def sign_up(n: int) -> Any:
        return Client(REMOTE_ADDR="203.0.113.9").post("/accounts/signup/", {
            "email": f"bulk{n}@example.com", "name": f"Bulk {n}", "password": "a-long-passphrase-42",
            "intent": "user"})

    with django_capture_on_commit_callbacks(execute=True):
        for n in range(50):
            assert sign_up(n).status_code == 302
        refused = sign_up(50)
    assert refused.status_code == 429
    text = refused.content.decode()
    assert "Too many accounts were opened from your network this hour" in text and 'value="bulk50@example.com"' in text
    assert not User.objects.filter(email="bulk50@example.com").exists() and len(mail.outbox) == 50
    clock(timedelta(hours=1))
    assert sign_up(50).status_code == 302


# Signing in ------------------------------------------------------------------------------------------------------


def test_after_10_wrong_passwords_in_15_minutes_even_the_right_one_is_refused(
    maker: User, make_person: Callable[..., User], clock: Callable[[timedelta], None],
) -> None:
    other = make_person("other@example.com")
    client = Client()

    def sign_in(email: str, password: str) -> Any:
        return client.post("/accounts/login/", {"username": email, "password": password})

    for _ in range(10):
        assert "correct" in sign_in(maker.email, "guess-" + "x" * 8).content.decode()  # Django's "enter a correct …"
    refused = sign_in(maker.email.upper(), PASSWORD)
    assert refused.status_code == 200 and "_auth_user_id" not in client.session
    assert "Too many wrong passwords for this address. Try again in" in refused.content.decode()
    assert sign_in(other.email, PASSWORD).status_code == 302  # other addresses are not locked
    clock(timedelta(minutes=15))
    assert Client().post("/accounts/login/", {"username": maker.email, "password": PASSWORD}).status_code == 302
