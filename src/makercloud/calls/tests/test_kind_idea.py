"""idea: verified people support an idea once each, through staged thresholds with deadlines; makers propose; the
author and supporters discuss; the owner picks with a reason; co-creators earn points the venture's rule uses."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from makercloud.calls import jobs
from makercloud.calls.kinds.errors import AlreadySupported, IdeaClosed, InvalidKindRules, NotInDiscussion, NotVerified
from makercloud.calls.models import CallState, ContributionPoint, IdeaState, Support
from makercloud.calls.services import engine as services
from makercloud.calls.services import kinds as kind_services
from makercloud.calls.tests.engine_fixtures import Clock, clock, publish, venture  # noqa: F401
from makercloud.ledger.models import PartyMember
from makercloud.ledger.services import rules as rule_services

STAGES = [{"supports": 2, "days": 10}, {"supports": 3, "days": 30}]


def verified(make_person: Any, **kwargs: Any) -> Any:
    person = make_person(**kwargs)
    person.email_verified_at = timezone.now()
    person.save(update_fields=["email_verified_at"])
    return person


@pytest.fixture
def idea(clock: Clock, maker: Any, venture: Any) -> Any:
    return publish(actor=maker, owner=venture, kind="idea", hours=24 * 40, title="A quiet fan for bedrooms",
                   selection={"method": "owner", "stages": STAGES})


def test_the_default_stages_are_lego_ideas_and_bad_stages_are_refused(clock: Clock, maker: Any,
                                                                      venture: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="idea", hours=48)
    assert [s["supports"] for s in call.selection["stages"]] == [100, 1_000, 5_000, 10_000]
    assert call.selection["stages"][0]["days"] == 60 and call.rules()["selection"] == call.selection
    with pytest.raises(InvalidKindRules):
        publish(actor=maker, owner=venture, kind="idea", selection={"stages": [{"supports": 10, "days": 5},
                                                                               {"supports": 10, "days": 5}]})


def test_one_support_each_verified_only_and_the_constraint_holds(idea: Any, make_person: Any, client_for: Any,
                                                                 bearer_for: Any, client: Any) -> None:
    with pytest.raises(NotVerified):
        kind_services.support_add(actor=make_person(), call=idea)
    fan = verified(make_person)
    assert kind_services.support_add(actor=fan, call=idea).supports == 1
    with pytest.raises(AlreadySupported):
        kind_services.support_add(actor=fan, call=idea)
    again = client.post(f"/api/v1/calls/{idea.pk}/supports", headers=bearer_for(fan, ["calls:write"]))
    assert again.status_code == 409 and again.json()["type"].endswith("already-supported")
    with pytest.raises(IntegrityError), transaction.atomic():
        Support.objects.create(call=idea, person=fan)  # the database itself refuses a second support
    progress = client.get(f"/api/v1/calls/{idea.pk}/idea").json()
    assert progress["supports"] == 1 and Support.objects.filter(call=idea).count() == 1
    page = client_for(fan).get(f"/calls/{idea.pk}/idea/").content.decode()
    assert "You support this idea" in page


def test_reaching_a_stage_in_time_advances_missing_one_ends_the_idea(idea: Any, clock: Clock,
                                                                     make_person: Any) -> None:
    first, second, third = (verified(make_person) for _ in range(3))
    kind_services.support_add(actor=first, call=idea)
    clock.advance(days=9)
    progress = kind_services.support_add(actor=second, call=idea)
    assert progress.stage == 1 and progress.stage_deadline == clock.now + timedelta(days=30)
    clock.advance(days=30)
    with pytest.raises(IdeaClosed):
        kind_services.support_add(actor=third, call=idea)
    idea.refresh_from_db()
    assert idea.state == CallState.UNSUCCESSFUL and "2 supports when 3 were needed" in idea.end_reason
    assert Support.objects.filter(call=idea).count() == 2


def test_the_scheduler_ends_an_idea_that_missed_its_first_stage(idea: Any, clock: Clock, make_person: Any) -> None:
    kind_services.support_add(actor=verified(make_person), call=idea)
    clock.advance(days=10, seconds=-1)
    assert kind_services.ideas_tick() == 0
    clock.advance(seconds=1)
    assert jobs.calls_tick.call_local()["ideas_ended"] == 1  # the scheduler's own tick ends it
    idea.refresh_from_db()
    assert idea.state == CallState.UNSUCCESSFUL


def test_reaching_every_stage_and_a_pick_earns_co_creators_points_fed_to_the_rule(
        idea: Any, clock: Clock, maker: Any, venture: Any, make_person: Any) -> None:
    fans = [verified(make_person) for _ in range(3)]
    for fan in fans:
        progress = kind_services.support_add(actor=fan, call=idea)
    assert progress.stage == 2 and progress.state == IdeaState.REACHED and progress.stage_deadline is None
    designer = verified(make_person, name="Dana Designer")
    proposal = services.response_submit(actor=designer, call=idea, content={
        "title": "Magnetic-levitation fan", "summary": "No bearings, no hum.", "links": ["https://example.com/d"]})
    services.response_submit(actor=verified(make_person), call=idea, content={"title": "Bladeless", "summary": "."})
    with pytest.raises(NotInDiscussion):
        kind_services.comment_post(actor=make_person(), call=idea, text="Drive-by")
    kind_services.comment_post(actor=fans[0], call=idea, text="Please make it white.")
    kind_services.comment_post(actor=maker, call=idea, text="Noted!")
    clock.advance(days=40)
    services.calls_tick()
    idea.refresh_from_db()
    assert idea.state == CallState.EVALUATED  # the owner picks
    services.call_select(actor=maker, call=idea, response=proposal, reason="Quietest by far.")
    clock.advance(days=idea.standstill_days)
    services.calls_tick()
    idea.refresh_from_db()
    assert idea.state in {CallState.AWARDED, CallState.CONTRACTED} and idea.award_reason == "Quietest by far."
    points = {(p.person_id, p.role): p.points for p in ContributionPoint.objects.filter(call=idea)}
    assert points == {(maker.pk, "author"): 100, (designer.pk, "proposer"): 100,
                      **{(fan.pk, "supporter"): 1 for fan in fans}}
    rule = rule_services.rule_create(actor=maker, venture=venture, name="Fan sales", text=(
        "split sale\n  10% to @co_creators by points\n  remaining to @venture\n")).rule
    kind_services.contribution_points_feed(actor=maker, rule=rule)
    kind_services.contribution_points_feed(actor=maker, rule=rule)  # idempotent: recomputed, not added
    members = {m.person_id: m.weight for m in PartyMember.objects.filter(party_set__rule=rule,
                                                                         party_set__name="co_creators")}
    assert members == {maker.pk: 100, designer.pk: 100, **{fan.pk: 1 for fan in fans}}


def test_idea_pages_and_api_for_discussion(idea: Any, make_person: Any, client_for: Any, client: Any,
                                           bearer_for: Any) -> None:
    fan = verified(make_person, name="Fan Fei")
    browser = client_for(fan)
    assert browser.post(f"/calls/{idea.pk}/idea/support").status_code == 302
    assert browser.post(f"/calls/{idea.pk}/idea/comments", {"text": "Love it"}).status_code == 302
    page = client.get(f"/calls/{idea.pk}/idea/").content.decode()
    assert "Love it" in page and "Fan Fei" in page and "1 / 2" in page
    api = client.get(f"/api/v1/calls/{idea.pk}/comments").json()
    assert [c["text"] for c in api["items"]] == ["Love it"]
    stranger = client.post(f"/api/v1/calls/{idea.pk}/comments", data={"text": "hi"}, content_type="application/json",
                           headers=bearer_for(make_person(), ["calls:write"]))
    assert stranger.status_code == 403 and stranger["Content-Type"] == "application/problem+json"
    refused = client_for(make_person()).post(f"/calls/{idea.pk}/idea/support", follow=True).content.decode()
    assert "Verify your e-mail address" in refused


def test_the_operators_admin_lists_supports_and_points_read_only(idea: Any, make_person: Any, operator: Any,
                                                                 client_for: Any) -> None:
    fan = verified(make_person, name="Fan Admin")
    kind_services.support_add(actor=fan, call=idea)
    admin = client_for(operator)
    listing = admin.get("/admin/calls/support/")
    assert listing.status_code == 200 and "Fan Admin" in listing.content.decode()
    assert admin.get("/admin/calls/ideaprogress/").status_code == 200
    assert admin.get("/admin/calls/support/add/").status_code == 403


def test_a_drafts_stage_clock_starts_at_publication(clock: Clock, maker: Any, venture: Any,
                                                    client_for: Any) -> None:
    draft = services.call_create(actor=maker, owner=venture, kind="idea", title="Later",
                                 responses_until=clock.now + timedelta(days=90))
    assert "0 / 100" in client_for(maker).get(f"/calls/{draft.pk}/idea/").content.decode()
    clock.advance(days=20)
    call = services.call_publish(actor=maker, call=draft)
    assert kind_services.idea_progress(call=call).stage_deadline == clock.now + timedelta(days=60)
