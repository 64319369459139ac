"""Fixtures of the journal's tests: a venture, a person and their CNY accounts."""

from typing import Any

import pytest

from makercloud.accounts import services as accounts_services
from makercloud.accounts.models import Organisation, User
from makercloud.ledger.models import Account, AccountPurpose
from makercloud.ledger.services.journal import account_open
from makercloud.ventures import services as ventures_services


@pytest.fixture
def venture_org(maker: User) -> Organisation:
    """A venture's organisation (the books transfers are in); its Venture is `venture_org.venture`."""
    return ventures_services.venture_found(actor=maker, name="Bright Home", mission="Lamps that listen.",
                                           origin="outside").organisation


@pytest.fixture
def accounts(db: Any, maker: User, venture_org: Organisation) -> dict[str, Account]:
    platform = accounts_services.platform_organisation()
    return {
        "clearing": account_open(organisation=platform, purpose=AccountPurpose.CLEARING, currency="CNY"),
        "revenue": account_open(organisation=platform, purpose=AccountPurpose.PLATFORM_REVENUE, currency="CNY"),
        "venture": account_open(organisation=venture_org, purpose=AccountPurpose.VENTURE_OPERATING, currency="CNY"),
        "wallet": account_open(person=maker, purpose=AccountPurpose.USER_WALLET, currency="CNY"),
    }
