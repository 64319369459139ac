"""A dispatcher process killed in the middle of a request (after sending, before recording): the delivery is not
lost — once its lease expires it is sent again, with the same webhook-id — and never sent twice at once."""

import os
import subprocess
import sys
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from standardwebhooks import Webhook

from makercloud.developers.models import Delivery, DeliveryState, Grant, WebhookEndpoint
from makercloud.developers.services import webhooks
from makercloud.developers.tests.webhook_fixtures import *  # noqa: F403
from makercloud.developers.tests.webhook_fixtures import Receiver
from makercloud.devices import signals
from makercloud.devices.models import Device

DISPATCH = "import django; django.setup(); from makercloud.developers.services.webhooks import deliveries_dispatch; " \
           "deliveries_dispatch()"


def _database_url() -> str:
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.usefixtures("committed_db")
def test_a_dispatcher_killed_mid_request_loses_nothing(
    grant: Grant, endpoint: tuple[WebhookEndpoint, str], receiver: Receiver, device_pair: tuple[Device, Device],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with monkeypatch.context() as patched:
        patched.setattr(webhooks, "_nudge", lambda: None)  # no inline dispatch: the other process does it
        with transaction.atomic():
            signals.facts_publish(signals.DeviceFacts(
                events=[signals.Event(device_pair[0].pk, timezone.now(), "overheated", 99)]))
    receiver.stall = 10
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "makercloud.config.settings.default",
           "DATABASE_URL": _database_url(), "MAKERCLOUD_SECRET_KEY": settings.SECRET_KEY}
    dispatcher = subprocess.Popen([sys.executable, "-c", DISPATCH], env=env)
    try:
        assert len(receiver.wait_for(1, timeout=30)) == 1, "the dispatcher process sent nothing"
        dispatcher.kill()  # mid-request: sent, never recorded
        dispatcher.wait(10)
    finally:
        if dispatcher.poll() is None:
            dispatcher.kill()
    delivery = Delivery.objects.get()
    assert delivery.state == DeliveryState.SENDING and delivery.attempt_log.count() == 0

    receiver.stall = 0
    assert webhooks.deliveries_dispatch() == 0, "taken again while its lease held"
    Delivery.objects.filter(pk=delivery.pk).update(lease_until=timezone.now() - timedelta(seconds=1))  # 60 s later
    assert webhooks.deliveries_dispatch() == 1
    first, second = receiver.wait_for(2)
    assert first.headers["webhook-id"] == second.headers["webhook-id"] == delivery.message_id
    Webhook(endpoint[1]).verify(second.body, second.headers)
    delivery.refresh_from_db()
    assert delivery.state == DeliveryState.SUCCEEDED
    assert list(delivery.attempt_log.values_list("trigger", flat=True)) == ["recovered"]
