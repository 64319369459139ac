"""The timeline: the event log told readably, only what the reader may see, page by page."""

from collections.abc import Callable

from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.ventures import services as venture_services


def test_the_timeline_says_who_did_what(maker: User) -> None:
    venture_services.venture_found(actor=maker, name="Cool Fridge", mission="Fridges.", origin="outside")
    page = Client().get("/timeline/").content.decode()
    assert "Li Wei founded the venture Cool Fridge." in page
    assert 'href="/ventures/cool-fridge/"' in page


def test_private_events_are_shown_only_to_those_who_may_read_them(
    maker: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    venture = venture_services.venture_found(actor=maker, name="Cool Fridge", mission="Fridges.", origin="outside")
    accounts_services.invitation_create(actor=maker, organisation=venture.organisation, email="secret@example.com")
    sentence = "Li Wei invited secret@example.com to Cool Fridge as Member."
    assert sentence not in Client().get("/timeline/").content.decode()
    assert sentence not in client_for(make_person()).get("/timeline/").content.decode()
    assert sentence in client_for(maker).get("/timeline/").content.decode()


def test_the_timeline_is_paginated(maker: User, client_for: Callable[[User], Client]) -> None:
    for n in range(20):  # two public events each: registered, founded
        venture_services.venture_found(actor=maker, name=f"Venture {n:02d}", mission="M.", origin="outside")
    first = Client().get("/timeline/").content.decode()
    assert "founded the venture Venture 19." in first and "founded the venture Venture 00." not in first
    older = first.split('href="?before=', 1)[1].split('"', 1)[0]
    second = Client().get(f"/timeline/?before={older}").content.decode()
    assert "founded the venture Venture 00." in second and "Venture 19." not in second
