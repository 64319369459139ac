"""A sealed call before its deadline: nobody — the owner and operators included — learns any response's content, or
even whether there is one, through the API, the pages, the admin, the event log or the notifications."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

import json
from typing import Any

import pytest

from makercloud.calls.models import Response
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import (  # noqa: F401
    Clock,
    clock,
    engine_only,
    make_supplier,
    publish,
    venture,
)
from makercloud.core.models import Event
from makercloud.notifications.models import Notification

pytestmark = pytest.mark.usefixtures("engine_only")
SECRET = "SECRET-PRICE-4711"


@pytest.fixture
def sealed(clock: Clock, maker: Any, venture: Any, make_supplier: Any) -> dict[str, Any]:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, title="Brushless motors")
    empty = publish(actor=maker, owner=venture, kind="sourcing", hours=24, title="Brushless motors")
    bidder, company = make_supplier("Secret Motors")
    notes_before = Notification.objects.count()
    response = services.response_submit(actor=bidder, call=call, content={"price": SECRET}, organisation=company)
    return {"call": call, "empty": empty, "bidder": bidder, "response": response, "notes_before": notes_before}


def test_the_stored_row_keeps_the_content_only_sealed(sealed: dict[str, Any]) -> None:
    response = Response.objects.get(pk=sealed["response"].pk)
    assert response.content == {} and response.sealed_content and len(response.receipt) == 64


def _views_of(client: Any, call: Any) -> list[str]:
    return [
        client.get(f"/api/v1/calls/{call.pk}").content.decode(),
        client.get("/api/v1/calls?state=open").content.decode(),
        client.get(f"/api/v1/calls/{call.pk}/responses").content.decode(),
        client.get(f"/api/v1/calls/{call.pk}/ranking").content.decode(),
        client.get(f"/api/v1/calls/{call.pk}/timeline").content.decode(),
        client.get(f"/calls/{call.pk}/").content.decode(),
    ]


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in {"id", "next_cursor"}}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


@pytest.mark.parametrize("who", ["owner", "operator", "stranger", "anonymous"])
def test_no_read_path_tells_a_call_with_a_bid_from_one_without(sealed: dict[str, Any], who: str, maker: Any,
                                                               operator: Any, make_person: Any, client: Any,
                                                               client_for: Any) -> None:
    person = {"owner": maker, "operator": operator, "stranger": make_person(), "anonymous": None}[who]
    browser = client_for(person) if person else client
    with_bid, without = _views_of(browser, sealed["call"]), _views_of(browser, sealed["empty"])
    for text in with_bid:
        assert SECRET not in text and "Secret Motors" not in text
    api_call = browser.get(f"/api/v1/calls/{sealed['call'].pk}").json()
    assert api_call["response_count"] is None and api_call["frozen_at"] is None
    responses = browser.get(f"/api/v1/calls/{sealed['call'].pk}/responses")
    if person is None:
        assert responses.status_code == 403 and responses["Content-Type"] == "application/problem+json"
    else:
        assert responses.json()["items"] == []
    # The API's documents of a call with a bid and of one without differ only in ids.
    for index in (0, 2, 3, 4):
        if person is None and index == 2:
            continue
        assert _without_ids(json.loads(with_bid[index])) == _without_ids(json.loads(without[index]))
    assert "sealed until the deadline" in with_bid[5]


def test_the_event_log_and_notifications_hold_nothing_about_the_bid(sealed: dict[str, Any]) -> None:
    kinds = set(Event.objects.filter(subject_type="call", subject_id=str(sealed["call"].pk)).values_list(
        "kind", flat=True))
    assert kinds == {"call.created", "call.published"}
    assert not Event.objects.filter(subject_type="response").exists()
    assert Notification.objects.count() == sealed["notes_before"]


def test_the_admin_shows_no_response_of_a_sealed_call_before_it_closes(sealed: dict[str, Any], operator: Any,
                                                                       client_for: Any, clock: Clock) -> None:
    admin = client_for(operator)
    listing = admin.get("/admin/calls/response/").content.decode()
    assert "Secret Motors" not in listing and "0 responses" in listing
    assert admin.get(f"/admin/calls/response/{sealed['response'].pk}/change/").status_code in {302, 404}
    call_page = admin.get(f"/admin/calls/call/{sealed['call'].pk}/change/").content.decode()
    assert "frozen" not in call_page.lower()
    clock.advance(hours=24)
    services.calls_tick()
    assert "Secret Motors" in admin.get("/admin/calls/response/").content.decode()


def test_the_bidder_sees_their_own_receipt_and_after_the_deadline_everything_opens(
        sealed: dict[str, Any], client_for: Any, maker: Any, clock: Clock) -> None:
    bidder = client_for(sealed["bidder"])
    own = bidder.get(f"/api/v1/calls/{sealed['call'].pk}/responses").json()["items"]
    assert [r["receipt"] for r in own] == [sealed["response"].receipt] and own[0]["content"] is None
    clock.advance(hours=24)
    services.calls_tick()
    owner = client_for(maker)
    opened = owner.get(f"/api/v1/calls/{sealed['call'].pk}/responses").json()["items"]
    assert opened[0]["content"] == {"price": SECRET} and opened[0]["receipt"] == ""
    assert owner.get(f"/api/v1/calls/{sealed['call'].pk}").json()["response_count"] == 1
    closed = Event.objects.get(subject_type="call", subject_id=str(sealed["call"].pk), kind="call.closed")
    assert closed.public and closed.data["responses"] == 1


def test_an_amendment_or_reminder_of_a_sealed_call_reaches_every_qualified_supplier_alike(
        clock: Clock, maker: Any, venture: Any, make_supplier: Any, operator: Any) -> None:
    suppliers = [make_supplier(name) for name in ("Bidding Motors", "Quiet Motors")]
    for person, company in suppliers:
        qualification = services.qualification_apply(actor=person, organisation=company, category="motors",
                                                      documents=[{"name": "ISO", "url": "https://e.com/iso"}])
        services.qualification_decide(actor=operator, qualification=qualification, qualified=True, reasons="ok")
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=48, eligibility={"category": "motors"})
    (bidder, bidder_co), (idle, _idle_co) = suppliers
    services.response_submit(actor=bidder, call=call, content={"price": 3}, organisation=bidder_co)
    services.call_update(actor=maker, call=call, eligibility={"category": "motors", "note": "IP54 now"})
    clock.advance(hours=30)
    services.calls_tick()

    def told(person: Any) -> list[str]:
        return sorted(n.title for n in Notification.objects.filter(person=person, url__contains=f"/{call.pk}/"))

    assert told(bidder) == told(idle) and len(told(idle)) == 2  # the amendment and the reminder, to both alike
