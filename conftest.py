"""Fixtures shared by every test: people, organisations and clients that act as them."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from django.db import connection
from django.test import Client

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import User
from makercloud.core.append_only import EVENT_LOG, lifted

PASSWORD = "correct-horse-battery-staple"


@pytest.fixture(autouse=True)
def _empty_cache() -> None:
    """Each test starts with no cached counts: ids and e-mail addresses repeat from test to test, and the rate limits
    of one must not be spent by another. A Redis is shared with other processes: only this process's keys go."""
    default = caches["default"]
    if isinstance(default, RedisCache):
        client = default._cache.get_client(write=True)
        keys = list(client.scan_iter(match=default.make_key("*")))
        if keys:
            client.delete(*keys)
    else:
        default.clear()


@pytest.fixture
def committed_db(transactional_db: None) -> Iterator[None]:
    """A database whose writes commit, for tests where other threads or processes read them. The test run's flush
    DELETEs on SQLite, which the event log's guard refuses: it is emptied with the guard lifted (PostgreSQL's flush
    TRUNCATEs)."""
    yield
    if connection.vendor == "sqlite":
        with lifted(EVENT_LOG), connection.cursor() as cursor:
            cursor.execute("DELETE FROM core_event")


@pytest.fixture
def make_person(db: Any) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(email: str | None = None, *, name: str = "", intent: str = "maker", operator: bool = False) -> User:
        n = next(counter)
        person = accounts_services.person_sign_up(
            email=email or f"person{n}@example.com",
            name=name or f"Person {n}",
            password=PASSWORD,
            intent=intent,
            send_verification=False,
        )
        if operator:
            accounts_services.operator_grant(person=person)
        return person

    return make


@pytest.fixture
def maker(make_person: Callable[..., User]) -> User:
    return make_person("maker@example.com", name="Li Wei", intent="maker")


@pytest.fixture
def operator(make_person: Callable[..., User]) -> User:
    return make_person("operator@example.com", name="Olga Operator", operator=True)


@pytest.fixture
def client_for() -> Callable[[User], Client]:
    """A browser-like client signed in as the given person (session auth, CSRF enforced)."""

    def make(person: User) -> Client:
        client = Client(enforce_csrf_checks=False)
        client.force_login(person)
        return client

    return make


@pytest.fixture
def bearer_for(db: Any) -> Callable[..., dict[str, str]]:
    """Authorization headers with a fresh personal access token of the given person (and scopes)."""

    def make(person: User, scopes: list[str] | None = None) -> dict[str, str]:
        _token, raw = accounts_services.token_create(person=person, name="test", scopes=scopes)
        return {"Authorization": f"Bearer {raw}"}

    return make
