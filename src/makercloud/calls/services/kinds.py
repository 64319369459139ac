"""calls: services of the kinds sub-domain (engineer B) — idea supports and stages, the discussion, contribution
points (and feeding them into a venture rule's @co_creators set), challenge rewards, supplier ratings, funding
tranches.

Time is the database's (calls.services.engine.database_now), like the engine's deadlines.
"""

import uuid
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import OrganisationKind, User
from makercloud.calls.errors import NotCallOwner, WrongCallState
from makercloud.calls.kinds import challenge as challenge_kind
from makercloud.calls.kinds import funding as funding_kind
from makercloud.calls.kinds import idea as idea_kind
from makercloud.calls.kinds.errors import (
    AlreadyRated,
    AlreadySupported,
    IdeaClosed,
    NotAllowedHere,
    NotAnIdea,
    NotInDiscussion,
    NotVerified,
    TooManyIdeas,
    WrongTrancheState,
)
from makercloud.calls.models.engine import Call, CallKind, CallState, Response, ResponseState
from makercloud.calls.models.kinds import (
    ContributionPoint,
    ContributionRole,
    IdeaComment,
    IdeaProgress,
    IdeaState,
    SupplierRating,
    Support,
    Tranche,
    TrancheState,
)
from makercloud.calls.services import engine
from makercloud.core.errors import InvalidInput
from makercloud.core.events import record_event
from makercloud.core.money import Money
from makercloud.ledger.models.journal import AccountPurpose, TransferCode
from makercloud.ledger.models.rules import PartySet, SharingRule
from makercloud.ledger.services.journal import TransferSpec, account_open, transfers_create
from makercloud.ledger.services.rules import MAX_MEMBERS, MemberSpec, ensure_rule_editor, party_set_update
from makercloud.notifications.services import notify

TRANCHE_NAMESPACE = uuid.UUID("0c8a4b52-3f0e-4f53-9f3c-51d8f3a0d6e2")


def _event(call: Call, kind: str, *, actor: User | None, public: bool = True, **data: Any) -> None:
    record_event(actor=actor, subject=call, kind=kind, organisation=call.owner_id, public=public, data=data)


def _idea_url(call: Call) -> str:
    return reverse("calls:idea", args=[call.pk])


# Idea: posted by a person ----------------------------------------------------------------------------------------

IDEAS_PER_DAY = 3  # a person's ideas in any 24 hours
IDEA_OPEN_DAYS = 365  # proposals are taken this long; the stages' own deadlines end an idea that gathers too few
IDEA_STAGES = idea_kind.DEFAULT_STAGES  # LEGO Ideas' thresholds and deadlines


@transaction.atomic
def idea_post(*, actor: User, title: str, description: str, attachments: list[Any] | None = None) -> Call:
    """A verified person posts a need or an idea. It is the platform's call (its operators pick the proposal and
    moderate: they may cancel it with a public reason), published at once under the default stages, with the person
    as its author (`created_by`): the author discusses it and earns the author's points at the award.

    At most IDEAS_PER_DAY in any 24 hours per person, counted in the database with the person's row locked, so
    concurrent posts cannot slip past the limit."""
    if not actor.email_verified:
        raise NotVerified(detail=_("Verify your e-mail address to post an idea."))
    if not description.strip():
        raise InvalidInput(detail=_("Describe the need or the idea."))
    User.objects.select_for_update().filter(pk=actor.pk).first()
    now = engine.database_now()
    recent = Call.objects.filter(kind=CallKind.IDEA, created_by=actor,
                                 created_at__gte=timezone.now() - timedelta(days=1))
    if recent.count() >= IDEAS_PER_DAY:
        raise TooManyIdeas(detail=_("You can post %(count)s ideas a day. Try again tomorrow.") % {
            "count": IDEAS_PER_DAY})
    call = engine.draft_create(
        actor=actor, owner=accounts_services.platform_organisation(), kind=CallKind.IDEA, title=title,
        description=description, attachments=attachments, selection={"method": "owner", "stages": IDEA_STAGES},
        responses_until=now + timedelta(days=IDEA_OPEN_DAYS))
    call = engine.draft_publish(actor=actor, call=call)
    engine._tell(engine._operators(), title=_("A new idea to moderate: “%(title)s”") % {"title": call.title},
                 body=call.description[:300], url=_idea_url(call), key=f"idea-{call.pk}-posted")
    return call


