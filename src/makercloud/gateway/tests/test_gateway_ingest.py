"""The gateway: real devices' messages land in the devices tables; everything else is counted and dropped."""

import json
import time
from datetime import timedelta
from typing import Any

from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from makercloud.devices import signals
from makercloud.devices.models import Device, DeviceEvent, Invocation, TelemetryPoint
from makercloud.gateway.models import Rejection
from makercloud.gateway.selectors import rejections_for
from makercloud.gateway.tests.conftest import Fleet, device_client, dumps, publish_all, service_client, wait_for
from makercloud.gateway.validation import MAX_PAYLOAD
from makercloud.gateway.worker import Gateway, GatewayOptions, Message


def _processed(gateway: Gateway, count: int, timeout: float = 20) -> None:
    assert wait_for(lambda: gateway.counters["received"] >= count and not gateway.inbox.qsize(), timeout=timeout), (
        f"the gateway processed {gateway.counters['received']} of {count}"
    )


def _rejected(gateway: Gateway) -> int:
    return sum(v for k, v in gateway.counters.items() if k.startswith("rejected."))


def test_a_real_device_sends_telemetry_state_events_and_replies(fleet: Fleet, start_mosquitto: Any,
                                                                 run_gateway: Any) -> None:
    device, _ = fleet.device()
    invocation = Invocation.objects.create(device=device, action="reboot", deadline_at=timezone.now()
                                           + timedelta(minutes=1))
    broker = start_mosquitto()
    gateway = run_gateway(broker.url)
    thermostat = device_client(broker, fleet, device)
    publish_all(thermostat, [
        (f"devices/{device.id}/telemetry", dumps({"values": {"temperature": 21.5, "on": True}})),
        (f"devices/{device.id}/telemetry",
         dumps([{"ts": "2026-01-02T03:04:05Z", "values": {"temperature": 19}}, {"values": {"mode": "eco"}}])),
        (f"devices/{device.id}/reported", dumps({"state": {"target": 21, "mode": "heat"}})),
        (f"devices/{device.id}/reported", dumps({"state": {"target": 22}})),
        (f"devices/{device.id}/events/alarm", dumps({"data": 70})),
        (f"devices/{device.id}/actions/reply", dumps({"id": str(invocation.id), "status": "ok",
                                                       "output": {"uptime": 5}})),
    ])
    _processed(gateway, 6)
    thermostat.loop_stop()

    points = sorted(TelemetryPoint.objects.filter(device=device).values_list("name", "value", "number"))
    assert points == [("mode", "eco", None), ("on", True, 1.0), ("temperature", 19, 19.0),
                      ("temperature", 21.5, 21.5)]
    assert TelemetryPoint.objects.get(device=device, value=19).ts.isoformat() == "2026-01-02T03:04:05+00:00"
    device.refresh_from_db()
    assert device.reported == {"target": 22, "mode": "heat"}
    assert device.online and device.last_seen_at and timezone.now() - device.last_seen_at < timedelta(seconds=30)
    assert list(DeviceEvent.objects.filter(device=device).values_list("name", "data")) == [("alarm", 70)]
    invocation.refresh_from_db()
    assert (invocation.status, invocation.output) == ("ok", {"uptime": 5})
    assert gateway.counters["accepted"] == 6 and _rejected(gateway) == 0


def test_on_the_embedded_broker_presence_follows_the_connection(fleet: Fleet, amqtt_broker: Any,
                                                                run_gateway: Any) -> None:
    device, _ = fleet.device()
    gateway = run_gateway(amqtt_broker.url, presence="broker")
    thermostat = device_client(amqtt_broker, fleet, device)
    assert wait_for(lambda: Device.objects.get(id=device.id).online, timeout=5), "not online after connecting"
    publish_all(thermostat, [(f"devices/{device.id}/telemetry", dumps({"values": {"temperature": 20}}))])
    _processed(gateway, 1)
    assert TelemetryPoint.objects.filter(device=device, name="temperature").count() == 1
    thermostat.disconnect()
    thermostat.loop_stop()
    assert wait_for(lambda: not Device.objects.get(id=device.id).online, timeout=5), "still online"


