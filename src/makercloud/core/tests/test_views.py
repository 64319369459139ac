"""core/views.py: a refused page says why — the error's own sentence, in the person's language — and a refusal is
logged as one warning line, not a traceback."""

import importlib
import logging
import pkgutil
from collections.abc import Callable, Iterator

import pytest
from django.test import Client
from django.utils import translation

import makercloud
from makercloud.accounts.models import User
from makercloud.core.errors import DomainError, PermissionDenied
from makercloud.core.views import explain
from makercloud.ventures import services as ventures_services


def _subclasses(cls: type[DomainError]) -> Iterator[type[DomainError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_a_refused_page_says_why_in_the_persons_language_and_logs_one_line(
    make_person: Callable[..., User], client_for: Callable[[User], Client], caplog: pytest.LogCaptureFixture
) -> None:
    venture = ventures_services.venture_found(actor=make_person(name="Li Wei"), name="Bright Home",
                                              mission="Lamps.", origin="outside")
    outsider = client_for(make_person(name="Chen Jing"))
    path = f"/ventures/{venture.slug}/statement/what-if/"

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = outsider.get(path)
    assert response.status_code == 403
    page = response.content.decode()
    assert "Only the venture&#x27;s members and operators may see this." in page
    assert "This cannot be done right now." not in page
    refusals = [record for record in caplog.records if record.name == "django.request"]
    assert len(refusals) == 1
    assert refusals[0].levelno == logging.WARNING and refusals[0].exc_info is None
    assert refusals[0].getMessage() == f"Forbidden (not-venture-insider): {path}"

    chinese = outsider.get(path, headers={"Accept-Language": "zh-hans"}).content.decode()
    assert "只有该小微的成员和平台主可以查看此内容。" in chinese


def test_every_refusal_reads_as_a_translated_sentence() -> None:
    for module in pkgutil.walk_packages(makercloud.__path__, "makercloud."):
        if module.name.endswith(".errors"):
            importlib.import_module(module.name)
    refusals = sorted((cls for cls in _subclasses(PermissionDenied) if "tests" not in cls.__module__),
                      key=lambda cls: cls.type)
    assert len(refusals) > 10
    with translation.override("zh-hans"):
        untranslated = [cls.type for cls in refusals if explain(cls()).isascii()]
    assert untranslated == []
    with translation.override("en"):
        assert explain(refusals[0]()) != "This cannot be done right now."
        assert {explain(cls()) for cls in refusals}.isdisjoint({"This cannot be done right now."})


def test_a_services_own_detail_comes_first_and_an_untranslated_title_falls_back_to_its_kind() -> None:
    class Odd(PermissionDenied):
        type = "odd-refusal"
        title = "A title nobody translated"

    with translation.override("en"):
        assert explain(Odd()) == "A title nobody translated."
        assert explain(Odd(detail="Only Zhao Lei may do this.")) == "Only Zhao Lei may do this."
    with translation.override("zh-hans"):
        assert explain(Odd()) == "你无权执行此操作。"
