"""grants_covering: which active grants reach which devices (webhooks and automations rely on it)."""

from collections.abc import Callable

from oauth2_provider.models import Application

from makercloud.accounts.models import User
from makercloud.developers.models import App, Grant
from makercloud.developers.selectors.clients import grants_covering
from makercloud.devices import services as devices_services
from makercloud.devices.tests.conftest import LAMP
from makercloud.ventures import services as ventures_services


def test_only_active_grants_of_the_asked_devices_are_returned(
    maker: User, make_person: Callable[..., User]
) -> None:
    venture = ventures_services.venture_found(actor=maker, name="Laundry Lab", mission="Clean.", origin="outside")
    model, _ = devices_services.device_model_publish(actor=maker, organisation=venture.organisation, document=LAMP)
    one, two, three = (
        devices_services.device_provision(actor=maker, organisation=venture.organisation, model=model, name=n)[0]
        for n in ("one", "two", "three")
    )
    application = Application.objects.create(
        client_type="public", authorization_grant_type="authorization-code", redirect_uris="https://a.example/cb"
    )
    app = App.objects.create(venture=venture.organisation, name="A", client_type="public", application=application)
    alice, bob = make_person(), make_person()
    active = Grant.objects.create(app=app, person=alice, scopes=["devices:read"])
    active.devices.set([one, two])
    revoked = Grant.objects.create(app=app, person=bob, scopes=["devices:read"])
    revoked.devices.set([one, three])
    revoked.revoked_at = revoked.created_at
    revoked.save()

    covering = grants_covering(device_ids=[one.pk, two.pk, three.pk])

    assert {device_id: [g.pk for g in grants] for device_id, grants in covering.items()} == {
        one.pk: [active.pk], two.pk: [active.pk]
    }
    assert covering[one.pk][0].app == app
    assert grants_covering(device_ids=[]) == {}
