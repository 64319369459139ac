"""grants_covering: which active grants reach which devices (webhooks and automations rely on it)."""

from makercloud.developers.selectors.clients import grants_covering
from makercloud.developers.services import clients as services
from makercloud.developers.tests.test_oauth_support import World, register, world  # noqa: F401
from makercloud.devices import services as devices_services


def test_only_active_grants_of_the_asked_devices_are_returned(world: World) -> None:  # noqa: F811
    app, _ = register(world)
    active = services.grant_consent(person=world.user, app=app, scopes=["devices:read"],
                                    device_ids=[world.lamp.pk, world.other.pk])
    revoked = services.grant_consent(person=world.maker, app=app, scopes=["devices:read"],
                                     device_ids=[world.virtual.pk])
    services.grant_revoke(actor=world.maker, grant=revoked)

    covering = grants_covering(device_ids=[world.lamp.pk, world.other.pk, world.virtual.pk])

    assert {device_id: [g.pk for g in grants] for device_id, grants in covering.items()} == {
        world.lamp.pk: [active.pk], world.other.pk: [active.pk]
    }
    assert covering[world.lamp.pk][0].app == app
    assert grants_covering(device_ids=[]) == {}


def test_a_device_that_changes_hands_leaves_the_grants_of_its_former_owner(world: World) -> None:  # noqa: F811
    app, _ = register(world)
    grant = services.grant_consent(person=world.user, app=app, scopes=["devices:read"],
                                   device_ids=[world.lamp.pk, world.other.pk])
    assert set(grants_covering(device_ids=[world.lamp.pk, world.other.pk])) == {world.lamp.pk, world.other.pk}
    devices_services.device_unbind(actor=world.user, device=world.other)
    covering = grants_covering(device_ids=[world.lamp.pk, world.other.pk])
    assert list(covering) == [world.lamp.pk] and covering[world.lamp.pk] == [grant]
    assert list(grant.devices.all()) == [world.lamp]


def test_a_venture_members_grant_of_a_virtual_device_covers_it(world: World) -> None:  # noqa: F811
    app, _ = register(world)
    grant = services.grant_consent(person=world.maker, app=app, scopes=["devices:read"],
                                   device_ids=[world.virtual.pk])
    assert grants_covering(device_ids=[world.virtual.pk]) == {world.virtual.pk: [grant]}
