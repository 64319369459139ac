"""Supplier qualification: apply with documents, operators qualify or reject with reasons, qualifications lapse or
are withdrawn — and supplier_is_qualified (sourcing eligibility) follows."""
# ruff: noqa: F811  (fixtures imported from engine_fixtures)

from datetime import timedelta
from typing import Any

import pytest

from makercloud.accounts.errors import NotOperator
from makercloud.calls.errors import AlreadyApplied, WrongQualificationState
from makercloud.calls.models import QualificationState
from makercloud.calls.selectors.engine import supplier_is_qualified
from makercloud.calls.services import engine as services
from makercloud.calls.tests.engine_fixtures import Clock, clock, make_supplier, organisation  # noqa: F401
from makercloud.core.errors import InvalidInput
from makercloud.notifications.models import Notification

DOCS = [{"name": "ISO 9001", "url": "https://example.com/iso.pdf"}]


def test_a_qualification_lapses_at_valid_until(clock: Clock, make_supplier: Any, operator: Any) -> None:
    person, company = make_supplier("Motor Works")
    qualification = services.qualification_apply(actor=person, organisation=company, category="motors",
                                                  documents=DOCS)
    assert not supplier_is_qualified(organisation=company, category="motors")
    services.qualification_decide(actor=operator, qualification=qualification, qualified=True,
                                  reasons="Certificates in order.", valid_until=clock.now + timedelta(days=365))
    assert supplier_is_qualified(organisation=company, category="motors")
    assert not supplier_is_qualified(organisation=company, category="sensors")
    clock.advance(days=365)
    assert not supplier_is_qualified(organisation=company, category="motors")  # even before the job runs
    assert services.calls_tick()["lapsed"] == 1
    qualification.refresh_from_db()
    assert qualification.state == QualificationState.LAPSED
    assert Notification.objects.filter(person=person, title__contains="has lapsed").exists()
    # It can be applied for again.
    services.qualification_apply(actor=person, organisation=company, category="motors", documents=DOCS)


def test_operators_decide_with_reasons_and_can_withdraw(clock: Clock, make_supplier: Any, operator: Any) -> None:
    person, company = make_supplier("Sensor Co")
    qualification = services.qualification_apply(actor=person, organisation=company, category="sensors",
                                                  documents=DOCS)
    with pytest.raises(AlreadyApplied):
        services.qualification_apply(actor=person, organisation=company, category="sensors", documents=DOCS)
    with pytest.raises(NotOperator):
        services.qualification_decide(actor=person, qualification=qualification, qualified=True, reasons="Me!")
    with pytest.raises(InvalidInput):
        services.qualification_decide(actor=operator, qualification=qualification, qualified=True, reasons=" ")
    services.qualification_decide(actor=operator, qualification=qualification, qualified=True, reasons="Audited.")
    services.qualification_withdraw(actor=operator, qualification=qualification, reasons="Failed re-audit.")
    qualification.refresh_from_db()
    assert qualification.state == QualificationState.WITHDRAWN and qualification.reasons == "Failed re-audit."
    assert not supplier_is_qualified(organisation=company, category="sensors")
    with pytest.raises(WrongQualificationState):
        services.qualification_decide(actor=operator, qualification=qualification, qualified=True, reasons="Oops")


def test_only_supplier_organisations_with_documents_apply(maker: Any) -> None:
    venture = organisation(owner=maker, kind="venture")
    with pytest.raises(InvalidInput):
        services.qualification_apply(actor=maker, organisation=venture, category="motors", documents=DOCS)
    supplier = organisation(owner=maker, kind="supplier")
    with pytest.raises(InvalidInput):
        services.qualification_apply(actor=maker, organisation=supplier, category="motors", documents=[])
