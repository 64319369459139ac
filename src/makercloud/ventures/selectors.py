from django.db.models import Count, QuerySet

from makercloud.accounts.models import User
from makercloud.ventures.errors import VentureNotFound
from makercloud.ventures.models import Venture


def ventures_public() -> QuerySet[Venture]:
    """Every venture is listed publicly, newest first, with its member count."""
    # A GROUP BY drops Meta.ordering, so the order is stated here.
    return (
        Venture.objects.select_related("organisation")
        .annotate(member_count=Count("organisation__memberships"))
        .order_by("-founded_at", "-id")
    )


def ventures_of(*, person: User) -> QuerySet[Venture]:
    return ventures_public().filter(organisation__memberships__person=person)


def venture_get(*, venture_id: int) -> Venture:
    venture = ventures_public().filter(pk=venture_id).first()
    if venture is None:
        raise VentureNotFound()
    return venture


def venture_by_slug(*, slug: str) -> Venture:
    venture = ventures_public().filter(organisation__slug=slug).first()
    if venture is None:
        raise VentureNotFound()
    return venture
