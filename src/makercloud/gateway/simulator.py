"""Virtual devices (`makercloud simulate`): sandbox devices that speak the device protocol as their model says.

Each one provisions itself in the model's venture sandbox, then, in one asyncio process for the whole fleet:
publishes telemetry that respects the model (a random walk inside each number's minimum/maximum, booleans that
sometimes flip, enums that sometimes change), applies desired state and reports it back, answers invocations with
plausible output, and reconnects (with back-off and jitter) when the broker goes away.
"""

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import aiomqtt

from makercloud.core import mqtt
from makercloud.core.errors import NotFound
from makercloud.devices.models import Device, DeviceModel
from makercloud.gateway.validation import schema_problem

logger = logging.getLogger(__name__)
EVENT_AFTER_ACTION = 5.0  # seconds (compressed time) from an action to the event that ends its work


class ModelNotFound(NotFound):
    type = "device-model-not-found"
    title = "No such device model"


def model_find(*, reference: str) -> DeviceModel:
    """A device model by id, or by key (its newest version)."""
    if reference.isdigit():
        model = DeviceModel.objects.filter(id=int(reference)).first()
    else:
        models = DeviceModel.objects.filter(key=reference).order_by("-version")
        owners = {m.organisation_id for m in models[:50]}
        if len(owners) > 1:
            raise ModelNotFound(f"several ventures have a model with the key {reference!r}; give its id")
        model = models.first()
    if model is None:
        raise ModelNotFound(f"no device model {reference!r}")
    return model


def _device_create(*, model: DeviceModel, name: str) -> tuple[Device, str]:
    """Provision a sandbox device through the devices services, acting as a manager of the model's venture."""
    from makercloud.accounts.models import Membership
    from makercloud.accounts.selectors import MANAGING_ROLES
    from makercloud.devices import services

    manager = (
        Membership.objects.filter(organisation=model.organisation, role__in=MANAGING_ROLES)
        .select_related("person").order_by("id").first()
    )
    if manager is None:
        raise ModelNotFound(f"nobody manages the venture of {model}; cannot provision its devices")
    device, secret, *_claim = services.device_provision(
        actor=manager.person, organisation=model.organisation, model=model, name=name, sandbox=True
    )
    return device, secret


def fleet_provision(*, model: DeviceModel, count: int) -> list[tuple[str, str]]:
    """`count` new sandbox devices of this model: (id, secret) pairs. Secrets stay in memory only."""
    return [
        (device.id, secret)
        for device, secret in (_device_create(model=model, name=f"sim-{model.key}-{n + 1}") for n in range(count))
    ]


# Values -----------------------------------------------------------------------------------------------------------


def plausible(schema: Any, rng: random.Random) -> Any:
    """A value that fits a WoT data schema (top level: type, minimum/maximum, enum, const; objects recursively)."""
    if not isinstance(schema, dict):
        return None
    if "const" in schema:
        return schema["const"]
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"])
    kind = schema.get("type")
    if kind in ("number", "integer"):
        low = schema.get("minimum", 0)
        high = schema.get("maximum", low + 100)
        value = rng.uniform(low, high)
        return round(value) if kind == "integer" else round(value, 2)
    if kind == "boolean":
        return rng.random() < 0.5
    if kind == "string":
        return "ok"
    if kind == "object":
        properties = schema.get("properties") or {}
        return {name: plausible(sub, rng) for name, sub in properties.items() if isinstance(sub, dict)}
    if kind == "array":
        return []
    return None


def _walk(schema: dict[str, Any], value: Any, rng: random.Random) -> Any:
    kind = schema.get("type")
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        return rng.choice(schema["enum"]) if rng.random() < 0.1 else value
    if kind in ("number", "integer"):
        low, high = schema.get("minimum"), schema.get("maximum")
        span = (high - low) if isinstance(low, int | float) and isinstance(high, int | float) else 10.0
        step = rng.gauss(0, span * 0.02 + (1 if kind == "integer" else 0))
        moved = value + step
        if isinstance(low, int | float):
            moved = max(low, moved)
        if isinstance(high, int | float):
            moved = min(high, moved)
        return round(moved) if kind == "integer" else round(moved, 2)
    if kind == "boolean":
        return (not value) if rng.random() < 0.05 else value
    return value