# Idea: supports and stages ---------------------------------------------------------------------------------------


def _progress(call: Call, *, lock: bool = False) -> IdeaProgress:
    """The idea's progress row, created on first use with the first stage's deadline counted from publication."""
    progress = (IdeaProgress.objects.select_for_update() if lock else IdeaProgress.objects).filter(call=call).first()
    if progress is not None:
        return progress
    if call.published_at is None:  # a draft: its stages' clock starts at publication, so nothing is stored yet
        return IdeaProgress(call=call)
    stages = idea_kind.stages_of(call)
    start = call.published_at
    try:
        with transaction.atomic():
            IdeaProgress.objects.create(call=call, stage_deadline=start + timedelta(days=stages[0]["days"]))
    except IntegrityError:
        pass  # a concurrent first supporter created it
    return (IdeaProgress.objects.select_for_update() if lock else IdeaProgress.objects).get(call=call)


def idea_progress(*, call: Call) -> IdeaProgress:
    if call.kind != CallKind.IDEA:
        raise NotAnIdea()
    return _progress(call)


def _advance(call: Call, progress: IdeaProgress, *, now: Any) -> bool:
    """Move through every stage the supports have reached before its deadline. Returns whether any was reached."""
    stages = idea_kind.stages_of(call)
    moved = False
    while progress.state == IdeaState.GATHERING and progress.supports >= stages[progress.stage]["supports"]:
        progress.stage += 1
        moved = True
        if progress.stage == len(stages):
            progress.state, progress.stage_deadline = IdeaState.REACHED, None
        else:
            progress.stage_deadline = now + timedelta(days=stages[progress.stage]["days"])
        _event(call, "idea.stage_reached", actor=None, stage=progress.stage,
               supports=stages[progress.stage - 1]["supports"])
    return moved


def idea_expire(*, call: Call) -> bool:
    """End an idea whose next stage's deadline passed without the supports: the call is unsuccessful. Returns whether
    it ended now. Safe to call at any time (the database's clock decides); cheap (no lock) when nothing is due."""
    progress = _progress(call)
    if (progress.state != IdeaState.GATHERING or progress.stage_deadline is None
            or engine.database_now() < progress.stage_deadline):
        return False
    return _idea_expire(call)


@transaction.atomic
def _idea_expire(call: Call) -> bool:
    call = Call.objects.select_for_update().get(pk=call.pk)
    progress = _progress(call, lock=True)
    now = engine.database_now()
    if (progress.state != IdeaState.GATHERING or progress.stage_deadline is None or now < progress.stage_deadline
            or call.state not in {CallState.OPEN, CallState.CLOSED, CallState.EVALUATED}):
        return False
    stages = idea_kind.stages_of(call)
    progress.state = IdeaState.EXPIRED
    progress.save(update_fields=["state", "updated_at"])
    call.fail()
    call.end_reason = _("The idea had %(supports)s supports when %(needed)s were needed by %(deadline)s.") % {
        "supports": progress.supports, "needed": stages[progress.stage]["supports"],
        "deadline": progress.stage_deadline.strftime("%Y-%m-%d %H:%M UTC")}
    call.ended_at = timezone.now()
    call.save()
    _event(call, "idea.expired", actor=None, stage=progress.stage, supports=progress.supports,
           needed=stages[progress.stage]["supports"])
    if call.created_by is not None:
        notify(person=call.created_by, title=_("Your idea “%(title)s” missed a stage") % {"title": call.title},
               body=call.end_reason, url=_idea_url(call), key=f"idea-{call.pk}-expired")
    return True


def ideas_tick() -> int:
    """Expire every idea past its stage deadline (for the scheduler). Returns how many ended."""
    now = engine.database_now()
    due = IdeaProgress.objects.filter(state=IdeaState.GATHERING, stage_deadline__lte=now,
                                      call__state__in=[CallState.OPEN, CallState.CLOSED, CallState.EVALUATED])
    return sum(1 for call_id in list(due.values_list("call_id", flat=True))
               if idea_expire(call=Call.objects.get(pk=call_id)))


