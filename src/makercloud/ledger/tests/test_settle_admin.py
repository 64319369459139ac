"""Revenue events through the admin: an operator enters a sale; it is settled under the rule in force."""

# ruff: noqa: F811  (fixtures imported from rules_fixtures)

from collections.abc import Callable
from typing import Any

import pytest
from django.test import Client

from makercloud.accounts.models import User
from makercloud.ledger.models import Settlement, SharingRule, Transfer
from makercloud.ledger.tests.rules_fixtures import parties, rule, venture  # noqa: F401
from makercloud.ventures.models import Venture

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff(make_person: Callable[..., User]) -> User:
    person = make_person(operator=True)
    person.is_staff = person.is_superuser = True
    person.save()
    return person


def test_an_operator_settles_a_sale_in_the_admin(staff: User, venture: Venture, rule: SharingRule,
                                                client_for: Callable[[User], Client], parties: dict[str, Any]) -> None:
    client = client_for(staff)
    form = {"event_id": "till-1", "venture": venture.organisation.pk, "kind": "sale", "revenue_class": "product",
            "amount_text": "2999.00", "currency": "CNY", "occurred_at": "2026-11-01 10:00:00"}
    response = client.post("/admin/ledger/settlement/add/", form)
    assert response.status_code == 302, response.context["adminform"].form.errors
    settlement = Settlement.objects.get(event_id="till-1")
    assert settlement.amount == 299_900
    assert sum(t.amount for t in Transfer.objects.filter(reference="till-1")) == 299_900
    assert client.get(f"/admin/ledger/settlement/{settlement.pk}/change/").status_code == 200

    refund = client.post("/admin/ledger/settlement/add/", {**form, "event_id": "till-1-r", "kind": "refund",
                                                            "amount_text": "3000.00", "refund_of_event": "till-1"})
    assert refund.status_code == 200 and "can still be refunded" in refund.content.decode()
    assert not Settlement.objects.filter(event_id="till-1-r").exists()