@dataclass
class Fleet:
    """What the running fleet has done (printed at the end and every so often)."""

    connected: int = 0
    published: int = 0
    desired_applied: int = 0
    invocations_answered: int = 0
    reconnects: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class VirtualDevice:
    def __init__(self, *, device_id: str, secret: str, document: dict[str, Any], rate: float, fleet: Fleet) -> None:
        self.id, self.secret, self.rate, self.fleet = device_id, secret, rate, fleet
        self.rng = random.Random(device_id)  # noqa: S311 - simulated readings, not secrets
        properties = document.get("properties") or {}
        self.properties = {
            name: schema for name, schema in properties.items()
            if isinstance(schema, dict) and not schema.get("writeOnly")
            and (schema.get("type") in ("number", "integer", "boolean") or isinstance(schema.get("enum"), list))
        }
        self.actions = {k: v for k, v in (document.get("actions") or {}).items() if isinstance(v, dict)}
        self.events = {k: v for k, v in (document.get("events") or {}).items() if isinstance(v, dict)}
        self.pending: set[asyncio.Task[None]] = set()
        self.writable = {
            name: schema
            for name, schema in properties.items()
            if isinstance(schema, dict) and not schema.get("readOnly")
        }
        self.state = {name: plausible(schema, self.rng) for name, schema in self.properties.items()}
        self.desired_version = 0

    async def run(self, address: mqtt.BrokerAddress, stop: asyncio.Event) -> None:
        delay = 1.0
        while not stop.is_set():
            try:
                async with aiomqtt.Client(
                    address.host, address.port, identifier=self.id, username=self.id, password=self.secret,
                    keepalive=60, clean_session=True, timeout=10,
                ) as client:
                    self.fleet.connected += 1
                    delay = 1.0
                    try:
                        await client.subscribe(
                            [(f"devices/{self.id}/desired", 1), (f"devices/{self.id}/actions/invoke", 1)]
                        )
                        await self._talk(client, stop)
                    finally:
                        self.fleet.connected -= 1
            except aiomqtt.MqttError as error:
                if stop.is_set():
                    return
                self.fleet.reconnects += 1
                logger.debug("virtual device %s lost the broker: %s", self.id, error)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay * (0.5 + self.rng.random()))
                delay = min(delay * 2, 30.0)

    async def _talk(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        publisher = asyncio.create_task(self._publish_telemetry(client, stop))
        stopper = asyncio.create_task(stop.wait())
        listener = asyncio.create_task(self._listen(client))
        try:
            done, _pending = await asyncio.wait({publisher, stopper, listener}, return_when=asyncio.FIRST_COMPLETED)
            for task in done:
                if task is not stopper and task.exception() is not None:
                    raise task.exception()  # type: ignore[misc]
        finally:
            for task in (publisher, stopper, listener):
                task.cancel()
            await asyncio.gather(publisher, stopper, listener, return_exceptions=True)

    async def _publish_telemetry(self, client: aiomqtt.Client, stop: asyncio.Event) -> None:
        if not self.properties or self.rate <= 0:
            await stop.wait()
            return
        period = 1.0 / self.rate
        await asyncio.sleep(self.rng.random() * period)  # spread the fleet over the period
        while True:
            for name, schema in self.properties.items():
                self.state[name] = _walk(schema, self.state[name], self.rng)
            payload = {"ts": datetime.now(UTC).isoformat(), "values": dict(self.state)}
            await client.publish(f"devices/{self.id}/telemetry", json.dumps(payload), qos=1)
            self.fleet.published += 1
            await asyncio.sleep(period * (0.9 + 0.2 * self.rng.random()))

    async def _listen(self, client: aiomqtt.Client) -> None:
        async for message in client.messages:
            try:
                data = json.loads(message.payload)
            except (TypeError, ValueError):
                continue
            if not isinstance(data, dict):
                continue
            if message.topic.value.endswith("/desired"):
                await self._apply_desired(client, data)
            else:
                await self._answer(client, data)

    async def _apply_desired(self, client: aiomqtt.Client, data: dict[str, Any]) -> None:
        version, state = data.get("version"), data.get("state")
        if not isinstance(state, dict) or (isinstance(version, int) and version <= self.desired_version):
            return
        self.desired_version = version if isinstance(version, int) else self.desired_version
        applied = {
            name: value for name, value in state.items()
            if name in self.writable and schema_problem(self.writable[name], value, what=name) is None
        }
        self.state.update({k: v for k, v in applied.items() if k in self.state})
        reported = {**{k: v for k, v in self.state.items() if k in self.writable}, **applied}
        await client.publish(f"devices/{self.id}/reported", json.dumps({"state": reported}), qos=1)
        self.fleet.desired_applied += 1

    async def _answer(self, client: aiomqtt.Client, data: dict[str, Any]) -> None:
        invocation_id, action = data.get("id"), data.get("action")
        if not isinstance(invocation_id, str):
            return
        affordance = self.actions.get(action) if isinstance(action, str) else None
        if affordance is None:
            reply: dict[str, Any] = {"id": invocation_id, "status": "error", "error": f"no action {action!r}"}
        else:
            reply = {"id": invocation_id, "status": "ok", "output": plausible(affordance.get("output"), self.rng)}
            if self.events:  # the work an action starts ends, in compressed time, with one of the model's events
                delay = EVENT_AFTER_ACTION * (1 + self.rng.random())
                task = asyncio.create_task(self._event_later(client, delay=delay))
                self.pending.add(task)
                task.add_done_callback(self.pending.discard)
        await client.publish(f"devices/{self.id}/actions/reply", json.dumps(reply), qos=1)
        self.fleet.invocations_answered += 1

    async def _event_later(self, client: aiomqtt.Client, *, delay: float) -> None:
        await asyncio.sleep(delay)
        name = self.rng.choice(sorted(self.events))
        payload = {"ts": datetime.now(UTC).isoformat(), "data": plausible(self.events[name].get("data"), self.rng)}
        with contextlib.suppress(aiomqtt.MqttError):
            await client.publish(f"devices/{self.id}/events/{name}", json.dumps(payload), qos=1)
            self.fleet.counts["events"] = self.fleet.counts.get("events", 0) + 1


async def fleet_run(
    *, devices: list[tuple[str, str]], document: dict[str, Any], rate: float, url: str | None,
    stop: asyncio.Event, say: Callable[[str], None] = print, report_every: float = 10.0,
) -> Fleet:
    """Run the virtual devices until `stop` is set."""
    fleet = Fleet()
    address = mqtt.broker_address(url)
    tasks = []
    for n, (device_id, secret) in enumerate(devices):
        device = VirtualDevice(device_id=device_id, secret=secret, document=document, rate=rate, fleet=fleet)
        tasks.append(asyncio.create_task(device.run(address, stop)))
        if n % 100 == 99:
            await asyncio.sleep(0.05)  # do not storm the broker with a thousand CONNECTs at once
    while not stop.is_set():
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=report_every)
        say(
            f"virtual devices: {fleet.connected}/{len(devices)} connected, {fleet.published} published, "
            f"{fleet.desired_applied} desired applied, {fleet.invocations_answered} invocations answered, "
            f"{fleet.reconnects} reconnects"
        )
    await asyncio.gather(*tasks, return_exceptions=True)
    return fleet
