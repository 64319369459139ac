"""The landing page, the layout every page shares, and the error pages."""

from collections.abc import Callable
from datetime import timedelta

from django.test import Client
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.ventures import services as venture_services
from makercloud.ventures.models import Venture


def test_the_landing_page_explains_the_platform_and_its_empty_states(db: object) -> None:
    page = Client().get("/").content.decode()
    for opening in ("The open API", "The open value chain", "The open mechanism", "Hatching"):
        assert opening in page
    assert "No venture has been founded yet." in page
    for coming in ("Open calls", "Products", "Apps"):
        assert f"<h3>{coming}</h3>" in page


def test_the_landing_page_lists_ventures_newest_first(maker: User) -> None:
    older = venture_services.venture_found(actor=maker, name="Old Oven", mission="Ovens.", origin="outside")
    Venture.objects.filter(pk=older.pk).update(founded_at=timezone.now() - timedelta(days=3))
    venture_services.venture_found(actor=maker, name="New Kettle", mission="Kettles.", origin="outside")
    page = Client().get("/").content.decode()
    assert "No venture has been founded yet." not in page
    assert page.index("New Kettle") < page.index("Old Oven")


def test_the_layout_has_a_skip_link_bundled_htmx_and_navigation_by_role(
    operator: User, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    anonymous = Client().get("/").content.decode()
    assert 'href="#main"' in anonymous and 'id="main"' in anonymous
    assert "/static/django_htmx/htmx-2.min.js" in anonymous and "unpkg" not in anonymous and "cdn" not in anonymous
    assert "Sign in" in anonymous and "/dashboard/" not in anonymous
    signed_in = client_for(make_person()).get("/").content.decode()
    assert 'href="/dashboard/"' in signed_in and 'href="/admin/"' not in signed_in
    assert 'href="/admin/"' in client_for(operator).get("/").content.decode()


def test_the_stylesheet_and_htmx_are_served(db: object) -> None:
    client = Client()
    for path in ("/static/web/makercloud.css", "/static/django_htmx/htmx-2.min.js"):
        response = client.get(path)
        assert response.status_code == 200, path
        b"".join(response.streaming_content)  # type: ignore[attr-defined]


def test_an_unknown_page_is_a_friendly_404(db: object) -> None:
    response = Client().get("/no/such/page/")
    page = response.content.decode()
    assert response.status_code == 404
    assert "We could not find that page" in page and "Resolver404" not in page
