"""Every string has a Simplified Chinese translation, and the pages speak it when asked."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from django.test import Client

from makercloud.accounts.models import User
from makercloud.ventures import services as venture_services

PACKAGE = Path(__file__).resolve().parents[2]
PO = PACKAGE / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
# An app with a locale folder of its own keeps its strings there (`make messages` puts them there).
CATALOGUES = [PO, *sorted(PACKAGE.glob("*/locale/zh_Hans/LC_MESSAGES/django.po"))]


def _catalogue() -> list:
    messages = []
    for path in CATALOGUES:
        with path.open("rb") as po:
            messages += [message for message in read_po(po, locale="zh_Hans") if message.id]
    return messages


def test_every_app_with_a_locale_folder_has_its_catalogue() -> None:
    folders = sorted(PACKAGE.glob("*/locale/zh_Hans/LC_MESSAGES"))
    assert [folder / "django.po" for folder in folders] == CATALOGUES[1:]


def test_the_chinese_catalogue_is_complete_and_has_no_fuzzy_entries() -> None:
    messages = _catalogue()
    assert len(messages) > 300  # the catalogue was generated from the code, not an empty file
    untranslated = [m.id for m in messages if not (all(m.string) if isinstance(m.string, tuple) else m.string)]
    fuzzy = [m.id for m in messages if m.fuzzy]
    assert untranslated == [], f"untranslated: {untranslated}"
    assert fuzzy == [], f"fuzzy: {fuzzy}"


def test_the_compiled_catalogues_are_not_older_than_their_sources() -> None:
    for po in CATALOGUES:
        mo = po.with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime - 1, f"run compilemessages for {po}"


def test_placeholders_survive_translation() -> None:
    for message in _catalogue():
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        for string in strings:
            assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, (message.id, string)


@pytest.fixture
def chinese() -> Client:
    return Client(headers={"Accept-Language": "zh-hans"})


def test_the_landing_page_in_chinese(db: object, chinese: Client) -> None:
    response = chinese.get("/")
    page = response.content.decode()
    assert response["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans">' in page
    assert "人人都是自己的 CEO。" in page and "平台上的小微" in page and "开放 API" in page
    assert "Everyone can be their own CEO." not in page


def test_pages_of_a_signed_in_maker_in_chinese(maker: User, client_for: Callable[[User], Client]) -> None:
    venture_services.venture_found(actor=maker, name="Cool Fridge", mission="Quiet fridges.", origin="employee")
    client = client_for(maker)
    client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/dashboard/"})
    dashboard = client.get("/dashboard/").content.decode()
    assert "你的小微" in dashboard and "创办小微" in dashboard
    detail = client.get("/ventures/cool-fridge/").content.decode()
    assert "员工创业" in detail and "Li Wei 创办了小微 Cool Fridge。" in detail and "邀请成员" in detail


def test_the_language_switch_changes_the_page_language(db: object) -> None:
    client = Client()
    english = client.get("/ventures/").content.decode()
    assert '<html lang="en">' in english and "Found a venture" in english
    assert 'name="language" value="zh-hans"' in english  # the switch is on the page
    response = client.post("/i18n/setlang/", {"language": "zh-hans", "next": "/ventures/"})
    assert response.status_code == 302 and response["Location"] == "/ventures/"
    chinese = client.get("/ventures/").content.decode()
    assert '<html lang="zh-hans">' in chinese and "创办小微" in chinese and "Found a venture" not in chinese
    client.post("/i18n/setlang/", {"language": "en", "next": "/ventures/"})
    assert "Found a venture" in client.get("/ventures/").content.decode()


def test_form_errors_from_services_are_shown_in_chinese(maker: User, chinese: Client) -> None:
    response = chinese.post("/accounts/signup/", {"email": maker.email, "name": "X", "password": "a-long-passphrase-1",
                                                  "intent": "maker"})
    assert "已注册账户" in response.content.decode()
