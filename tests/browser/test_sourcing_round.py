"""A whole sourcing round in a real browser against the real platform (`makercloud up`, its scheduler, its own
SQLite): a venture posts a sealed sourcing call; two suppliers qualify and bid; the deadline passes and the
scheduler opens and ranks the bids; the losing supplier complains during the standstill and an operator dismisses
the complaint with reasons; the standstill ends (the one step where the test moves the clock: a day passes), the
scheduler awards and draws up the supply contract; both parties sign it with their passwords; the loser sees only
the public view.
"""

import json
import re
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.platform import Platform, running_platform

pytestmark = pytest.mark.browser
PASSWORD = "a-long-unusual-passphrase"


@pytest.fixture(scope="module")
def running(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with running_platform(tmp_path_factory.mktemp("sourcing-round"), embedded_only=True) as platform:
        yield platform


def person(platform: Platform, handle: str, name: str, *, operator: bool = False) -> str:
    email = f"{handle}-{uuid.uuid4().hex[:6]}@example.com"
    done = platform.cli("user", "create", "--email", email, "--password", PASSWORD, "--name", name,
                        *(["--operator"] if operator else []))
    assert done.returncode == 0, done.stdout + done.stderr
    return email


def signed_in(browser: Any, platform: Platform, email: str) -> Any:
    from playwright.sync_api import expect

    context = browser.new_context(base_url=platform.url, viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15_000)
    page.goto("/accounts/login/")
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).not_to_have_url(re.compile(r"/accounts/login/"))
    return page


def wait_for(page: Any, url: str, state: str, seconds: float) -> None:
    """Reload the call's page until its state badge reads `state` (the scheduler ticks every few seconds)."""
    deadline = time.monotonic() + seconds
    while True:
        page.goto(url)
        if page.locator(".page-head .badge").filter(has_text=re.compile(f"^{state}$")).count():
            return
        assert time.monotonic() < deadline, f"the call is not {state!r} within {seconds} s"
        time.sleep(2)


def supplier(page: Any, name: str) -> None:
    """Register a supplier organisation and apply for the motors category."""
    page.goto("/organisations/new/")
    page.get_by_label("Supplier of modules and services").check()
    page.get_by_label("Name").fill(name)
    page.get_by_role("button", name="Register").click()
    page.goto("/qualifications/")
    page.get_by_label("Supplier").select_option(label=name)
    page.get_by_label("Category").fill("motors")
    page.get_by_label("Documents").fill(json.dumps([{"name": "ISO 9001", "url": "https://example.com/iso.pdf"}]))
    page.get_by_role("button", name="Apply").click()


