"""Cursor pagination on a real list: every item exactly once, newest first, stable while new items arrive."""

from typing import Any

from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makercloud.ventures import services
from makercloud.ventures.models import Venture


def found(person: Any, n: int) -> list[int]:
    return [
        services.venture_found(actor=person, name=f"Venture {i}", mission="m", origin="outside").pk for i in range(n)
    ]


def walk(client: Client, limit: int) -> tuple[list[int], int]:
    seen: list[int] = []
    cursor, pages = "", 0
    while True:
        response = client.get("/api/v1/ventures", {"limit": limit, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200
        page = response.json()
        assert len(page["items"]) <= limit
        seen += [v["id"] for v in page["items"]]
        pages += 1
        if page["next_cursor"] is None:
            return seen, pages
        cursor = page["next_cursor"]


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(count=st.integers(min_value=0, max_value=12), limit=st.integers(min_value=1, max_value=5))
def test_walking_the_pages_yields_every_venture_once_newest_first(
    maker: Any, client: Client, count: int, limit: int
) -> None:
    Venture.objects.all().delete()  # hypothesis reuses the test's database across examples
    ids = found(maker, count)
    seen, pages = walk(client, limit)
    assert seen == sorted(ids, reverse=True)
    assert pages == max(1, -(-count // limit))


def test_items_added_while_walking_do_not_shift_the_pages(maker: Any, client: Client) -> None:
    ids = found(maker, 5)
    first = client.get("/api/v1/ventures", {"limit": 2}).json()
    found(maker, 3)  # newer ventures arrive between pages
    rest = client.get("/api/v1/ventures", {"limit": 10, "cursor": first["next_cursor"]}).json()
    assert [v["id"] for v in first["items"] + rest["items"]] == sorted(ids, reverse=True)


def test_the_default_page_is_fifty(maker: Any, client: Client) -> None:
    found(maker, 51)
    page = client.get("/api/v1/ventures").json()
    assert len(page["items"]) == 50
    assert page["next_cursor"] is not None
