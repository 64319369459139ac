"""Sealed sourcing bids (the real sourcing kind): before the deadline nobody — the owner and operators included —
learns a bid's content, or even that there is one, through the API, the pages, the admin, the event log, search,
an export of the database or the logs; the bidder sees only that their own bid is received. At the deadline the bids
open (only then can they be decrypted) and are ranked."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

import io
import json
import logging
from typing import Any

import pytest
from django.core.management import call_command

from makercloud.calls.errors import NotEligible
from makercloud.calls.kinds import registry
from makercloud.calls.kinds.errors import SealedBidUnreadable
from makercloud.calls.kinds.sourcing import open_bytes
from makercloud.calls.models import CallState, Response
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import Clock, clock, make_supplier, publish, venture  # noqa: F401
from makercloud.core.models import Event
from makercloud.notifications.models import Notification

NOTE = "NOTE-XYZZY-4711"
PRICE = 10987
CATEGORY = "brushless-motors"
RULES: dict[str, Any] = {
    "eligibility": {"category": CATEGORY},
    "response_form": {"quantity": 2000, "unit_price_ceiling": {"minor": 12000, "currency": "CNY"},
                      "delivery_by": "2026-06-30"},
    "selection": {"method": "formula", "weights": {"price": 50, "delivery": 20, "quality": 15, "rating": 15},
                  "quality_commitments": {"iso9001": 2, "warranty-24m": 2, "ppm-500": 1}, "unrated": 3},
}


def qualified(make_supplier: Any, operator: Any, name: str) -> tuple[Any, Any]:
    person, company = make_supplier(name)
    application = services.qualification_apply(actor=person, organisation=company, category=CATEGORY,
                                               documents=[{"name": "ISO 9001", "url": "https://example.com/iso"}])
    services.qualification_decide(actor=operator, qualification=application, qualified=True, reasons="Audited.")
    return person, company


@pytest.fixture
def sealed(clock: Clock, maker: Any, venture: Any, make_supplier: Any, operator: Any) -> dict[str, Any]:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=24, title="Brushless motors", **RULES)
    empty = publish(actor=maker, owner=venture, kind="sourcing", hours=24, title="Brushless motors", **RULES)
    bidder, company = qualified(make_supplier, operator, "Secret Motors")
    other, _other_company = qualified(make_supplier, operator, "Other Motors")
    notes_before = Notification.objects.count()
    events_before = Event.objects.count()
    response = services.response_submit(actor=bidder, call=call, organisation=company, content={
        "unit_price": PRICE, "delivery_days": 30, "quality": ["iso9001"], "note": NOTE})
    return {"call": call, "empty": empty, "bidder": bidder, "company": company, "other": other,
            "response": response, "notes_before": notes_before, "events_before": events_before}


def test_only_qualified_suppliers_bid(sealed: dict[str, Any], make_supplier: Any, make_person: Any) -> None:
    person, company = make_supplier("Unqualified Works")
    with pytest.raises(NotEligible, match="not qualified"):
        services.response_submit(actor=person, call=sealed["call"], organisation=company,
                                 content={"unit_price": 9000, "delivery_days": 10})
    with pytest.raises(NotEligible):
        services.response_submit(actor=make_person(), call=sealed["call"], content={"unit_price": 9000,
                                                                                    "delivery_days": 10})


def test_the_stored_bid_is_ciphertext_that_only_the_close_step_opens(sealed: dict[str, Any]) -> None:
    stored = Response.objects.get(pk=sealed["response"].pk)
    blob = bytes(stored.sealed_content)
    assert stored.content == {} and NOTE.encode() not in blob and b"unit_price" not in blob
    assert str(PRICE).encode() not in blob
    with pytest.raises(SealedBidUnreadable):  # the key is the call's: another call's key does not open it
        open_bytes(sealed["empty"].pk, blob)
    with pytest.raises(SealedBidUnreadable):  # and not before the call has closed, even with the right key
        registry["sourcing"].unseal(call=sealed["call"], response=stored)
    tampered = blob[:-1] + bytes([blob[-1] ^ 1])
    with pytest.raises(SealedBidUnreadable):
        open_bytes(sealed["call"].pk, tampered)


def _reads(client: Any, call: Any) -> dict[str, Any]:
    pages = {
        "api-call": f"/api/v1/calls/{call.pk}",
        "api-list": "/api/v1/calls?state=open&kind=sourcing",
        "api-search-secret": f"/api/v1/calls?q={NOTE}",
        "api-search-supplier": "/api/v1/calls?q=Secret%20Motors",
        "api-responses": f"/api/v1/calls/{call.pk}/responses",
        "api-ranking": f"/api/v1/calls/{call.pk}/ranking",
        "api-timeline": f"/api/v1/calls/{call.pk}/timeline",
        "api-events": f"/api/v1/events?subject_type=call&subject_id={call.pk}",
        "api-events-kind": "/api/v1/events?kind=response.submitted",
        "page-call": f"/calls/{call.pk}/",
        "page-list": "/calls/?kind=sourcing",
        "page-search": f"/calls/?q={NOTE}",
        "page-formula": f"/calls/{call.pk}/sourcing/formula",
    }
    return {name: client.get(url) for name, url in pages.items()}


def _without_ids(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_ids(v) for k, v in value.items() if k not in {"id", "next_cursor", "call_id",
                                                                          "subject_id", "created_at"}}
    if isinstance(value, list):
        return [_without_ids(v) for v in value]
    return value


@pytest.mark.parametrize("who", ["owner", "operator", "other-supplier", "stranger", "anonymous"])
def test_no_read_path_reveals_the_bid_or_that_there_is_one(sealed: dict[str, Any], who: str, maker: Any,
                                                           operator: Any, make_person: Any, client: Any,
                                                           client_for: Any) -> None:
    person = {"owner": maker, "operator": operator, "other-supplier": sealed["other"], "stranger": make_person(),
              "anonymous": None}[who]
    browser = client_for(person) if person else client
    with_bid, without = _reads(browser, sealed["call"]), _reads(browser, sealed["empty"])
    for name, answer in with_bid.items():
        text = answer.content.decode().replace(f"q={NOTE}", "").replace(f'value="{NOTE}"', "")  # the query echoed
        assert answer.status_code in {200, 403}, name
        assert NOTE not in text and "Secret Motors" not in text and str(PRICE) not in text, name
        if answer["Content-Type"].startswith("application/json"):
            assert _without_ids(answer.json()) == _without_ids(without[name].json()), name
    assert with_bid["api-call"].json()["response_count"] is None
    assert with_bid["api-search-secret"].json()["items"] == []
    responses = with_bid["api-responses"]
    if person is None:
        assert responses.status_code == 403 and responses["Content-Type"] == "application/problem+json"
    else:
        assert responses.json()["items"] == [] and "count" not in responses.json()
    if person is not None:
        assert browser.get("/api/v1/responses").json()["items"] == []


def test_the_admin_shows_no_bid_row_content_or_count_to_operators(sealed: dict[str, Any], operator: Any,
                                                                  client_for: Any) -> None:
    admin = client_for(operator)
    for url in ("/admin/calls/response/", f"/admin/calls/response/?q={NOTE}", "/admin/calls/response/?q=Secret",
                "/admin/calls/call/", f"/admin/calls/call/{sealed['call'].pk}/change/"):
        text = admin.get(url).content.decode().replace(f'value="{NOTE}"', "").replace(f"q={NOTE}", "")
        text = text.replace(f"“{NOTE}”", "").replace(f"&quot;{NOTE}&quot;", "")
        assert NOTE not in text and "Secret Motors" not in text and str(PRICE) not in text, url
    assert admin.get(f"/admin/calls/response/{sealed['response'].pk}/change/").status_code in {302, 404}


def test_no_event_notification_export_or_log_line_reveals_the_bid(sealed: dict[str, Any], caplog: Any,
                                                                  make_supplier: Any, operator: Any) -> None:
    assert Event.objects.count() == sealed["events_before"]  # not even "rules frozen"
    assert Notification.objects.count() == sealed["notes_before"]
    assert not Event.objects.filter(data__icontains=NOTE).exists()
    dump = io.StringIO()
    call_command("dumpdata", "calls", stdout=dump)  # an operator's export of the whole app
    assert NOTE not in dump.getvalue() and '"unit_price"' not in dump.getvalue()
    caplog.set_level(logging.DEBUG)
    person, company = qualified(make_supplier, operator, "Logged Motors")
    services.response_submit(actor=person, call=sealed["call"], organisation=company,
                             content={"unit_price": 11111, "delivery_days": 12, "note": NOTE})
    assert NOTE not in caplog.text and "11111" not in caplog.text


def test_the_bidder_sees_a_receipt_and_at_the_deadline_the_bids_open_and_rank(
        sealed: dict[str, Any], client_for: Any, maker: Any, clock: Clock) -> None:
    own = client_for(sealed["bidder"]).get(f"/api/v1/calls/{sealed['call'].pk}/responses").json()["items"]
    assert [r["receipt"] for r in own] == [sealed["response"].receipt] and own[0]["content"] is None
    clock.advance(hours=24)
    services.calls_tick()
    call = sealed["call"]
    call.refresh_from_db()
    assert call.state == CallState.STANDSTILL and call.winner_id == sealed["response"].pk
    opened = client_for(maker).get(f"/api/v1/calls/{call.pk}/responses").json()["items"]
    assert opened[0]["content"] == {"unit_price": PRICE, "currency": "CNY", "delivery_days": 30,
                                    "quality": ["iso9001"], "note": NOTE}
    # alone: lowest price and fastest delivery (1 each), quality 2/5, unrated 3/5 → 50 + 20 + 6 + 9
    assert opened[0]["score"] == "85.000000" and opened[0]["rank"] == 1
    ranking = client_for(maker).get(f"/api/v1/calls/{call.pk}/ranking").json()
    assert json.dumps(ranking).count("Secret Motors") == 1