def test_a_sourcing_round_from_posting_to_a_signed_supply_contract(running: Platform, browser: Any) -> None:
    from playwright.sync_api import expect

    maker = signed_in(browser, running, person(running, "maker", "Mei Maker"))
    alpha = signed_in(browser, running, person(running, "alpha", "Ada Alpha"))
    beta = signed_in(browser, running, person(running, "beta", "Bo Beta"))
    operator = signed_in(browser, running, person(running, "operator", "Olga Operator", operator=True))
    venture = f"Quiet Washers {uuid.uuid4().hex[:4]}"
    title = f"Brushless motors {uuid.uuid4().hex[:4]}"

    # Two suppliers apply; the operator qualifies both.
    supplier(alpha, "Alpha Motors")
    supplier(beta, "Beta Drives")
    operator.goto("/operations/qualifications")
    for name in ("Alpha Motors", "Beta Drives"):
        card = operator.locator("article", has_text=name)
        card.get_by_label("Decision").select_option(label="Qualify")
        card.get_by_label("Reasons").fill("Factory audit passed.")
        card.get_by_role("button", name="Record the decision").click()
    expect(operator.get_by_text("No application is waiting.")).to_be_visible()

    # The venture posts the sourcing call with its published formula, and publishes it.
    maker.goto("/ventures/new/")
    maker.get_by_label("Name").fill(venture)
    maker.get_by_label("Mission").fill("Washers quiet enough for a studio flat.")
    maker.get_by_label("Employee spin-out").check()
    maker.get_by_role("button", name="Found the venture").click()
    now = datetime.now(UTC)
    deadline = (now + timedelta(minutes=2)).replace(second=0, microsecond=0)  # 60–120 s from now
    maker.goto("/calls/new")
    maker.get_by_label("Posted by").select_option(label=venture)
    maker.get_by_label("Kind").select_option(label="Sourcing")
    maker.get_by_label("Title").fill(title)
    maker.get_by_label("Description").fill("0.5 kW brushless DC motor, 1,400 rpm, IPX4.")
    maker.get_by_label("Questions until (UTC)").fill((deadline - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M"))
    maker.get_by_label("Responses until (UTC)").fill(deadline.strftime("%Y-%m-%dT%H:%M"))
    maker.get_by_label("Standstill (days)").fill("1")
    maker.get_by_label("Eligibility").fill(json.dumps({"category": "motors"}))
    maker.get_by_label("Response form").fill(json.dumps({
        "quantity": 500, "unit_price_ceiling": {"minor": 42_000, "currency": "CNY"},
        "delivery_by": (now + timedelta(days=120)).date().isoformat()}))
    maker.get_by_label("Selection").fill(json.dumps({
        "method": "formula", "weights": {"price": 50, "delivery": 20, "quality": 15, "rating": 15},
        "quality_commitments": {"iso9001": 2, "warranty-24m": 2}, "unrated": 3}))
    maker.get_by_role("button", name="Save the draft").click()
    maker.get_by_role("button", name="Publish the call").click()
    expect(maker.get_by_role("heading", level=1, name=title)).to_be_visible()
    call_url = maker.url

    # Both qualified suppliers bid; the bids are sealed.
    for page, company, bid in ((alpha, "Alpha Motors", {"unit_price": 36_500, "delivery_days": 40,
                                                        "quality": ["iso9001", "warranty-24m"]}),
                               (beta, "Beta Drives", {"unit_price": 39_000, "delivery_days": 60, "quality": []})):
        page.goto(call_url)
        page.get_by_role("link", name="Respond").click()
        page.get_by_label("Respond for").select_option(label=company)
        page.get_by_label("Your response").fill(json.dumps(bid))
        page.get_by_role("button", name=re.compile("Submit|Send|Respond")).click()
        expect(page.get_by_text(re.compile("Your response is in"))).to_be_visible()
    maker.goto(call_url)
    expect(maker.get_by_text("36500")).to_have_count(0)  # nothing of a bid shows before the deadline

    # The deadline passes: the scheduler closes the call, opens and ranks the bids, and the standstill starts.
    wait_for(maker, call_url, "Standstill", 200)

    # The losing supplier complains; the operator hears it and dismisses it with public reasons.
    beta.goto(call_url)
    beta.get_by_role("link", name="File a complaint").first.click()
    beta.get_by_label("Reasons").fill("Alpha cannot deliver 500 motors in 40 days.")
    beta.get_by_role("button", name="File the complaint").click()
    operator.goto("/operations/complaints")
    card = operator.locator("article", has_text=title)
    card.get_by_label("Decision").select_option(label="Dismiss")
    card.get_by_label("Reasons (public)").fill("Alpha's capacity plan was checked: 40 days hold.")
    card.get_by_role("button", name="Publish the decision").click()
    beta.goto(call_url.rstrip("/") + "/complaints")
    expect(beta.get_by_text("Alpha's capacity plan was checked: 40 days hold.")).to_be_visible()

    # A day passes (the standstill's end is moved to a moment just gone); the scheduler awards and draws up the
    # supply contract.
    call_id = re.search(r"/calls/(\d+)/", call_url).group(1)  # type: ignore[union-attr]
    moved = running.cli("manage", "shell", "-c", (
        "from datetime import timedelta; from django.utils import timezone; from makercloud.calls.models import Call; "
        f"print(Call.objects.filter(pk={call_id}).update(standstill_until=timezone.now() - timedelta(seconds=1)))"))
    assert moved.stdout.strip().endswith("1"), moved.stdout + moved.stderr
    wait_for(maker, call_url, "Contracted", 60)

    # Both parties sign with their passwords: the venture's owner (after a wrong one), then the winner, who finds
    # the request among their notifications.
    maker.get_by_role("link", name="Contracts", exact=True).click()
    maker.get_by_role("link", name=title).click()
    expect(maker.locator("#contract-state")).to_have_text("Awaiting signatures")
    maker.get_by_label("Your password").fill("not-my-password")
    maker.get_by_role("button", name="Sign the contract").click()
    expect(maker.get_by_text("The password is not correct; the contract is not signed.")).to_be_visible()
    maker.get_by_label("Your password").fill(PASSWORD)
    maker.get_by_role("button", name="Sign the contract").click()
    expect(maker.get_by_text("Signed. The other parties are asked to sign.")).to_be_visible()
    contract_url = maker.url

    alpha.goto("/notifications/")
    alpha.get_by_role("link", name=f"Your signature is needed: “{title}”").click()
    expect(alpha.get_by_text("Supply of 500 units at 36500 CNY", exact=False)).to_be_visible()
    alpha.get_by_label("Your password").fill(PASSWORD)
    alpha.get_by_role("button", name="Sign the contract").click()
    expect(alpha.get_by_text("Signed. Every party has signed: the terms are in force.")).to_be_visible()
    expect(alpha.locator("#contract-state")).to_have_text("Signed")
    expect(alpha.get_by_text("The hash chain of 1 version holds.")).to_be_visible()

    # The losing bidder sees that the contract exists, who the parties are and that it is signed — not its terms.
    beta.goto(contract_url)
    expect(beta.get_by_text("Only the parties read the terms of a contract.")).to_be_visible()
    expect(beta.get_by_text("Alpha Motors", exact=False).first).to_be_visible()
    expect(beta.get_by_text("36500", exact=False)).to_have_count(0)
