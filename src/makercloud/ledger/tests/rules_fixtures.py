"""Fixtures of the rules' tests: a venture with a five-party rule, its suppliers, co-creators and an investor."""

from collections.abc import Callable
from typing import Any

import pytest

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Organisation, User
from makercloud.ledger.models import RuleVersion, SharingRule
from makercloud.ledger.services import rules as rule_services
from makercloud.ventures import services as ventures_services
from makercloud.ventures.models import Venture

FIVE_PARTIES = """# Bright Home — five parties
split sale, service
  5% to @platform
  10% to @co_creators by points
  30% to @suppliers by bom_cost
  5% to @investors by stake
  remaining to @venture
"""


@pytest.fixture
def venture(maker: User) -> Venture:
    return ventures_services.venture_found(actor=maker, name="Bright Home", mission="Lamps that listen.",
                                           origin="outside")


@pytest.fixture
def parties(make_person: Callable[..., User]) -> dict[str, Any]:
    sofia, kenji, hannah = make_person(name="Sofia"), make_person(name="Kenji"), make_person(name="Hannah")
    zhao, maria = make_person(name="Zhao", intent="user"), make_person(name="María", intent="user")
    return {
        "motors": accounts_services.organisation_create(actor=sofia, kind="supplier", name="Precision Motors"),
        "sensors": accounts_services.organisation_create(actor=kenji, kind="supplier", name="Sensorik"),
        "fund": accounts_services.organisation_create(actor=hannah, kind="investor", name="Northstar"),
        "sofia": sofia, "kenji": kenji, "hannah": hannah, "zhao": zhao, "maria": maria,
    }


@pytest.fixture
def rule(maker: User, venture: Venture, parties: dict[str, Any]) -> SharingRule:
    version = rule_services.rule_create(actor=maker, venture=venture.organisation, name="Sales", text=FIVE_PARTIES)
    rule = version.rule
    member = rule_services.MemberSpec
    rule_services.party_set_update(actor=maker, rule=rule, name="suppliers", members=[
        member(organisation=parties["motors"], weight=7_500), member(organisation=parties["sensors"], weight=2_500)])
    rule_services.party_set_update(actor=maker, rule=rule, name="co_creators", members=[
        member(person=parties["zhao"], weight=30), member(person=parties["maria"], weight=10)])
    rule_services.party_set_update(actor=maker, rule=rule, name="investors", members=[
        member(organisation=parties["fund"], weight=1)])
    return rule


def latest(rule: SharingRule) -> RuleVersion:
    return rule.versions.order_by("-number").first()  # type: ignore[return-value]


def organisation(venture: Venture) -> Organisation:
    return venture.organisation