def test_bad_messages_are_counted_per_device_and_reason(fleet: Fleet, start_mosquitto: Any,
                                                        run_gateway: Any) -> None:
    device, _ = fleet.device()
    broker = start_mosquitto()
    gateway = run_gateway(broker.url)
    thermostat = device_client(broker, fleet, device)
    telemetry = f"devices/{device.id}/telemetry"
    big = b'{"values": {"mode": "' + b"x" * MAX_PAYLOAD + b'"}}'
    publish_all(thermostat, [
        (telemetry, big),
        (telemetry, b"not json"),
        (telemetry, dumps({"values": {"temperature": 99}})),  # over the model's maximum
        (telemetry, dumps({"values": {"humidity": 40}})),  # no such property
        (telemetry, dumps({"temperature": 20})),  # not the topic's shape
        (f"devices/{device.id}/actions/reply", dumps({"id": "00000000-0000-0000-0000-000000000000",
                                                      "status": "ok"})),
        (telemetry, dumps({"values": {"temperature": 20}})),  # and a good one still gets through
    ])
    _processed(gateway, 7)
    thermostat.loop_stop()
    counts = dict(rejections_for(organisation=fleet.organisation).values_list("reason", "count"))
    assert counts == {"too-large": 1, "not-json": 1, "invalid-value": 1, "unknown-name": 1, "bad-shape": 1,
                      "unknown-invocation": 1}
    assert TelemetryPoint.objects.filter(device=device).count() == 1
    assert gateway.counters["accepted"] == 1 and _rejected(gateway) == 6


def test_a_device_over_its_rate_is_limited_and_told(fleet: Fleet, start_mosquitto: Any, run_gateway: Any) -> None:
    device, _ = fleet.device()
    broker = start_mosquitto()
    gateway = run_gateway(broker.url, rate=1.0, burst=5.0)
    thermostat = device_client(broker, fleet, device)
    publish_all(thermostat, [(f"devices/{device.id}/telemetry", dumps({"values": {"n": n}})) for n in range(30)])
    _processed(gateway, 30)
    thermostat.loop_stop()
    limited = Rejection.objects.get(device=device, reason="rate-limited").count
    stored = TelemetryPoint.objects.filter(device=device).count()
    assert stored + limited == 30
    assert 5 <= stored <= 8  # the burst, and what the rate refilled while they arrived
    assert gateway.counters["rejected.rate-limited"] == limited


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_names = st.sampled_from(["temperature", "target", "mode", "on", "n", "humidity", ""]) | st.text(max_size=8)
_payloads = st.one_of(
    st.binary(max_size=300),
    _json.map(lambda v: json.dumps(v).encode()),
    st.dictionaries(st.sampled_from(["ts", "values", "state", "data", "id", "status", "x"]), _json, max_size=3)
    .map(lambda v: json.dumps(v).encode()),
    st.fixed_dictionaries({"values": st.dictionaries(_names, _json, min_size=1, max_size=3)},
                          optional={"ts": st.text(max_size=30) | _json})
    .map(lambda v: json.dumps(v).encode()),
)
# every topic the gateway subscribes to (on others the broker has nobody to deliver to)
_topics = st.sampled_from(["telemetry", "reported", "events/alarm", "events/nothing", "actions/reply"])


