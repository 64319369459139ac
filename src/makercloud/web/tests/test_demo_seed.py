from makercloud.accounts.models import Membership, Organisation, User
from makercloud.core.models import Event
from makercloud.ventures.models import Venture
from makercloud.web import demo


def _counts() -> tuple[int, ...]:
    return (User.objects.count(), Organisation.objects.count(), Membership.objects.count(), Venture.objects.count(),
            Event.objects.count())


def test_the_demo_world_has_every_role_and_seeding_twice_changes_nothing(db):
    demo.seed(say=lambda line: None)
    first = _counts()
    demo.seed(say=lambda line: None)
    assert _counts() == first
    assert Venture.objects.count() == 3
    assert set(Organisation.objects.values_list("kind", flat=True)) == {"platform", "venture", "supplier", "investor"}
    operator = User.objects.get(email="operator@demo.makercloud.local")
    assert operator.check_password(demo.DEMO_PASSWORD) and operator.is_staff
    laundry = Venture.objects.get(organisation__name="Laundry Lab")
    assert laundry.organisation.memberships.count() == 2
