"""A person posts an idea (issue 6: "a user posts a need or an idea"): any verified person, on the API and the
pages; it is the platform's idea with the person as its author, who earns the author's points; a few a day; the
operators moderate it."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from typing import Any

import pytest
from django.utils import timezone

from makercloud.accounts.services import platform_organisation
from makercloud.calls.models import Call, CallState, ContributionPoint
from makercloud.calls.services import engine as services
from makercloud.calls.services import kinds as kind_services
from makercloud.calls.tests.engine_fixtures import Clock, clock  # noqa: F401
from makercloud.notifications.models import Notification

IDEA = {"title": "A kettle that whispers", "description": "Boiling water wakes the baby. Make it quiet."}


def verified(make_person: Any, **kwargs: Any) -> Any:
    person = make_person(**kwargs)
    person.email_verified_at = timezone.now()
    person.save(update_fields=["email_verified_at"])
    return person


@pytest.fixture
def small_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kind_services, "IDEA_STAGES", [{"supports": 2, "days": 30}])


def test_a_verified_person_posts_an_idea_on_the_api_and_earns_the_authors_points(
        clock: Clock, small_stages: None, make_person: Any, operator: Any, bearer_for: Any, client: Any) -> None:
    author = make_person(name="Uma User", intent="user")
    refused = client.post("/api/v1/ideas", IDEA, content_type="application/json",
                          headers=bearer_for(author, ["calls:write"]))
    assert refused.status_code == 403 and refused.json()["type"].endswith("/not-verified")
    author.email_verified_at = timezone.now()
    author.save(update_fields=["email_verified_at"])
    posted = client.post("/api/v1/ideas", IDEA, content_type="application/json",
                         headers=bearer_for(author, ["calls:write"]))
    assert posted.status_code == 201, posted.content
    body = posted.json()
    assert body["kind"] == "idea" and body["state"] == "open" and body["owner_id"] == platform_organisation().pk
    assert body["rules_hash"] and body["title"] == IDEA["title"]
    call = Call.objects.get(pk=body["id"])
    assert call.created_by == author
    assert Notification.objects.filter(person=operator, url=f"/calls/{call.pk}/idea/").exists()  # to moderate
    # the author is not the platform: they cannot run the call themselves
    cancel = client.post(f"/api/v1/calls/{call.pk}/cancel", {"reason": "mine"}, content_type="application/json",
                         headers=bearer_for(author, ["calls:write"]))
    assert cancel.status_code == 403

    for _ in range(2):
        kind_services.support_add(actor=verified(make_person), call=call)
    designer = verified(make_person, name="Dana Designer")
    proposal = services.response_submit(actor=designer, call=call, content={"title": "Induction, fan-less",
                                                                            "summary": "No fan, no hiss."})
    kind_services.comment_post(actor=author, call=call, text="Could it glow when ready?")
    clock.advance(days=kind_services.IDEA_OPEN_DAYS)
    services.calls_tick()
    call.refresh_from_db()
    assert call.state == CallState.EVALUATED
    services.call_select(actor=operator, call=call, response=proposal, reason="The quietest design.")
    clock.advance(days=call.standstill_days)
    services.calls_tick()
    points = client.get(f"/api/v1/calls/{call.pk}/contribution-points").json()
    assert {(row["person_name"], row["role"], row["points"]) for row in points} >= {
        ("Uma User", "author", 100), ("Dana Designer", "proposer", 100)}
    assert ContributionPoint.objects.get(call=call, role="author").person == author


def test_a_person_posts_a_few_ideas_a_day(clock: Clock, make_person: Any, bearer_for: Any, client: Any) -> None:
    author = verified(make_person)
    headers = bearer_for(author, ["calls:write"])
    for n in range(kind_services.IDEAS_PER_DAY):
        answer = client.post("/api/v1/ideas", {**IDEA, "title": f"Idea {n}"}, content_type="application/json",
                             headers=headers)
        assert answer.status_code == 201
    over = client.post("/api/v1/ideas", IDEA, content_type="application/json", headers=headers)
    assert over.status_code == 429 and over["Content-Type"] == "application/problem+json"
    assert over.json()["type"].endswith("/too-many-ideas") and "3 ideas a day" in over.json()["detail"]
    assert Call.objects.filter(created_by=author).count() == kind_services.IDEAS_PER_DAY
    other = client.post("/api/v1/ideas", IDEA, content_type="application/json",
                        headers=bearer_for(verified(make_person), ["calls:write"]))
    assert other.status_code == 201  # the limit is each person's
    clock.advance(days=1, seconds=1)
    again = client.post("/api/v1/ideas", IDEA, content_type="application/json", headers=headers)
    assert again.status_code == 201


def test_an_idea_refuses_a_javascript_link(clock: Clock, make_person: Any, bearer_for: Any, client: Any,
                                           client_for: Any) -> None:
    author = verified(make_person)
    answer = client.post("/api/v1/ideas", {**IDEA, "attachments": [{"name": "Sketch", "url": "javascript:alert(1)"}]},
                         content_type="application/json", headers=bearer_for(author, ["calls:write"]))
    assert answer.status_code == 422
    page = client_for(author).post("/ideas/new", {**IDEA, "attachments": (
        '[{"name": "Sketch", "url": "data:text/html,<script>alert(1)</script>"}]')})
    assert page.status_code == 400 and "http(s) address" in page.content.decode()
    assert not Call.objects.exists()


def test_posting_an_idea_on_the_pages(clock: Clock, make_person: Any, client_for: Any, client: Any) -> None:
    assert "Post an idea" in client.get("/calls/").content.decode()
    assert client.get("/ideas/new")["Location"].startswith("/accounts/login/")
    unverified = client_for(make_person())
    page = unverified.get("/ideas/new").content.decode()
    assert "Verify your e-mail address first" in page
    refused = unverified.post("/ideas/new", IDEA)
    assert refused.status_code == 400 and "Verify your e-mail address to post an idea." in refused.content.decode()

    author = verified(make_person, name="Uma User")
    browser = client_for(author)
    empty = browser.post("/ideas/new", {"title": "", "description": ""})
    assert empty.status_code == 400 and not Call.objects.exists()
    posted = browser.post("/ideas/new", {**IDEA, "attachments": '[{"name": "Sketch", "url": "https://e.com/k"}]'})
    call = Call.objects.get(title=IDEA["title"])
    assert posted.status_code == 302 and posted["Location"] == f"/calls/{call.pk}/idea/"
    idea_page = client.get(f"/calls/{call.pk}/idea/").content.decode()
    assert "posted by Uma User" in idea_page and "Support this idea" not in idea_page  # anonymous: sign in first
    assert 'href="https://e.com/k"' in client.get(f"/calls/{call.pk}/").content.decode()
    assert IDEA["title"] in client.get("/calls/?kind=idea").content.decode()


def test_operators_take_an_idea_down_with_a_public_reason(clock: Clock, make_person: Any, operator: Any,
                                                          client_for: Any, client: Any) -> None:
    author = verified(make_person)
    call = kind_services.idea_post(actor=author, **IDEA)
    assert client_for(author).post(f"/calls/{call.pk}/cancel", {"reason": "no"}).status_code == 403
    client_for(operator).post(f"/calls/{call.pk}/cancel", {"reason": "Advertising, not an idea."})
    call.refresh_from_db()
    assert call.state == CallState.CANCELLED and call.end_reason == "Advertising, not an idea."
    assert "Advertising, not an idea." in client.get(f"/calls/{call.pk}/").content.decode()
    assert Notification.objects.filter(person=author, title__contains="was cancelled").exists()
