"""The engine's pages for every role: browse, post and publish, respond and confirm, Q&A, complaints and the
operators' queues — readable messages for refusals, never a 500."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest

from makercloud.calls.models import Call, CallState, Complaint, Response, ResponseState, SupplierQualification
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import (  # noqa: F401
    Clock,
    clock,
    engine_only,
    make_supplier,
    publish,
    venture,
)

pytestmark = pytest.mark.usefixtures("engine_only")


def test_a_venture_posts_and_publishes_a_call_on_the_pages(clock: Clock, maker: Any, venture: Any,
                                                           client_for: Any, client: Any) -> None:
    browser = client_for(maker)
    form = browser.get("/calls/new")
    assert form.status_code == 200 and "Cool Air Studio" in form.content.decode()
    posted = browser.post("/calls/new", {
        "owner": venture.pk, "kind": "idea", "title": "A fan for the night", "description": "Quiet.",
        "attachments": "[]", "responses_until": "2026-03-20T12:00", "questions_until": "2026-03-10T12:00",
        "standstill_days": 3, "eligibility": "{}", "response_form": '{"fields": ["sketch"]}',
        "selection": '{"method": "owner"}'})
    call = Call.objects.get(title="A fan for the night")
    assert posted.status_code == 302 and posted["Location"] == f"/calls/{call.pk}/"
    assert client.get(f"/calls/{call.pk}/").status_code == 404  # a draft is its owner's
    browser.post(f"/calls/{call.pk}/publish")
    call.refresh_from_db()
    assert call.state == CallState.OPEN and call.response_form == {"fields": ["sketch"]}
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert call.rules_hash in page and "call.published" in page
    assert "A fan for the night" in client.get("/calls/?kind=idea").content.decode()


def test_bad_json_on_the_form_is_a_readable_error(clock: Clock, maker: Any, venture: Any, client_for: Any) -> None:
    response = client_for(maker).post("/calls/new", {
        "owner": venture.pk, "kind": "idea", "title": "Broken", "standstill_days": 3, "selection": "{oops"})
    assert response.status_code == 400 and "This is not valid JSON" in response.content.decode()


def test_a_respondent_responds_confirms_after_an_amendment_and_asks(clock: Clock, maker: Any, venture: Any,
                                                                     make_person: Any, client_for: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="challenge", hours=48)
    solver = make_person(name="Sally Solver")
    browser = client_for(solver)
    done = browser.post(f"/calls/{call.pk}/respond", {"content": '{"design": "baffles"}'}, follow=True)
    response = Response.objects.get(call=call, respondent=solver)
    assert response.receipt in done.content.decode()
    services.call_update(actor=maker, call=call, selection={"method": "owner", "criteria": ["noise"]})
    page = browser.get(f"/calls/{call.pk}/").content.decode()
    assert "Confirm under the new terms" in page
    browser.post(f"/responses/{response.pk}/confirm")
    response.refresh_from_db()
    assert response.state == ResponseState.CONFIRMED
    browser.post(f"/calls/{call.pk}/questions", {"text": "May I use felt?"})
    assert "May I use felt?" in client_for(maker).get(f"/calls/{call.pk}/").content.decode()
    assert "Sally Solver" not in client_for(make_person()).get("/calls/mine").content.decode()
    assert call.title in browser.get("/calls/mine").content.decode()


def test_refusals_on_pages_are_messages_not_errors(clock: Clock, maker: Any, venture: Any, make_person: Any,
                                                   client_for: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1)
    stranger = client_for(make_person())
    assert stranger.post(f"/calls/{call.pk}/cancel", {"reason": "mine"}).status_code == 403
    assert stranger.post(f"/calls/{call.pk}/explode").status_code == 404
    clock.advance(hours=1)
    late = stranger.post(f"/calls/{call.pk}/respond", {"content": "{}"})
    assert late.status_code == 400 and "The deadline for responses has passed." in late.content.decode()
    no_reason = client_for(maker).post(f"/calls/{call.pk}/cancel", {"reason": ""}, follow=True)
    assert "Say why the call is cancelled." in no_reason.content.decode()
    assert Call.objects.get(pk=call.pk).state == CallState.OPEN


def test_complaints_and_the_operators_queues(clock: Clock, maker: Any, venture: Any, make_supplier: Any,
                                             operator: Any, client_for: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=1)
    (ann, ann_co), (bob, bob_co) = make_supplier("Ann Parts"), make_supplier("Bob Parts")
    services.response_submit(actor=ann, call=call, content={"price": 1}, organisation=ann_co)
    services.response_submit(actor=bob, call=call, content={"price": 2}, organisation=bob_co)
    clock.advance(hours=1)
    services.calls_tick()
    bob_browser = client_for(bob)
    assert "File a complaint" in bob_browser.get(f"/calls/{call.pk}/").content.decode()
    bob_browser.post(f"/calls/{call.pk}/complaints", {"reasons": "Ann's price is below cost.", "evidence": "[]"})
    complaint = Complaint.objects.get(call=call)
    ops = client_for(operator)
    assert "Ann&#x27;s price is below cost." in ops.get("/operations/complaints").content.decode()
    assert bob_browser.get("/operations/complaints").status_code == 403
    ops.post(f"/operations/complaints/{complaint.pk}/decision",
             {"upheld": "0", "remedy": "none", "reasons": "Below-cost bids are allowed."})
    complaint.refresh_from_db()
    assert complaint.state == "dismissed"
    assert "Below-cost bids are allowed." in client_for(ann).get(f"/calls/{call.pk}/complaints").content.decode()

    supplier = client_for(ann)
    supplier.post("/qualifications/", {"organisation": ann_co.pk, "category": "motors",
                                       "documents": '[{"name": "ISO", "url": "https://e.com/iso"}]'})
    qualification = SupplierQualification.objects.get(organisation=ann_co)
    assert "Ann Parts" in ops.get("/operations/qualifications").content.decode()
    ops.post(f"/operations/qualifications/{qualification.pk}/decision",
             {"qualified": "1", "reasons": "Audited.", "valid_until": ""})
    qualification.refresh_from_db()
    assert qualification.state == "qualified"
    assert "Audited." in supplier.get("/qualifications/").content.decode()


def test_every_state_renders_for_every_role(clock: Clock, maker: Any, venture: Any, make_person: Any,
                                           operator: Any, client_for: Any, client: Any) -> None:
    solver = make_person(name="Sam Solver")
    calls: dict[str, Call] = {}
    calls["draft"] = services.call_create(actor=maker, owner=venture, kind="role", title="Draft role",
                                          responses_until=clock.now + timedelta(days=1))
    calls["cancelled"] = publish(actor=maker, owner=venture, title="Cancelled idea", kind="idea")
    services.call_cancel(actor=maker, call=calls["cancelled"], reason="Merged with another call.")
    calls["unsuccessful"] = publish(actor=maker, owner=venture, title="Nobody came", hours=1)
    for name in ("open", "evaluated", "standstill", "awarded"):
        calls[name] = publish(actor=maker, owner=venture, title=f"Call {name}", hours=1)
        services.response_submit(actor=solver, call=calls[name], content={"plan": name})
    calls["open"] = publish(actor=maker, owner=venture, title="Still open", hours=100)
    services.response_submit(actor=solver, call=calls["open"], content={"plan": "later"})
    clock.advance(hours=1)
    services.calls_tick()
    for name in ("standstill", "awarded"):
        first = Response.objects.get(call=calls[name])
        services.call_select(actor=maker, call=calls[name], response=first, reason="The only plan.")
    clock.advance(days=6)
    services.call_award(call=calls["awarded"])
    expected = {"draft": "draft", "cancelled": "cancelled", "unsuccessful": "unsuccessful", "open": "open",
                "evaluated": "evaluated", "standstill": "standstill"}
    for name, call in calls.items():
        call.refresh_from_db()
        assert call.state == expected.get(name, call.state)
    assert calls["awarded"].state in {CallState.AWARDED, CallState.CONTRACTED}
    browsers = {"owner": client_for(maker), "operator": client_for(operator), "solver": client_for(solver),
                "anonymous": client}
    for role, browser in browsers.items():
        assert browser.get("/calls/").status_code == 200
        for name, call in calls.items():
            page = browser.get(f"/calls/{call.pk}/")
            hidden = name == "draft" and role in {"solver", "anonymous"}
            assert page.status_code == (404 if hidden else 200), (role, name)
            if not hidden:
                assert browser.get(f"/calls/{call.pk}/complaints").status_code == 200
    owner_page = browsers["owner"].get(f"/calls/{calls['evaluated'].pk}/").content.decode()
    assert "Select this response" in owner_page and "Sam Solver" in owner_page
    assert "Merged with another call." in client.get(f"/calls/{calls['cancelled'].pk}/").content.decode()
    for path in ("/calls/mine", "/qualifications/"):
        assert browsers["solver"].get(path).status_code == 200
    for path in ("/operations/complaints", "/operations/qualifications"):
        assert browsers["operator"].get(path).status_code == 200
        assert browsers["solver"].get(path).status_code == 403


def test_the_pages_speak_chinese(clock: Clock, maker: Any, venture: Any) -> None:
    from django.test import Client

    call = publish(actor=maker, owner=venture, kind="sourcing", hours=5)
    chinese = Client(headers={"Accept-Language": "zh-hans"})
    listing = chinese.get("/calls/").content.decode()
    assert "开放需求" in listing and "模块招标" in listing
    page = chinese.get(f"/calls/{call.pk}/").content.decode()
    assert "截止前密封" in page and "公开时间线" in page


@pytest.mark.parametrize("posted", ["abc", "", "0", "-1", "1.5", "99999999999999999999999"])
def test_selecting_with_a_response_that_is_not_one_says_so(clock: Clock, maker: Any, venture: Any, make_person: Any,
                                                           client_for: Any, posted: str) -> None:
    call = publish(actor=maker, owner=venture, hours=1)
    services.response_submit(actor=make_person(), call=call, content={"plan": "a"})
    clock.advance(hours=1)
    services.calls_tick()
    browser = client_for(maker)
    answer = browser.post(f"/calls/{call.pk}/select", {"response": posted, "reason": "Best."}, follow=True)
    assert answer.status_code == 200 and "Choose one of the responses." in answer.content.decode()
    call.refresh_from_db()
    assert call.state == CallState.EVALUATED
