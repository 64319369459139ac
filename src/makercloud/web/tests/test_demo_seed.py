from makercloud.accounts.models import Membership, Organisation, User
from makercloud.core.models import Event
from makercloud.devices.models import Device
from makercloud.gateway import auth
from makercloud.ventures.models import Venture
from makercloud.web import demo


def _counts() -> tuple[int, ...]:
    return (User.objects.count(), Organisation.objects.count(), Membership.objects.count(), Venture.objects.count(),
            Device.objects.count(), Event.objects.count())


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


def test_demo_appliances_live_in_users_homes_and_their_fleet_can_connect(db):
    demo.seed(say=lambda line: None)
    home = Device.objects.filter(owner__email="zhao.lei@demo.makercloud.local")
    assert home.count() == 3 and all(d.sandbox and d.model.title == "Smart washer" for d in home)
    fleets = demo.fleets()
    pairs = [pair for fleet in fleets for pair in fleet.devices]
    assert len(pairs) == Device.objects.count() == 5
    device_id, secret = pairs[0]
    assert auth.authenticate(client_id=device_id, username=device_id, password=secret) is not None
    # Secrets are rotated at each start: the previous one no longer opens the broker.
    demo.fleets()
    assert auth.authenticate(client_id=device_id, username=device_id, password=secret) is None


def test_demo_people_are_verified_and_support_ideas_one_of_them_posted(db):
    from makercloud.calls.models import Call, Support
    from makercloud.contracts import demo as contracts_demo

    demo.seed(say=lambda line: None)
    demo.seed(say=lambda line: None)
    assert not User.objects.filter(email__endswith=f"@{demo.DEMO_DOMAIN}", email_verified_at=None).exists()
    night_mode = Call.objects.get(title=contracts_demo.IDEA)
    assert Support.objects.filter(call=night_mode).count() == 4
    posted = Call.objects.get(title=demo.USER_IDEA)
    assert posted.kind == "idea" and posted.state == "open" and posted.owner.kind == "platform"
    assert posted.created_by.email == "maria.garcia@demo.makercloud.local"
    assert Support.objects.filter(call=posted).count() == 3
    # every demo person can support: one who has not yet, does
    from makercloud.calls.services import kinds as kind_services

    progress = kind_services.support_add(actor=User.objects.get(email="li.wei@demo.makercloud.local"), call=posted)
    assert progress.supports == 4