def support_add(*, actor: User, call: Call) -> IdeaProgress:
    """A verified person supports an open idea, once. Reaching a stage before its deadline advances the idea; an
    idea past its deadline ends instead (and the support is refused)."""
    if call.kind != CallKind.IDEA:
        raise NotAnIdea()
    if not actor.email_verified:
        raise NotVerified(detail=_("Verify your e-mail address to support ideas."))
    if idea_expire(call=call):
        raise IdeaClosed(detail=_("The idea missed its stage's deadline and has ended."))
    _progress(call)
    if Call.objects.filter(pk=call.pk).values_list("state", flat=True).first() != CallState.OPEN:
        raise IdeaClosed()
    stages = idea_kind.stages_of(call)
    try:
        with transaction.atomic():
            Support.objects.create(call=call, person=actor)
            # One statement counts the support and reads the result; the counter row stays locked by it until the
            # commit, so concurrent supports are counted one at a time and the lock is held as briefly as possible.
            with connection.cursor() as cursor:
                cursor.execute(f"UPDATE {IdeaProgress._meta.db_table} SET supports = supports + 1 "  # noqa: S608
                               "WHERE call_id = %s RETURNING supports, stage, state", [call.pk])
                supports, stage, state = cursor.fetchone()
            if state == IdeaState.EXPIRED:
                raise IdeaClosed()
            if state == IdeaState.GATHERING and supports >= stages[stage]["supports"]:
                progress = IdeaProgress.objects.get(call=call)
                if _advance(call, progress, now=engine.database_now()):
                    progress.save(update_fields=["stage", "stage_deadline", "state", "updated_at"])
                return progress
    except IntegrityError:
        raise AlreadySupported() from None
    return IdeaProgress(call=call, supports=supports, stage=stage, state=state)


@transaction.atomic
def comment_post(*, actor: User, call: Call, text: str) -> IdeaComment:
    """The idea's discussion: its author (and the owner's managers), its supporters and the makers who proposed."""
    if call.kind != CallKind.IDEA:
        raise NotAnIdea()
    if call.state in {CallState.DRAFT, CallState.CANCELLED}:
        raise WrongCallState(detail=_("The idea is not open for discussion."))
    text = text.strip()
    if not text or len(text) > 5000 or "\x00" in text:
        raise InvalidInput(detail=_("Write a comment of at most 5,000 characters."))
    if not can_discuss(person=actor, call=call):
        raise NotInDiscussion()
    comment = IdeaComment.objects.create(call=call, author=actor, text=text)
    _event(call, "idea.commented", actor=actor, comment=comment.pk)
    if call.created_by is not None and call.created_by_id != actor.pk:
        notify(person=call.created_by, title=_("A comment on “%(title)s”") % {"title": call.title},
               body=text[:300], url=_idea_url(call), key=f"idea-comment-{comment.pk}")
    return comment


def can_discuss(*, person: User | None, call: Call) -> bool:
    if person is None or not person.is_authenticated:
        return False
    return (call.created_by_id == person.pk or engine.can_manage_call(person=person, call=call)
            or Support.objects.filter(call=call, person=person).exists()
            or Response.objects.filter(call=call, respondent=person).exclude(state=ResponseState.WITHDRAWN).exists())


# Idea: contribution points ---------------------------------------------------------------------------------------


def contribution_points_award(*, call: Call, proposal: Response) -> int:
    """At the idea's award: the author, every supporter and the chosen proposer earn the published points (once
    each per role). Returns how many rows were written."""
    points = idea_kind.points_of(call)
    rows: list[ContributionPoint] = []
    if call.created_by_id and points["author"]:
        rows.append(ContributionPoint(call=call, person_id=call.created_by_id, role=ContributionRole.AUTHOR,
                                      points=points["author"]))
    if points["proposer"]:
        rows.append(ContributionPoint(call=call, person_id=proposal.respondent_id, role=ContributionRole.PROPOSER,
                                      points=points["proposer"]))
    if points["supporter"]:
        rows += [ContributionPoint(call=call, person_id=person_id, role=ContributionRole.SUPPORTER,
                                   points=points["supporter"])
                 for person_id in Support.objects.filter(call=call).values_list("person_id", flat=True)]
    created = ContributionPoint.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
    _event(call, "idea.points_awarded", actor=None, co_creators=len({row.person_id for row in rows}),
           points=sum(row.points for row in rows))
    return len(created)


