"""Links people give (a call's attachments, a complaint's evidence, a supplier's documents) are http(s) addresses
with a host, whichever way they come in — API, pages, services — and nothing else is ever shown as a link: a
`javascript:` or `data:` link would run in the browser of whoever clicks it (an operator, for documents)."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest

from makercloud.calls.errors import InvalidCall
from makercloud.calls.models import Call, Complaint, SupplierQualification
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
HOSTILE = ["javascript:alert(1)", "JavaScript:alert(1)", " javascript:alert(1)", "data:text/html,<script>x</script>",
           "vbscript:x", "https:///no-host", "//evil.example/x", "http://a b.example/"]


@pytest.mark.parametrize("url", HOSTILE)
def test_the_services_refuse_every_link_that_is_not_http_with_a_host(clock: Clock, maker: Any, venture: Any,
                                                                     url: str) -> None:
    with pytest.raises(InvalidCall, match="http"):
        services.call_create(actor=maker, owner=venture, kind="challenge", title="T",
                             attachments=[{"name": "Drawing", "url": url}])
    call = publish(actor=maker, owner=venture)
    with pytest.raises(InvalidCall):
        services.call_update(actor=maker, call=call, attachments=[{"name": "Drawing", "url": url}])
    assert Call.objects.get(pk=call.pk).attachments == []


def test_links_are_kept_with_only_their_name_and_url(clock: Clock, maker: Any, venture: Any) -> None:
    call = services.call_create(actor=maker, owner=venture, kind="challenge", title="T", attachments=[
        {"name": " Drawing ", "url": "https://example.com/d.pdf", "onclick": "x"}])
    assert call.attachments == [{"name": "Drawing", "url": "https://example.com/d.pdf"}]
    with pytest.raises(InvalidCall, match="name"):
        services.call_create(actor=maker, owner=venture, kind="challenge", title="T",
                             attachments=["https://example.com/d.pdf"])


def test_the_api_refuses_a_javascript_link_with_a_problem(clock: Clock, maker: Any, venture: Any,
                                                          client_for: Any) -> None:
    owner = client_for(maker)
    for url in ["javascript:alert(1)", "https:///no-host"]:
        answer = owner.post("/api/v1/calls", {
            "owner_id": venture.pk, "kind": "challenge", "title": "Silent compressor",
            "attachments": [{"name": "Drawing", "url": url}]}, content_type="application/json")
        assert answer.status_code == 422 and answer["Content-Type"] == "application/problem+json", url
    assert not Call.objects.exists()


def test_the_pages_refuse_a_javascript_link_with_a_readable_error(clock: Clock, maker: Any, venture: Any,
                                                                  client_for: Any, make_supplier: Any) -> None:
    page = client_for(maker).post("/calls/new", {
        "owner": venture.pk, "kind": "challenge", "title": "XSS", "standstill_days": 3,
        "attachments": '[{"name": "Drawing", "url": "javascript:alert(1)"}]'})
    assert page.status_code == 400
    assert "must be an http(s) address with a host" in page.content.decode()
    assert not Call.objects.filter(title="XSS").exists()

    call = publish(actor=maker, owner=venture, title="Editable")
    edited = client_for(maker).post(f"/calls/{call.pk}/edit", {
        "title": "Editable", "standstill_days": call.standstill_days,
        "responses_until": (clock.now + timedelta(hours=48)).strftime("%Y-%m-%dT%H:%M"),
        "questions_until": (clock.now + timedelta(hours=24)).strftime("%Y-%m-%dT%H:%M"),
        "attachments": '[{"name": "Drawing", "url": "data:text/html,<script>alert(1)</script>"}]'})
    assert edited.status_code == 400 and "http(s) address" in edited.content.decode()
    assert Call.objects.get(pk=call.pk).attachments == []

    person, supplier = make_supplier("Ann Parts")
    applied = client_for(person).post("/qualifications/", {
        "organisation": supplier.pk, "category": "motors",
        "documents": '[{"name": "ISO 9001", "url": "javascript:alert(document.cookie)"}]'})
    assert applied.status_code == 400 and "http(s) address" in applied.content.decode()
    assert not SupplierQualification.objects.exists()


def test_a_complaint_with_a_javascript_link_is_refused(clock: Clock, maker: Any, venture: Any, make_person: Any,
                                                       client_for: Any) -> None:
    call = publish(actor=maker, owner=venture, hours=1)
    solver = make_person(name="Sam Solver")
    response = services.response_submit(actor=solver, call=call, content={"plan": "a"})
    clock.advance(hours=1)
    services.calls_tick()
    services.call_select(actor=maker, call=call, response=response, reason="The only one.")
    page = client_for(solver).post(f"/calls/{call.pk}/complaints", {
        "reasons": "Unfair.", "evidence": '[{"name": "Proof", "url": "javascript:alert(1)"}]'})
    assert page.status_code == 400 and "http(s) address" in page.content.decode()
    assert not Complaint.objects.exists()


def test_a_link_stored_before_the_check_is_shown_as_text_not_as_a_link(clock: Clock, maker: Any, venture: Any,
                                                                       client: Any) -> None:
    call = publish(actor=maker, owner=venture, title="Old call", attachments=[
        {"name": "Good", "url": "https://example.com/good.pdf"}])
    Call.objects.filter(pk=call.pk).update(attachments=[  # written before the services checked links
        {"name": "Good", "url": "https://example.com/good.pdf"}, {"name": "Bad", "url": "javascript:alert(1)"}])
    page = client.get(f"/calls/{call.pk}/").content.decode()
    assert 'href="https://example.com/good.pdf"' in page
    assert "javascript:alert(1)" in page and 'href="javascript:' not in page
