import pytest

from makercloud.accounts import selectors as accounts_selectors
from makercloud.accounts.errors import NotOrganisationManager
from makercloud.core.errors import InvalidInput
from makercloud.ventures import selectors, services
from makercloud.ventures.models import Venture


def test_a_maker_founds_a_venture_owns_it_and_it_is_listed_publicly(maker):
    venture = services.venture_found(actor=maker, name="Laundry Lab", mission="Washers that learn.", origin="employee")
    assert accounts_selectors.role_in(person=maker, organisation=venture.organisation) == "owner"
    listed = selectors.ventures_public().get(pk=venture.pk)
    assert listed.name == "Laundry Lab" and listed.member_count == 1 and listed.slug == "laundry-lab"
    events = accounts_selectors.events_of(viewer=None, subject_type="venture", subject_id=venture.pk)
    assert [e.kind for e in events] == ["venture.founded"]


def test_two_ventures_with_one_name_get_distinct_addresses(maker):
    first = services.venture_found(actor=maker, name="Cool Air", mission="Quiet AC.", origin="outside")
    second = services.venture_found(actor=maker, name="Cool Air", mission="Also quiet.", origin="outside")
    assert (first.slug, second.slug) == ("cool-air", "cool-air-2")


def test_bad_input_is_refused_and_nothing_is_half_written(maker):
    with pytest.raises(InvalidInput):
        services.venture_found(actor=maker, name="X", mission="x", origin="somewhere")
    with pytest.raises(InvalidInput):
        services.venture_found(actor=maker, name="  ", mission="x", origin="outside")
    with pytest.raises(InvalidInput):
        services.venture_found(actor=maker, name="Y", mission=" ", origin="outside")
    assert not Venture.objects.exists() and not accounts_selectors.organisations_of(person=maker).exists()


def test_only_managers_change_a_venture(maker, make_person):
    venture = services.venture_found(actor=maker, name="Kitchen", mission="Less waste.", origin="employee")
    outsider = make_person("outsider@example.com")
    with pytest.raises(NotOrganisationManager):
        services.venture_update(actor=outsider, venture=venture, mission="Hijacked")
    services.venture_update(actor=maker, venture=venture, name="Kitchen Co-create", mission="Less food waste.")
    venture.refresh_from_db()
    venture.organisation.refresh_from_db()
    assert (venture.name, venture.mission) == ("Kitchen Co-create", "Less food waste.")