@transaction.atomic
def contribution_points_feed(*, actor: User, rule: SharingRule, set_name: str = "co_creators") -> PartySet:
    """Set a venture rule's @co_creators from the points earned on the venture's ideas: each person's weight is the
    sum of their points (the top MAX_MEMBERS by points; ties, who earned first). Idempotent: it recomputes."""
    ensure_rule_editor(person=actor, venture=rule.venture)
    totals = (ContributionPoint.objects.filter(call__owner=rule.venture_id).values("person_id")
              .annotate(total=Sum("points")).order_by("-total", "person_id")[:MAX_MEMBERS])
    people = {person.pk: person for person in User.objects.filter(pk__in=[row["person_id"] for row in totals])}
    members = [MemberSpec(person=people[row["person_id"]], weight=int(row["total"])) for row in totals]
    return party_set_update(actor=actor, rule=rule, name=set_name, members=members)


# Challenge: the reward -------------------------------------------------------------------------------------------


def challenge_reward_pay(*, call: Call, response: Response, actor: User | None) -> uuid.UUID:
    """Pay the published reward: the owner's venture_operating → the solver's co_creator_earnings (the responding
    organisation's, else the person's). One transfer whose id derives from the call, so a retry pays once."""
    reward = challenge_kind.reward_of(call)
    source = account_open(organisation=call.owner, purpose=AccountPurpose.VENTURE_OPERATING, currency=reward.currency)
    if response.organisation_id:
        payee = account_open(organisation=response.organisation, purpose=AccountPurpose.CO_CREATOR_EARNINGS,
                             currency=reward.currency)
    else:
        payee = account_open(person=response.respondent, purpose=AccountPurpose.CO_CREATOR_EARNINGS,
                             currency=reward.currency)
    transfer_id = challenge_kind.reward_transfer_id(call)
    venture = call.owner if call.owner.kind == OrganisationKind.VENTURE else None
    transfers_create(transfers=[TransferSpec(
        id=transfer_id, debit_account=source, credit_account=payee, amount=reward.minor, code=TransferCode.REWARD,
        venture=venture, reference=f"call:{call.pk}", metadata={"call": call.pk, "response": response.pk},
    )], actor=actor)
    _event(call, "challenge.reward_paid", actor=actor, transfer=str(transfer_id), amount=reward.minor,
           currency=reward.currency)
    return transfer_id


# Sourcing: supplier ratings --------------------------------------------------------------------------------------


@transaction.atomic
def supplier_rate(*, actor: User, call: Call, stars: int, comment: str = "") -> SupplierRating:
    """The owner of an awarded sourcing call rates its supplier once (1–5); ratings feed later calls' formula."""
    engine.ensure_can_manage_call(person=actor, call=call)
    if call.kind != CallKind.SOURCING or call.state not in {CallState.AWARDED, CallState.CONTRACTED}:
        raise WrongCallState(detail=_("A supplier is rated after its sourcing call is awarded."))
    if not isinstance(stars, int) or isinstance(stars, bool) or not 1 <= stars <= 5:
        raise InvalidInput(detail=_("Rate with one to five stars."))
    assert call.winner is not None
    supplier = call.winner.organisation
    if supplier is None:
        raise WrongCallState()
    if SupplierRating.objects.filter(call=call, supplier=supplier).exists():
        raise AlreadyRated()
    rating = SupplierRating.objects.create(call=call, supplier=supplier, rated_by=actor, stars=stars,
                                           comment=comment.strip()[:2000])
    _event(call, "supplier.rated", actor=actor, supplier=supplier.name, stars=stars)
    return rating


# Funding: tranches -----------------------------------------------------------------------------------------------


def tranches_plan(*, call: Call, response: Response) -> list[Tranche]:
    """At the award: the committed amount split by the milestones' shares, without losing a unit."""
    milestones = funding_kind.milestones_of(call)
    committed = Money(int(response.content["amount"]), response.content["currency"])
    parts = committed.allocate([int(m["share_bp"]) for m in milestones])
    tranches = Tranche.objects.bulk_create([
        Tranche(call=call, response=response, number=number, milestone=milestone["title"], amount=part.minor,
                currency=part.currency)
        for number, (milestone, part) in enumerate(zip(milestones, parts, strict=True), start=1)
    ])
    _event(call, "funding.tranches_planned", actor=None, tranches=[
        {"number": t.number, "milestone": t.milestone, "amount": t.amount, "currency": t.currency} for t in tranches])
    return tranches


