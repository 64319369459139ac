import pytest

from makercloud.accounts import selectors, services
from makercloud.accounts.errors import NotOperator
from makercloud.core.models import Event


def test_only_an_operator_verifies_an_organisation_and_the_decision_is_public(maker, operator):
    supplier = services.organisation_create(actor=maker, kind="supplier", name="Sensorik")
    assert supplier in selectors.organisations_awaiting_verification()
    with pytest.raises(NotOperator):
        services.organisation_verify(actor=maker, organisation=supplier, approve=True)
    services.organisation_verify(actor=operator, organisation=supplier, approve=False, note="No ISO 9001 papers")
    supplier.refresh_from_db()
    assert supplier.verification == "rejected" and supplier.verification_note == "No ISO 9001 papers"
    event = Event.objects.get(kind="organisation.rejected")
    assert event.public and event in selectors.events_visible_to(viewer=None)


def test_a_person_reads_public_events_and_their_organisations_but_not_others(maker, make_person, operator):
    other = make_person("other@example.com")
    theirs = services.organisation_create(actor=other, kind="supplier", name="Theirs")
    services.invitation_create(actor=other, organisation=theirs, email="someone@example.com")
    private = Event.objects.get(kind="invitation.sent")
    assert private not in selectors.events_visible_to(viewer=maker)
    assert private in selectors.events_visible_to(viewer=other)
    assert private in selectors.events_visible_to(viewer=operator)
