"""Shared by the engine's tests: a clock we control (the database's and Django's now), a venture that posts calls,
suppliers, and published calls."""

import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Organisation, User
from makercloud.calls.models import Call
from makercloud.calls.services import engine as services


class Clock:
    """Frozen time: `database_now` (deadlines) and `django.utils.timezone.now` (stored times) both read it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Iterator[Clock]:
    frozen = Clock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    monkeypatch.setattr(services, "database_now", frozen)
    monkeypatch.setattr("django.utils.timezone.now", frozen)
    yield frozen


def organisation(*, owner: User, kind: str, name: str = "") -> Organisation:
    return accounts_services.organisation_create(actor=owner, kind=kind, name=name or f"{kind} {uuid.uuid4().hex[:8]}")


@pytest.fixture
def venture(maker: User) -> Organisation:
    return organisation(owner=maker, kind="venture", name="Cool Air Studio")


@pytest.fixture
def make_supplier(make_person: Callable[..., User]) -> Callable[..., tuple[User, Organisation]]:
    def make(name: str = "") -> tuple[User, Organisation]:
        person = make_person(intent="supplier")
        return person, organisation(owner=person, kind="supplier", name=name)

    return make


def publish(*, actor: User, owner: Organisation, kind: str = "challenge", hours: float = 48, **fields: Any) -> Call:
    """A published call whose responses close `hours` from now (the clock's now, when one is installed)."""
    now = services.database_now()
    fields.setdefault("title", f"A {kind} call")
    fields.setdefault("questions_until", now + timedelta(hours=hours / 2))
    call = services.call_create(actor=actor, owner=owner, kind=kind, responses_until=now + timedelta(hours=hours),
                                **fields)
    return services.call_publish(actor=actor, call=call)


@pytest.fixture
def engine_only(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The engine with no kind registered (its defaults): the kinds' own rules are tested by their tests."""
    registry: dict[str, Any] = {}
    monkeypatch.setattr("makercloud.calls.kinds.registry", registry)
    return registry