def _tranche(tranche: Tranche) -> Tranche:
    return Tranche.objects.select_for_update(of=("self",)).select_related("call", "call__owner", "response",
                                                              "response__organisation").get(pk=tranche.pk)


@transaction.atomic
def tranche_report(*, actor: User, tranche: Tranche, evidence: str) -> Tranche:
    """The venture reports a milestone met, with evidence; the investor is asked to release the tranche."""
    tranche = _tranche(tranche)
    if not engine.can_manage_call(person=actor, call=tranche.call):
        raise NotCallOwner()
    if tranche.state != TrancheState.PLANNED:
        raise WrongTrancheState(detail=_("Only a planned tranche's milestone is reported."))
    evidence = evidence.strip()
    if not evidence or len(evidence) > 10_000:
        raise InvalidInput(detail=_("Describe the evidence that the milestone is met."))
    tranche.state, tranche.evidence, tranche.reported_at = TrancheState.REPORTED, evidence, timezone.now()
    tranche.save()
    _event(tranche.call, "funding.milestone_reported", actor=actor, tranche=tranche.number,
           milestone=tranche.milestone)
    investor = tranche.response.organisation
    for person in User.objects.filter(memberships__organisation=investor, is_active=True).distinct():
        notify(person=person, title=_("Milestone “%(milestone)s” of “%(title)s” is reported met") % {
            "milestone": tranche.milestone, "title": tranche.call.title}, body=evidence[:300],
            url=reverse("calls:tranches", args=[tranche.call_id]), key=f"tranche-{tranche.pk}-reported")
    return tranche


@transaction.atomic
def tranche_release(*, actor: User, tranche: Tranche) -> Tranche:
    """The investor confirms the milestone and releases its tranche: a ledger transfer (code funding) from the
    investor's clearing account to the venture's venture_operating account. Tranches are released in order."""
    tranche = _tranche(tranche)
    investor = tranche.response.organisation
    if investor is None or not accounts_selectors.can_manage(person=actor, organisation=investor):
        raise NotAllowedHere(detail=_("Only the investor's owners and administrators release its tranches."))
    if tranche.call.state not in {CallState.AWARDED, CallState.CONTRACTED}:
        raise WrongCallState(detail=_("Tranches are released after the award."))
    if tranche.state != TrancheState.REPORTED:
        raise WrongTrancheState(detail=_("A tranche is released once its milestone is reported met."))
    if Tranche.objects.filter(call=tranche.call, number__lt=tranche.number).exclude(
            state=TrancheState.RELEASED).exists():
        raise WrongTrancheState(detail=_("Release the earlier tranches first."))
    source = account_open(organisation=investor, purpose=AccountPurpose.CLEARING, currency=tranche.currency)
    target = account_open(organisation=tranche.call.owner, purpose=AccountPurpose.VENTURE_OPERATING,
                          currency=tranche.currency)
    transfer_id = uuid.uuid5(TRANCHE_NAMESPACE, f"call:{tranche.call_id}:tranche:{tranche.number}")
    transfers_create(transfers=[TransferSpec(
        id=transfer_id, debit_account=source, credit_account=target, amount=tranche.amount, code=TransferCode.FUNDING,
        venture=tranche.call.owner if tranche.call.owner.kind == OrganisationKind.VENTURE else None,
        reference=f"call:{tranche.call_id}:tranche:{tranche.number}",
        metadata={"call": tranche.call_id, "tranche": tranche.number},
    )], actor=actor)
    tranche.state, tranche.released_at, tranche.released_by = TrancheState.RELEASED, timezone.now(), actor
    tranche.transfer_id = transfer_id
    tranche.save()
    _event(tranche.call, "funding.tranche_released", actor=actor, tranche=tranche.number, amount=tranche.amount,
           currency=tranche.currency, transfer=str(transfer_id))
    for person in engine._managers(tranche.call.owner):
        notify(person=person, title=_("Tranche %(number)s of “%(title)s” is released") % {
            "number": tranche.number, "title": tranche.call.title}, url=reverse("calls:tranches",
                                                                                args=[tranche.call_id]),
            key=f"tranche-{tranche.pk}-released")
    return tranche
