"""Rules are published with the call (rules_hash), frozen from the first response; an amendment bumps the terms,
invalidates every response and asks each respondent to confirm again."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

import hashlib
import json
from datetime import timedelta
from typing import Any

import pytest

from makercloud.calls.errors import DeadlinePassed, InvalidTimeline, NotCallOwner, WrongResponseState
from makercloud.calls.models import Call, CallState, Response, ResponseState
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import Clock, clock, engine_only, publish, venture  # noqa: F401
from makercloud.core.models import Event
from makercloud.notifications.models import Notification

pytestmark = pytest.mark.usefixtures("engine_only")


def _recompute(rules: dict[str, Any]) -> str:
    text = json.dumps(rules, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_the_rules_hash_is_published_and_anyone_can_recompute_it(clock: Clock, maker: Any, venture: Any,
                                                                 client: Any) -> None:
    call = publish(actor=maker, owner=venture, selection={"method": "owner", "criteria": ["fit", "cost"]},
                   eligibility={"verified": True})
    body = client.get(f"/api/v1/calls/{call.pk}").json()
    assert body["rules_hash"] == call.rules_hash and len(call.rules_hash) == 64
    assert _recompute(body["rules"]) == body["rules_hash"]
    published = Event.objects.get(subject_type="call", subject_id=str(call.pk), kind="call.published")
    assert published.public and published.data["rules_hash"] == call.rules_hash


def test_publishing_needs_a_future_deadline(clock: Clock, maker: Any, venture: Any) -> None:
    draft = services.call_create(actor=maker, owner=venture, kind="idea", title="Quieter fans",
                                 responses_until=clock.now - timedelta(minutes=1))
    with pytest.raises(InvalidTimeline):
        services.call_publish(actor=maker, call=draft)
    assert Call.objects.get(pk=draft.pk).state == CallState.DRAFT


def test_the_first_response_freezes_the_rules_and_an_amendment_asks_everyone_to_confirm_again(
        clock: Clock, maker: Any, venture: Any, make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=48)
    assert call.frozen_at is None
    ann, ben = make_person(name="Ann"), make_person(name="Ben")
    first = services.response_submit(actor=ann, call=call, content={"proposal": "A"})
    clock.advance(hours=1)
    second = services.response_submit(actor=ben, call=call, content={"proposal": "B"})
    call.refresh_from_db()
    frozen_at, old_hash = call.frozen_at, call.rules_hash
    assert frozen_at is not None and first.terms_version == second.terms_version == 1

    # A change of wording is no amendment.
    services.call_update(actor=maker, call=call, description="Now with a drawing.")
    assert Response.objects.get(pk=first.pk).state == ResponseState.SUBMITTED

    # A change of the terms is.
    services.call_update(actor=maker, call=call, selection={"method": "owner", "criteria": ["cost"]})
    call.refresh_from_db()
    assert call.terms_version == 2 and call.rules_hash != old_hash and call.frozen_at == frozen_at
    assert set(Response.objects.filter(call=call).values_list("state", flat=True)) == {ResponseState.INVALIDATED}
    for person in (ann, ben):
        assert Notification.objects.filter(person=person, title__contains="confirm your response again").exists()
    amended = Event.objects.get(subject_type="call", subject_id=str(call.pk), kind="call.amended")
    assert amended.public and amended.data["terms_version"] == 2 and amended.data["responses_to_confirm"] == 2

    services.response_confirm(actor=ann, response=first)
    first.refresh_from_db()
    assert first.state == ResponseState.CONFIRMED and first.terms_version == 2
    with pytest.raises(WrongResponseState):
        services.response_confirm(actor=ann, response=first)

    # At the deadline only the confirmed response is evaluated; Ben's, never confirmed, is not.
    clock.advance(hours=48)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state == CallState.EVALUATED
    assert [r.pk for r in services.valid_responses(call)] == [first.pk]
    assert Response.objects.get(pk=second.pk).rank is None


def test_the_terms_cannot_change_after_the_deadline_nor_by_others(clock: Clock, maker: Any, venture: Any,
                                                                  make_person: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=2)
    with pytest.raises(NotCallOwner):
        services.call_update(actor=make_person(), call=call, selection={"method": "owner"})
    clock.advance(hours=2)
    with pytest.raises(DeadlinePassed):
        services.call_update(actor=maker, call=call, responses_until=clock.now + timedelta(days=7))
    call.refresh_from_db()
    assert call.terms_version == 1


def test_an_amendment_cannot_move_the_deadline_into_the_past(clock: Clock, maker: Any, venture: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=5)
    with pytest.raises(InvalidTimeline):
        services.call_update(actor=maker, call=call, responses_until=clock.now - timedelta(seconds=1),
                             questions_until=clock.now - timedelta(hours=1))
    assert Call.objects.get(pk=call.pk).responses_until == call.responses_until


def test_questions_and_answers_are_public_while_the_call_is_open(clock: Clock, maker: Any, venture: Any,
                                                                 make_person: Any, client: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=10)  # questions until 5 h from now
    asker = make_person(name="Curious Cat")
    question = services.question_ask(actor=asker, call=call, text="Which voltage?")
    services.question_answer(actor=maker, question=question, text="220 V.")
    body = client.get(f"/api/v1/calls/{call.pk}/questions").json()
    assert body[0]["text"] == "Which voltage?" and body[0]["answer"]["text"] == "220 V."
    assert body[0]["asker_name"] == "Curious Cat"
    assert Notification.objects.filter(person=asker, title__contains="is answered").exists()
    clock.advance(hours=5)
    with pytest.raises(DeadlinePassed):
        services.question_ask(actor=asker, call=call, text="Too late?")
