"""An app's live stream ends the moment its grant is revoked: nothing of the device reaches the app afterwards."""

import asyncio
from collections.abc import Callable
from typing import Any

from asgiref.sync import sync_to_async
from django.test import AsyncClient, Client
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.developers.models import Grant
from makercloud.developers.services import clients as services
from makercloud.developers.tests.test_oauth_support import build_world, register, token_for
from makercloud.devices.models import TelemetryPoint
from makercloud.devices.tests.test_device_stream import next_event


def test_the_stream_of_an_app_ends_when_the_user_revokes_the_grant(
    committed_db: None, make_person: Callable[..., User], client_for: Callable[[User], Client]
) -> None:
    world = build_world(make_person)
    app, _ = register(world)
    token = token_for(world, app, client_for(world.user), scopes=["events:subscribe"], devices=[world.lamp])
    grant = Grant.objects.get(app=app, person=world.user)

    async def scenario() -> list[Any]:
        response = await AsyncClient().get(f"/api/v1/devices/{world.lamp.pk}/stream",
                                           headers={"Authorization": f"Bearer {token['access_token']}"})
        assert response.status_code == 200
        chunks = aiter(response.streaming_content)
        assert (await next_event(chunks, "twin"))["id"] == world.lamp.pk
        await sync_to_async(TelemetryPoint.objects.create)(
            device=world.lamp, ts=timezone.now(), name="temperature", number=20.0, value=20.0)
        assert (await next_event(chunks, "telemetry"))["value"] == 20.0

        await sync_to_async(services.grant_revoke)(actor=world.user, grant=grant)
        await sync_to_async(TelemetryPoint.objects.create)(
            device=world.lamp, ts=timezone.now(), name="temperature", number=99.0, value=99.0)
        rest = []
        async def drain() -> None:
            async for chunk in chunks:
                rest.append(chunk)
        await asyncio.wait_for(drain(), timeout=10)  # the stream ends by itself
        return rest

    leftover = asyncio.run(scenario())
    assert not any(b"99.0" in (c if isinstance(c, bytes) else c.encode()) for c in leftover)
    refused = Client().get(f"/api/v1/devices/{world.lamp.pk}/stream",
                           HTTP_AUTHORIZATION=f"Bearer {token['access_token']}")
    assert refused.status_code == 401
