"""The live streams (Server-Sent Events): the twin first, then telemetry and events as they are written."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.utils import timezone

from makercloud.accounts.models import User
from makercloud.devices import services
from makercloud.devices.models import Device, DeviceEvent, TelemetryPoint


async def next_event(chunks: AsyncIterator[bytes], kind: str, timeout: float = 5.0) -> dict[str, Any]:
    async def read() -> dict[str, Any]:
        async for chunk in chunks:
            text = chunk.decode()
            if text.startswith(f"event: {kind}\n"):
                data = next(line for line in text.splitlines() if line.startswith("data: "))
                return json.loads(data.removeprefix("data: "))
        raise AssertionError("the stream ended")

    return await asyncio.wait_for(read(), timeout)


def test_the_device_stream_yields_twin_telemetry_and_events(committed_db: None, maker: User, device: Device) -> None:
    async def scenario() -> None:
        client = AsyncClient()
        await client.aforce_login(maker)
        response = await client.get(f"/api/v1/devices/{device.pk}/stream")
        assert response.status_code == 200 and response["Content-Type"] == "text/event-stream"
        chunks = aiter(response.streaming_content)
        twin = await next_event(chunks, "twin")
        assert twin["id"] == device.pk and twin["desired_version"] == 0

        await sync_to_async(TelemetryPoint.objects.create)(
            device=device, ts=timezone.now(), name="temperature", number=21.5, value=21.5)
        point = await next_event(chunks, "telemetry")
        assert (point["device"], point["property"], point["value"]) == (device.pk, "temperature", 21.5)

        await sync_to_async(DeviceEvent.objects.create)(device=device, ts=timezone.now(), name="overheated", data=90)
        assert (await next_event(chunks, "event"))["data"] == 90

        await sync_to_async(services.device_set_desired)(actor=maker, device=device, state={"on": True})
        changed = await next_event(chunks, "twin")
        assert changed["desired_version"] == 1 and changed["delta"] == {"on": True}
        await chunks.aclose()  # type: ignore[attr-defined]

    asyncio.run(scenario())


def test_a_strangers_stream_is_404(committed_db: None, make_person: Any, device: Device) -> None:
    stranger = make_person()

    async def scenario() -> int:
        client = AsyncClient()
        await client.aforce_login(stranger)
        return (await client.get(f"/api/v1/devices/{device.pk}/stream")).status_code

    assert asyncio.run(scenario()) == 404


def test_the_home_stream_covers_the_owners_devices(
    committed_db: None, make_person: Any, provisioned: tuple[Device, str, str]
) -> None:
    device, _secret, code = provisioned
    owner = make_person()
    services.device_claim(actor=owner, code=code)

    async def scenario() -> dict[str, Any]:
        client = AsyncClient()
        await client.aforce_login(owner)
        response = await client.get("/api/v1/me/home/stream")
        chunks = aiter(response.streaming_content)
        try:
            return await next_event(chunks, "twin")
        finally:
            await chunks.aclose()  # type: ignore[attr-defined]

    assert asyncio.run(scenario())["id"] == device.pk
