"""The engine on the HTTP API: who may do what, problem+json for everything refused, scopes of tokens."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest

from makercloud.calls.models import Call, CallState
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
PROBLEM = "application/problem+json"


def _draft_body(venture: Any, clock: Clock, **extra: Any) -> dict[str, Any]:
    return {"owner_id": venture.pk, "kind": "challenge", "title": "Silent compressor",
            "description": "Below 30 dB.", "responses_until": (clock.now + timedelta(days=7)).isoformat(),
            "questions_until": (clock.now + timedelta(days=3)).isoformat(),
            "selection": {"method": "owner"}, **extra}


def test_a_venture_posts_publishes_and_runs_a_call_through_the_api(clock: Clock, maker: Any, venture: Any,
                                                                   client_for: Any, make_person: Any) -> None:
    owner = client_for(maker)
    created = owner.post("/api/v1/calls", _draft_body(venture, clock), content_type="application/json")
    assert created.status_code == 201 and created.json()["state"] == "draft" and created.json()["rules_hash"] == ""
    call_id = created.json()["id"]
    published = owner.post(f"/api/v1/calls/{call_id}/publish")
    assert published.status_code == 200 and published.json()["state"] == "open"
    solver = client_for(make_person(name="Sol Ver"))
    answer = solver.post(f"/api/v1/calls/{call_id}/responses", {"content": {"design": "a muffler"}},
                         content_type="application/json")
    assert answer.status_code == 201 and len(answer.json()["receipt"]) == 64
    assert answer.json()["content"] == {"design": "a muffler"}
    again = solver.post(f"/api/v1/calls/{call_id}/responses", {"content": {"design": "b"}},
                        content_type="application/json")
    assert again.status_code == 409 and again.json()["type"].endswith("/already-responded")
    clock.advance(days=7)
    services.calls_tick()
    response_id = answer.json()["id"]
    no_reason = owner.post(f"/api/v1/calls/{call_id}/award", {"response_id": response_id},
                           content_type="application/json")
    assert no_reason.status_code == 422 and no_reason["Content-Type"] == PROBLEM
    picked = owner.post(f"/api/v1/calls/{call_id}/award", {"response_id": response_id, "reason": "Quietest."},
                        content_type="application/json")
    assert picked.status_code == 200 and picked.json()["state"] == "standstill"
    assert picked.json()["selected_response_id"] == response_id and picked.json()["award_reason"] == "Quietest."
    early = owner.post(f"/api/v1/calls/{call_id}/award", {}, content_type="application/json")
    assert early.status_code == 409 and early.json()["type"].endswith("/call-not-due")


def test_drafts_are_their_owners_and_others_cannot_run_a_call(clock: Clock, maker: Any, venture: Any,
                                                              client_for: Any, make_person: Any,
                                                              client: Any) -> None:
    draft = services.call_create(actor=maker, owner=venture, kind="idea", title="Secret plan",
                                 responses_until=clock.now + timedelta(days=1))
    stranger = client_for(make_person())
    assert stranger.get(f"/api/v1/calls/{draft.pk}").status_code == 404
    assert client.get(f"/api/v1/calls/{draft.pk}").status_code == 404
    assert "Secret plan" not in client.get("/api/v1/calls").content.decode()
    assert client_for(maker).get(f"/api/v1/calls/{draft.pk}").json()["title"] == "Secret plan"
    refused = stranger.post("/api/v1/calls", _draft_body(venture, clock), content_type="application/json")
    assert refused.status_code == 403 and refused["Content-Type"] == PROBLEM
    services.call_publish(actor=maker, call=draft)
    for path, body in ((f"/api/v1/calls/{draft.pk}/cancel", {"reason": "mine now"}),
                       (f"/api/v1/calls/{draft.pk}/publish", None)):
        response = stranger.post(path, body, content_type="application/json")
        assert response.status_code == 403 and response.json()["type"].endswith("/not-call-owner")
    patched = stranger.patch(f"/api/v1/calls/{draft.pk}", {"title": "Hijacked"}, content_type="application/json")
    assert patched.status_code == 403
    assert Call.objects.get(pk=draft.pk).title == "Secret plan"
    assert client.post(f"/api/v1/calls/{draft.pk}/responses", {"content": {}},
                       content_type="application/json").status_code == 401


def test_bad_input_is_a_problem_not_a_crash(clock: Clock, maker: Any, venture: Any, client_for: Any) -> None:
    owner = client_for(maker)
    for body in (_draft_body(venture, clock, kind="lottery"), _draft_body(venture, clock, unknown=1),
                 _draft_body(venture, clock, standstill_days=99), _draft_body(venture, clock, title="")):
        response = owner.post("/api/v1/calls", body, content_type="application/json")
        assert response.status_code == 422 and response["Content-Type"] == PROBLEM
    naive = _draft_body(venture, clock, responses_until="2030-01-01T00:00:00")
    assert owner.post("/api/v1/calls", naive, content_type="application/json").status_code == 422
    assert owner.get("/api/v1/calls/99999999999").status_code == 404
    assert owner.get("/api/v1/calls?kind=nope").status_code == 422


def test_tokens_need_the_calls_scopes(clock: Clock, maker: Any, venture: Any, bearer_for: Any, client: Any) -> None:
    read_only = bearer_for(maker, scopes=["calls:read"])
    refused = client.post("/api/v1/calls", _draft_body(venture, clock), content_type="application/json",
                          headers=read_only)
    assert refused.status_code == 403 and refused["Content-Type"] == PROBLEM
    writer = bearer_for(maker, scopes=["calls:write"])
    created = client.post("/api/v1/calls", _draft_body(venture, clock), content_type="application/json",
                          headers=writer)
    assert created.status_code == 201


def test_complaints_and_their_decisions_through_the_api(clock: Clock, maker: Any, venture: Any, make_supplier: Any,
                                                        operator: Any, client_for: Any, client: Any) -> None:
    call = publish(actor=maker, owner=venture, kind="sourcing", hours=1)
    (ann, ann_co), (bob, bob_co) = make_supplier("Ann Parts"), make_supplier("Bob Parts")
    services.response_submit(actor=ann, call=call, content={"price": 1}, organisation=ann_co)
    services.response_submit(actor=bob, call=call, content={"price": 2}, organisation=bob_co)
    clock.advance(hours=1)
    services.calls_tick()
    evidence = [{"name": "Photo", "url": "https://example.com/p.jpg"}]
    filed = client_for(bob).post(f"/api/v1/calls/{call.pk}/complaints",
                                 {"reasons": "Ann's sample failed.", "evidence": evidence},
                                 content_type="application/json")
    assert filed.status_code == 201 and filed.json()["evidence"] == evidence
    complaint_id = filed.json()["id"]
    public = client.get(f"/api/v1/calls/{call.pk}/complaints").json()
    assert public[0]["reasons"] == "Ann's sample failed." and public[0]["evidence"] is None
    assert client_for(bob).get("/api/v1/complaints").status_code == 403
    queue = client_for(operator).get("/api/v1/complaints").json()
    assert [c["id"] for c in queue] == [complaint_id]
    by_owner = client_for(maker).post(f"/api/v1/complaints/{complaint_id}/decision",
                                      {"upheld": True, "reasons": "x", "remedy": "disqualify"},
                                      content_type="application/json")
    assert by_owner.status_code == 403
    decided = client_for(operator).post(f"/api/v1/complaints/{complaint_id}/decision",
                                        {"upheld": True, "reasons": "The sample failed the test.",
                                         "remedy": "disqualify"}, content_type="application/json")
    assert decided.status_code == 200 and decided.json()["state"] == "upheld"
    detail = client.get(f"/api/v1/calls/{call.pk}").json()
    assert detail["state"] == CallState.STANDSTILL
    ranking = client.get(f"/api/v1/calls/{call.pk}/ranking").json()
    assert [(r["respondent_name"], r["state"]) for r in ranking] == [("Ann Parts", "disqualified"),
                                                                    ("Bob Parts", "submitted")]


def test_qualifications_through_the_api(make_supplier: Any, operator: Any, client_for: Any, client: Any) -> None:
    person, company = make_supplier("Display Co")
    supplier = client_for(person)
    applied = supplier.post("/api/v1/qualifications", {"organisation_id": company.pk, "category": "displays",
                                                       "documents": [{"name": "Spec", "url": "https://e.com/s"}]},
                            content_type="application/json")
    assert applied.status_code == 201 and applied.json()["state"] == "applied"
    qid = applied.json()["id"]
    assert supplier.post(f"/api/v1/qualifications/{qid}/decision", {"qualified": True, "reasons": "me"},
                         content_type="application/json").status_code == 403
    pending = client_for(operator).get("/api/v1/qualifications?state=applied").json()["items"]
    assert [q["id"] for q in pending] == [qid]
    decided = client_for(operator).post(f"/api/v1/qualifications/{qid}/decision",
                                        {"qualified": True, "reasons": "Spec reviewed."},
                                        content_type="application/json")
    assert decided.json()["state"] == "qualified"
    listed = client.get("/api/v1/qualified-suppliers?category=displays").json()["items"]
    assert [q["organisation_name"] for q in listed] == ["Display Co"]