def test_ten_thousand_malformed_payloads_are_all_counted(fleet: Fleet, start_mosquitto: Any,
                                                         run_gateway: Any) -> None:
    device, _ = fleet.device()
    messages: list[tuple[str, bytes]] = []

    @settings(max_examples=10_000, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(topic=_topics, payload=_payloads)
    def generate(topic: str, payload: bytes) -> None:
        messages.append((f"devices/{device.id}/{topic}", payload))

    generate()
    broker = start_mosquitto()
    gateway = run_gateway(broker.url, rate=1e9, burst=1e9)
    platform = service_client(broker)  # the service account may publish anything under devices/
    publish_all(platform, messages)
    _processed(gateway, len(messages), timeout=60)

    assert len(messages) >= 9_000
    assert gateway.counters["received"] == len(messages)
    assert gateway.counters["accepted"] + _rejected(gateway) == len(messages)
    assert gateway.counters["errors"] == 0
    counted = sum(Rejection.objects.filter(device=device).values_list("count", flat=True))
    assert counted == _rejected(gateway)
    # and it is still up and ingesting
    publish_all(platform, [(f"devices/{device.id}/telemetry", dumps({"values": {"n": 424242}}))])
    assert wait_for(lambda: TelemetryPoint.objects.filter(device=device, number=424242).exists(), timeout=10)
    platform.loop_stop()


def test_a_redelivered_message_already_committed_is_not_written_twice(fleet: Fleet) -> None:
    device, _ = fleet.device()
    topic = f"devices/{device.id}/telemetry"
    first = Gateway(GatewayOptions(client_id="dedup-gw"))
    first._prepare()
    first._handle([Message(topic, dumps({"values": {"n": 1}}), 7, 1, False, time.time()),
                   Message(topic, dumps({"values": {"n": 2}}), 8, 1, False, time.time())])
    # the process dies before its PUBACKs leave; a new one gets both again, with DUP set and their packet ids
    second = Gateway(GatewayOptions(client_id="dedup-gw"))
    second._prepare()
    second._handle([Message(topic, dumps({"values": {"n": 1}}), 7, 1, True, time.time()),
                    Message(topic, dumps({"values": {"n": 2}}), 8, 1, True, time.time()),
                    Message(topic, dumps({"values": {"n": 3}}), 7, 1, True, time.time())])  # a new one on mid 7
    assert sorted(TelemetryPoint.objects.filter(device=device).values_list("number", flat=True)) == [1, 2, 3]
    assert second.counters["duplicates"] == 2
    # the same bytes again without DUP are a new message (a device may repeat itself)
    second._handle([Message(topic, dumps({"values": {"n": 2}}), 9, 1, False, time.time())])
    assert TelemetryPoint.objects.filter(device=device, number=2).count() == 2


def test_gateways_with_shared_subscriptions_split_the_stream(fleet: Fleet, start_mosquitto: Any,
                                                             run_gateway: Any) -> None:
    device, _ = fleet.device()
    broker = start_mosquitto()
    first = run_gateway(broker.url, shared=True, rate=1e9, burst=1e9)
    second = run_gateway(broker.url, shared=True, rate=1e9, burst=1e9)
    thermostat = device_client(broker, fleet, device)
    publish_all(thermostat, [(f"devices/{device.id}/telemetry", dumps({"values": {"n": n}})) for n in range(400)])
    assert wait_for(lambda: first.counters["accepted"] + second.counters["accepted"] >= 400, timeout=20)
    thermostat.loop_stop()
    time.sleep(0.3)
    assert sorted(TelemetryPoint.objects.filter(device=device).values_list("number", flat=True)) == list(range(400))
    assert first.counters["accepted"] > 0 and second.counters["accepted"] > 0


def test_presence_facts_are_told_once_per_change(fleet: Fleet, amqtt_broker: Any, run_gateway: Any) -> None:
    """What webhooks and automations hear (device.online/offline): a change, once — not every batch a device is in,
    although the gateway no longer asks the database about devices it has itself just stored as online."""
    told: list[dict[str, bool]] = []

    def hear(sender: Any, *, facts: signals.DeviceFacts, **kwargs: Any) -> None:
        if facts.presence:
            told.append(dict(facts.presence))

    signals.device_facts.connect(hear, dispatch_uid="test.presence")
    try:
        device, _ = fleet.device()
        gateway = run_gateway(amqtt_broker.url, presence="broker")
        thermostat = device_client(amqtt_broker, fleet, device)
        for n in range(5):  # five batches
            publish_all(thermostat, [(f"devices/{device.id}/telemetry", dumps({"values": {"n": n}}))])
            _processed(gateway, n + 1)
        thermostat.disconnect()
        thermostat.loop_stop()
        assert wait_for(lambda: not Device.objects.get(id=device.id).online, timeout=5)
        again = device_client(amqtt_broker, fleet, device)
        publish_all(again, [(f"devices/{device.id}/telemetry", dumps({"values": {"n": 9}}))])
        _processed(gateway, 6)
        again.loop_stop()
        assert wait_for(lambda: len(told) >= 3, timeout=5)
        assert told == [{device.id: True}, {device.id: False}, {device.id: True}]
    finally:
        signals.device_facts.disconnect(dispatch_uid="test.presence")
