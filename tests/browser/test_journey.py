"""A newcomer's journey through the real platform in a real browser: sign up, found a venture, see it, read Chinese.

Runs against `makercloud up` (its own SQLite data dir); nothing here touches the test process's database.
"""

import re
import uuid
from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_sign_up_found_a_venture_and_see_it_on_the_landing_page(page: Any) -> None:
    from playwright.sync_api import expect

    email = f"maker-{uuid.uuid4().hex[:8]}@example.com"
    venture = f"Quiet Fridge {uuid.uuid4().hex[:4]}"

    page.goto("/")
    page.get_by_role("link", name="Sign up").click()
    page.get_by_label("E-mail address").fill(email)
    page.get_by_label("Your name").fill("Ada Maker")
    page.get_by_label("Password").fill("a-long-unusual-passphrase")
    page.get_by_label("Start or join a venture").check()
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(re.compile(r"/dashboard/$"))
    expect(page.get_by_role("heading", name="Hello, Ada")).to_be_visible()

    page.get_by_role("link", name="Found a venture").first.click()
    page.get_by_label("Name").fill(venture)
    page.get_by_label("Mission").fill("Fridges quiet enough for a studio flat.")
    page.get_by_label("Employee spin-out").check()
    page.get_by_role("button", name="Found the venture").click()
    expect(page.get_by_role("heading", level=1, name=venture)).to_be_visible()
    expect(page.get_by_text("Ada Maker founded the venture")).to_be_visible()

    page.get_by_role("link", name="makercloud home").click()
    expect(page.get_by_role("link", name=venture)).to_be_visible()


def test_switch_the_language_to_chinese_and_back(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/ventures/")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    page.get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page.get_by_role("heading", level=1, name="小微")).to_be_visible()
    expect(page.get_by_role("link", name="创办小微")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/ventures/$"))
    page.get_by_role("button", name="English").click()
    expect(page.get_by_role("heading", level=1, name="Ventures")).to_be_visible()


def test_keyboard_users_can_skip_to_the_content(page: Any) -> None:
    from playwright.sync_api import expect

    page.goto("/")
    page.keyboard.press("Tab")
    skip = page.get_by_role("link", name="Skip to the content")
    expect(skip).to_be_focused()
    expect(skip).to_be_in_viewport()
