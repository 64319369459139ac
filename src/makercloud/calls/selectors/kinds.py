"""calls: selectors of the kinds sub-domain (engineer B), each checked against who asks.

Public: an idea's progress (supports, stage, deadline) and discussion, the contribution points of an awarded idea, a
supplier's mean rating. Tranches: the venture's managers, the investor's members and operators. Nothing here reads a
response's content: sealed bids stay with the engine's selectors.
"""

from decimal import Decimal

from django.db.models import Avg, Count, QuerySet

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.models import Organisation, User
from makercloud.calls.kinds import idea as idea_kind
from makercloud.calls.kinds.errors import NotAllowedHere, NotAnIdea, TrancheNotFound
from makercloud.calls.models.engine import Call, CallKind
from makercloud.calls.models.kinds import ContributionPoint, IdeaComment, IdeaProgress, SupplierRating, Support, Tranche
from makercloud.calls.services import engine
from makercloud.calls.services import kinds as services


def idea_progress(*, call: Call) -> IdeaProgress:
    """Public: the idea's supports, stage and the next stage's deadline (an idea past it ends on this read)."""
    if call.kind != CallKind.IDEA:
        raise NotAnIdea()
    services.idea_expire(call=call)
    return services.idea_progress(call=call)


def idea_stages(*, call: Call, progress: IdeaProgress) -> list[dict[str, object]]:
    """Each stage with whether it is reached: for the page and the API."""
    return [{"number": number, "supports": stage["supports"], "days": stage["days"],
             "reached": progress.stage >= number}
            for number, stage in enumerate(idea_kind.stages_of(call), start=1)]


def has_supported(*, viewer: User | None, call: Call) -> bool:
    if viewer is None or not viewer.is_authenticated:
        return False
    return Support.objects.filter(call=call, person=viewer).exists()


def comments_of(*, call: Call) -> QuerySet[IdeaComment]:
    """Public, like the idea: the discussion is in the open."""
    if call.kind != CallKind.IDEA:
        raise NotAnIdea()
    return IdeaComment.objects.filter(call=call).select_related("author").order_by("id")


def contribution_points_of(*, call: Call) -> QuerySet[ContributionPoint]:
    """Public once awarded (they are what the venture's rule shares by): who earned what, and why."""
    return ContributionPoint.objects.filter(call=call).select_related("person").order_by("-points", "id")


def supplier_rating(*, organisation: Organisation | int) -> tuple[Decimal | None, int]:
    """A supplier's mean rating (None when unrated) and how many ratings — public, like its qualifications."""
    row = SupplierRating.objects.filter(supplier=organisation).aggregate(mean=Avg("stars"), count=Count("id"))
    mean = Decimal(str(row["mean"])).quantize(Decimal("0.01")) if row["mean"] is not None else None
    return mean, row["count"]


def can_see_tranches(*, viewer: User | None, call: Call) -> bool:
    if viewer is None or not viewer.is_authenticated:
        return False
    if engine.can_manage_call(person=viewer, call=call) or accounts_selectors.is_operator(person=viewer):
        return True
    investors = Tranche.objects.filter(call=call).values_list("response__organisation", flat=True).distinct()
    return any(organisation and accounts_selectors.is_member(person=viewer, organisation=Organisation(pk=organisation))
               for organisation in investors)


def tranches_of(*, viewer: User | None, call: Call) -> QuerySet[Tranche]:
    if not can_see_tranches(viewer=viewer, call=call):
        raise NotAllowedHere(detail="")
    return Tranche.objects.filter(call=call).select_related("response__organisation").order_by("number")


def tranche_get(*, viewer: User, tranche_id: int) -> Tranche:
    tranche = Tranche.objects.select_related("call", "call__owner").filter(pk=tranche_id).first()
    if tranche is None or not can_see_tranches(viewer=viewer, call=tranche.call):
        raise TrancheNotFound()
    return tranche
