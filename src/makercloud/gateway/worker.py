"""The gateway: subscribes as the platform, validates what devices send, writes it in batches (DESIGN §5, §6).

Delivery guarantee. The gateway holds a persistent MQTT session (fixed client id, clean_session=False) and
acknowledges QoS 1 messages itself (paho `manual_ack`), only after the batch holding their rows is committed. A
crash therefore loses nothing: the broker redelivers every message it has no PUBACK for. Such a redelivery carries
the DUP flag and its original packet id; the batch that committed it also recorded (packet id, digest of topic +
payload) in a `DeliveryBatch` row, in the same transaction, so a redelivered message that is already in the
database is acknowledged and not written again. (The one case this cannot tell apart: a message with the same
packet id and byte-identical topic and payload as the previous holder of that packet id, lost in the crash window.)

Access changes. The platform announces on `devices/{id}/access` (not shared: every gateway hears it) that a device
was disabled, enabled or given a new secret. The gateway forgets what it cached about the device, so its next
message is judged on the database's word (a disabled device's is rejected and counted), and, when it keeps
Mosquitto's files, rewrites them at once and has the broker reload them, which ends the device's live session.

Everything else is counted, never raised: each rejection lands, per device and reason, in `Rejection` (the
device's owner sees them) and in the counters (`GatewayStats`, GET /gateway/stats, and a log line).
"""

import contextlib
import hashlib
import logging
import queue
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError, close_old_connections, connection, transaction
from django.utils import timezone

from makercloud.core import mqtt
from makercloud.devices import ingest, signals
from makercloud.devices.models import Device, DeviceModel
from makercloud.gateway import auth, validation
from makercloud.gateway.models import DeliveryBatch, RejectionReason
from makercloud.gateway.presence import presence_drain
from makercloud.gateway.services import rejections_record, stats_save
from makercloud.gateway.validation import ModelValidator, Rejected

logger = logging.getLogger(__name__)

TOPICS = ("devices/+/telemetry", "devices/+/reported", "devices/+/events/+", "devices/+/actions/reply")
SHARE_GROUP = "makercloud"
KEEP_BATCHES = 200  # delivery batches kept per session; far more than the broker keeps in flight
DEVICE_TTL = 30.0  # seconds a device's model, owner and enabled flag are cached
MISSING_TTL = 5.0
_KEY = struct.Struct("<H8s")


@dataclass
class GatewayOptions:
    url: str | None = None  # default: settings.MQTT_URL
    client_id: str = "makercloud-gateway"
    shared: bool = False  # MQTT 5 shared subscriptions ($share/makercloud/...) for N gateways
    batch_size: int = 2000
    batch_wait: float = 0.005  # seconds a batch waits to fill (the writer thread batches the rest: while it commits,
    # the next batch gathers)
    rate: float = 20.0  # messages per second per device, sustained
    burst: float = 200.0  # ... and in a burst
    presence: str = "timeout"  # "broker": connect/disconnect notes from an in-process broker
    offline_after: float = 300.0  # timeout presence: offline when not seen this long
    stats_every: float = 10.0
    mosquitto_dir: Path | None = None  # keep Mosquitto's password and ACL files there
    mosquitto_pid: Path | None = None  # ... and SIGHUP the broker whose pid this file holds


@dataclass(slots=True)
class Message:
    topic: str
    payload: bytes
    mid: int
    qos: int
    dup: bool
    received: float  # time.time()


@dataclass
class _Prepared:
    """A validated batch on its way to the writer: its rows, and the delivery keys to commit with them."""

    messages: list[Message]
    batch: "_Batch"
    outcomes: list["_Batch | None"]
    keys: bytes
    at: datetime


@dataclass(slots=True)
class _Device:
    organisation_id: int
    model_id: int
    enabled: bool


@dataclass
class _Batch:
    """One batch's worth of rows, and per message what it contributed (to retry one by one if the batch fails)."""

    telemetry: list[ingest.TelemetryRow] = field(default_factory=list)
    twins: dict[str, ingest.TwinUpdate] = field(default_factory=dict)
    events: list[ingest.EventRow] = field(default_factory=list)
    replies: list[ingest.InvocationReply] = field(default_factory=list)
    rejections: dict[tuple[str, int, str], list[Any]] = field(default_factory=dict)
    tally: Counter[str] = field(default_factory=Counter)

    def reject(self, device_id: str, organisation_id: int, problem: Rejected, at: datetime) -> None:
        key = (device_id, organisation_id, problem.reason.value)
        if key in self.rejections:
            entry = self.rejections[key]
            entry[0] += 1
            entry[1], entry[2] = problem.detail, max(entry[2], at)
        else:
            self.rejections[key] = [1, problem.detail, at, at]

    def seen(self, device_id: str, at: datetime, *, reported: dict[str, Any] | None = None) -> None:
        twin = self.twins.get(device_id)
        if twin is None:
            twin = self.twins[device_id] = ingest.TwinUpdate(device_id=device_id, last_seen_at=at, online=True)
        elif twin.last_seen_at is None or at > twin.last_seen_at:
            twin.last_seen_at = at
        if reported is not None:
            twin.reported = {**(twin.reported or {}), **reported}
            twin.reported_at = at if twin.reported_at is None else max(at, twin.reported_at)



def _facts_publish(batch: _Batch, *, presence: dict[str, bool], unmatched: set[str]) -> None:
    """Tell the contexts that listen (webhooks, automations) what this batch stored, in its transaction."""
    if not signals.device_facts.has_listeners():
        return
    signals.facts_publish(
        signals.DeviceFacts(
            events=batch.events,
            readings=batch.telemetry,
            reported={d: t.reported for d, t in batch.twins.items() if t.reported},
            presence=presence,
            completions=[
                signals.Completion(r.device_id, r.invocation_id, "ok" if r.ok else "error")
                for r in batch.replies
                if r.invocation_id not in unmatched
            ],
            at=timezone.now(),
        )
    )


def _digest(message: Message) -> bytes:
    return hashlib.blake2b(message.topic.encode() + b"\0" + message.payload, digest_size=8).digest()


class _TokenBuckets:
    def __init__(self, *, rate: float, burst: float) -> None:
        self.rate, self.burst = rate, burst
        self._buckets: dict[str, list[float]] = {}

    def take(self, device_id: str, at: float) -> bool:
        bucket = self._buckets.get(device_id)
        if bucket is None:
            self._buckets[device_id] = [self.burst - 1, at]
            return True
        tokens = min(self.burst, bucket[0] + max(0.0, at - bucket[1]) * self.rate)
        bucket[1] = max(at, bucket[1])
        if tokens < 1:
            bucket[0] = tokens
            return False
        bucket[0] = tokens - 1
        return True


class Gateway:
    def __init__(self, options: GatewayOptions | None = None) -> None:
        self.options = options or GatewayOptions()
        self.inbox: queue.Queue[Message] = queue.Queue(maxsize=100_000)
        self.counters: Counter[str] = Counter()
        self.lag_ms = 0.0
        self.connected = False
        self.started_at = timezone.now()
        self._devices: dict[str, tuple[_Device | None, float]] = {}
        self._models: dict[int, ModelValidator] = {}
        self._buckets = _TokenBuckets(rate=self.options.rate, burst=self.options.burst)
        self._window: dict[int, bytes] = {}  # packet id -> digest of the last committed message with it
        self._offline_at: dict[str, datetime] = {}
        self._client: Any = None
        self._batches_since_prune = 0
        self._pending: dict[int, bytes] = {}  # packet id -> digest, validated but not yet committed
        self._access_lock = threading.Lock()
        self._online_until: dict[str, float] = {}  # device -> until when its stored online=True is trusted (writer)
        self._access_changed: set[str] = set()  # devices announced on devices/{id}/access, not yet looked up again

    # MQTT ------------------------------------------------------------------------------------------------------

    def _connect(self) -> None:
        import paho.mqtt.client as paho
        from paho.mqtt.packettypes import PacketTypes
        from paho.mqtt.properties import Properties

        options = self.options
        protocol = paho.MQTTv5 if options.shared else paho.MQTTv311
        client = mqtt.service_client(
            client_id=options.client_id, clean_session=False, protocol=protocol, manual_ack=True
        )
        client.max_inflight_messages_set(100)
        client.reconnect_delay_set(min_delay=1, max_delay=5)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        address = mqtt.broker_address(options.url)
        properties = None
        kwargs: dict[str, Any] = {}
        if protocol == paho.MQTTv5:
            properties = Properties(PacketTypes.CONNECT)
            properties.SessionExpiryInterval = 24 * 3600
            properties.ReceiveMaximum = 65535
            kwargs = {"clean_start": False, "properties": properties}
        client.connect_async(address.host, address.port, keepalive=30, **kwargs)
        client.loop_start()
        self._client = client

    def _on_connect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        if reason.is_failure:
            logger.error("the broker refused the gateway's connection: %s", reason)
            return
        self.connected = True
        prefix = f"$share/{SHARE_GROUP}/" if self.options.shared else ""
        client.subscribe([(prefix + topic, 1) for topic in TOPICS] + [(auth.ACCESS_FILTER, 1)])
        logger.info("gateway %s connected (session present: %s)", self.options.client_id, flags.session_present)

    def _on_disconnect(self, client: Any, userdata: Any, flags: Any, reason: Any, properties: Any) -> None:
        self.connected = False
        logger.warning("gateway %s lost the broker (%s); reconnecting", self.options.client_id, reason)

    def _on_message(self, client: Any, userdata: Any, message: Any) -> None:
        device_id = auth.access_device(message.topic)
        if device_id is not None:
            # Noted before any later message is queued, so those are judged afresh. Acknowledged at once: if this
            # note is lost in a crash, the restarted gateway has no cache and rewrites Mosquitto's files anyway.
            with self._access_lock:
                self._access_changed.add(device_id)
            if message.qos:
                client.ack(message.mid, message.qos)
            return
        self.inbox.put(Message(message.topic, message.payload, message.mid, message.qos, message.dup, time.time()))

    # Main loop -------------------------------------------------------------------------------------------------

    def run(self, stop: threading.Event) -> None:
        """Ingest until `stop` is set; then finish the batches in hand and disconnect (unacked messages stay queued).

        Two threads: this one validates a batch while the writer commits (and then acknowledges) the previous one.
        """
        self._prepare()
        self._connect()
        handoff: queue.Queue[_Prepared | None] = queue.Queue(maxsize=1)
        writer = threading.Thread(target=self._write_loop, args=(handoff,), name="gateway-writer", daemon=True)
        writer.start()
        last_stats = last_sweep = last_files = time.monotonic()
        try:
            while not stop.is_set() and writer.is_alive():
                messages = self._collect(stop)
                self._access_refresh()
                prepared = self._validate(messages)
                while prepared is not None and writer.is_alive():
                    try:
                        handoff.put(prepared, timeout=1)
                        prepared = None
                    except queue.Full:
                        continue
                now = time.monotonic()
                if now - last_stats >= self.options.stats_every:
                    self._report()
                    last_stats = now
                if self.options.presence == "timeout" and now - last_sweep >= 30:
                    self._sweep_offline()
                    last_sweep = now
                if self.options.mosquitto_dir and now - last_files >= 10:
                    self._sync_mosquitto()
                    last_files = now
        finally:
            with contextlib.suppress(queue.Full):
                handoff.put(None, timeout=30)
            writer.join(timeout=30)
            self._report()
            if self._client is not None:
                self._client.disconnect()
                self._client.loop_stop()
            connection.close()

    def _write_loop(self, handoff: "queue.Queue[_Prepared | None]") -> None:
        try:
            while (prepared := handoff.get()) is not None:
                self._commit(prepared)
        except Exception:
            # A bug, not bad input (that is counted) nor the database (that is retried). Stop ingesting: nothing
            # of this batch was acknowledged, so the broker redelivers it to the restarted gateway.
            logger.exception("the gateway's writer failed; the gateway stops")
        finally:
            connection.close()

    def _handle(self, messages: list[Message]) -> None:
        """Validate and commit one batch in this thread."""
        self._access_refresh()
        prepared = self._validate(messages)
        if prepared is not None:
            self._commit(prepared)

    def _prepare(self) -> None:
        while True:
            try:
                close_old_connections()
                recent = DeliveryBatch.objects.filter(session=self.options.client_id).order_by("-id")[:KEEP_BATCHES]
                for batch in reversed(list(recent)):
                    self._remember(bytes(batch.keys))
                if self.options.presence == "broker":
                    Device.objects.filter(online=True).update(online=False)
                if self.options.mosquitto_dir:
                    self._sync_mosquitto()
                return
            except (OperationalError, InterfaceError) as error:
                logger.warning("gateway waits for the database: %s", error)
                connection.close()
                time.sleep(1)

    def _collect(self, stop: threading.Event) -> list[Message]:
        batch: list[Message] = []
        try:
            batch.append(self.inbox.get(timeout=0.25))
        except queue.Empty:
            return batch
        deadline = time.monotonic() + self.options.batch_wait
        while len(batch) < self.options.batch_size:
            try:
                batch.extend(self._drain(self.options.batch_size - len(batch)))
                if len(batch) >= self.options.batch_size:
                    break
                left = deadline - time.monotonic()
                if left <= 0 or stop.is_set():
                    break
                batch.append(self.inbox.get(timeout=left))
            except queue.Empty:
                break
        return batch

    def _drain(self, most: int) -> list[Message]:
        out = []
        for _ in range(most):
            try:
                out.append(self.inbox.get_nowait())
            except queue.Empty:
                break
        return out

    def _remember(self, keys: bytes) -> None:
        """Committed: these (packet id, digest) pairs are in the database now."""
        for mid, digest in _KEY.iter_unpack(keys):
            self._window[mid] = digest
            if self._pending.get(mid) == digest:
                del self._pending[mid]

    def _already_stored(self, message: Message, digest: bytes) -> bool:
        """A redelivery of a message that is committed, or in the batch the writer is committing right now."""
        return message.dup and (self._window.get(message.mid) == digest or self._pending.get(message.mid) == digest)

    # One batch -------------------------------------------------------------------------------------------------

    def _validate(self, messages: list[Message]) -> _Prepared | None:
        notes = presence_drain()
        if not messages and not notes:
            return None
        while True:
            try:
                return self._validate_once(messages, notes)
            except (OperationalError, InterfaceError) as error:
                self.counters["db_retries"] += 1
                logger.warning("gateway cannot look up devices (%s); retrying", error)
                connection.close()
                time.sleep(1)

    def _validate_once(self, messages: list[Message], notes: dict[str, tuple[bool, datetime]]) -> _Prepared:
        now = timezone.now()
        close_old_connections()
        self._resolve({m.topic.split("/", 2)[1] for m in messages if m.topic.count("/") >= 2})
        batch, keys = _Batch(), bytearray()
        outcomes: list[_Batch | None] = []
        for message in messages:
            digest = _digest(message) if message.qos else b""
            if message.qos:
                keys += _KEY.pack(message.mid, digest)
            if message.qos and self._already_stored(message, digest):
                batch.tally["duplicates"] += 1
                continue
            outcomes.append(self._accept(message, batch, now))
        self._presence(batch, notes)
        for mid, digest in _KEY.iter_unpack(keys):
            self._pending[mid] = digest
        return _Prepared(messages, batch, outcomes, bytes(keys), now)

    def _commit(self, prepared: _Prepared) -> None:
        """Write one validated batch in one transaction, then acknowledge its messages."""
        while True:
            try:
                close_old_connections()
                counts = self._write(prepared)
                break
            except (OperationalError, InterfaceError) as error:
                # The database is away: nothing is acknowledged, so nothing is lost; try the same batch again.
                self.counters["db_retries"] += 1
                logger.warning("gateway cannot write a batch of %d (%s); retrying", len(prepared.messages), error)
                connection.close()
                time.sleep(1)
        self._remember(prepared.keys)
        if signals.device_facts.has_listeners():
            self._presence_stored(prepared.batch)
        if self._client is not None:
            for message in prepared.messages:
                if message.qos:
                    self._client.ack(message.mid, message.qos)
        self.counters.update(counts)
        self.counters["received"] += len(prepared.messages)
        self.counters["batches"] += 1
        if prepared.messages:
            self.lag_ms = (time.time() - prepared.messages[0].received) * 1000

    def _write(self, prepared: _Prepared) -> Counter[str]:
        """One transaction: the batch's rows, its rejections and its delivery keys. Returns what to count."""
        batch = prepared.batch
        try:
            with transaction.atomic():
                rejections, tally = self._store(batch, batch.rejections, batch.tally)
                if prepared.keys:
                    DeliveryBatch.objects.create(session=self.options.client_id, keys=prepared.keys)
            telemetry = len(batch.telemetry)
        except (OperationalError, InterfaceError):
            raise
        except DatabaseError as error:
            logger.warning("a batch did not fit the database (%s); writing it message by message", error)
            with transaction.atomic():
                rejections, tally, telemetry = self._store_one_by_one(prepared.outcomes, batch)
                if prepared.keys:
                    DeliveryBatch.objects.create(session=self.options.client_id, keys=prepared.keys)
        tally["telemetry_points"] += telemetry
        for (_device, _organisation, reason), entry in rejections.items():
            tally[f"rejected.{reason}"] += entry[0]
        self._prune()
        return tally

    def _store(
        self, batch: _Batch, rejections: dict[tuple[str, int, str], list[Any]], tally: Counter[str]
    ) -> tuple[dict[tuple[str, int, str], list[Any]], Counter[str]]:
        """Write a batch's rows; returns its rejections and tally with the replies that found no invocation."""
        presence = self._presence_changes(batch) if signals.device_facts.has_listeners() else {}
        ingest.telemetry_write(rows=batch.telemetry)
        ingest.twins_update(updates=list(batch.twins.values()))
        if batch.events:
            ingest.events_write(rows=batch.events)
        counted = _Batch(rejections={k: list(v) for k, v in rejections.items()}, tally=Counter(tally))
        unmatched: set[str] = set()
        if batch.replies:
            unmatched = ingest.invocation_replies_apply(replies=batch.replies)
            for reply in batch.replies:
                if reply.invocation_id in unmatched:
                    counted.tally["accepted"] -= 1
                    problem = Rejected(RejectionReason.UNKNOWN_INVOCATION, "no pending invocation with this id")
                    counted.reject(reply.device_id, self._organisation(reply.device_id), problem, reply.at)
        _facts_publish(batch, presence=presence, unmatched=unmatched)
        rejections_record(counts=counted.rejections)
        return counted.rejections, counted.tally

    def _store_one_by_one(
        self, outcomes: list[_Batch | None], whole: _Batch
    ) -> tuple[dict[tuple[str, int, str], list[Any]], Counter[str], int]:
        """The batch failed on some row: store each message alone, and reject those the database refuses."""
        counted = _Batch(rejections={k: list(v) for k, v in whole.rejections.items()}, tally=Counter(whole.tally))
        telemetry = 0
        now = timezone.now()
        for outcome in outcomes:
            if outcome is None:
                continue
            try:
                with transaction.atomic():
                    presence = self._presence_changes(outcome) if signals.device_facts.has_listeners() else {}
                    ingest.telemetry_write(rows=outcome.telemetry)
                    ingest.twins_update(updates=list(outcome.twins.values()))
                    ingest.events_write(rows=outcome.events)
                    unmatched = ingest.invocation_replies_apply(replies=outcome.replies)
                    _facts_publish(outcome, presence=presence, unmatched=unmatched)
            except (OperationalError, InterfaceError):
                raise
            except DatabaseError as error:
                device_id = next(iter(outcome.twins))
                problem = Rejected(RejectionReason.INVALID_VALUE, f"cannot be stored ({type(error).__name__})")
                counted.reject(device_id, self._organisation(device_id), problem, now)
                counted.tally["accepted"] -= 1
                continue
            telemetry += len(outcome.telemetry)
            for reply in outcome.replies:
                if reply.invocation_id in unmatched:
                    counted.tally["accepted"] -= 1
                    problem = Rejected(RejectionReason.UNKNOWN_INVOCATION, "no pending invocation with this id")
                    counted.reject(reply.device_id, self._organisation(reply.device_id), problem, reply.at)
        # last seen and presence of everyone in the batch (reported states were written with their messages)
        ingest.twins_update(
            updates=[
                ingest.TwinUpdate(device_id=t.device_id, last_seen_at=t.last_seen_at, online=t.online)
                for t in whole.twins.values()
            ]
        )
        rejections_record(counts=counted.rejections)
        return counted.rejections, counted.tally, telemetry

    def _presence_changes(self, batch: _Batch) -> dict[str, bool]:
        """The devices of a batch whose online state it changes; asked before the batch's twins are written.

        Devices this gateway has itself just stored as online are not asked about again (most of every batch):
        only the others cost a look-up."""
        wanted = {device_id: twin.online for device_id, twin in batch.twins.items() if twin.online is not None}
        now = time.monotonic()
        unsure = [d for d, online in wanted.items() if not (online and self._online_until.get(d, 0.0) > now)]
        if not unsure:
            return {}
        current = dict(Device.objects.filter(pk__in=unsure).values_list("pk", "online"))
        return {d: wanted[d] for d in unsure if current.get(d, wanted[d]) != wanted[d]}

    def _presence_stored(self, batch: _Batch) -> None:
        """After commit: the devices this batch stored as online are known to be, for a while (not past the time
        another gateway's sweep could mark them offline); those it stored as offline are not."""
        trust = time.monotonic() + min(DEVICE_TTL, self.options.offline_after / 2)
        for device_id, twin in batch.twins.items():
            if twin.online:
                self._online_until[device_id] = trust
            elif twin.online is False:
                self._online_until.pop(device_id, None)
        if len(self._online_until) > 200_000:
            now = time.monotonic()
            self._online_until = {k: v for k, v in self._online_until.items() if v > now}

    def _organisation(self, device_id: str) -> int:
        device = self._devices[device_id][0]
        assert device is not None
        return device.organisation_id

    def _accept(self, message: Message, batch: _Batch, now: datetime) -> _Batch | None:
        """Validate one message into the batch; returns its own contribution (None if rejected)."""
        received = datetime.fromtimestamp(message.received, UTC)
        try:
            topic = validation.topic_parse(message.topic)
        except Rejected as problem:
            batch.tally[f"rejected.{problem.reason.value}"] += 1
            return None
        device_id = topic.device_id
        cached = self._devices.get(device_id)
        device = cached[0] if cached else None
        if device is None:
            batch.tally[f"rejected.{RejectionReason.UNKNOWN_DEVICE.value}"] += 1
            return None
        own = _Batch()
        reported = None
        try:
            if not device.enabled:
                raise Rejected(RejectionReason.DISABLED)
            if not self._buckets.take(device_id, message.received):
                raise Rejected(RejectionReason.RATE_LIMITED, f"over {self.options.rate:g}/s")
            data = validation.payload_load(message.payload)
            model = self._model(device.model_id)
            if topic.kind == "telemetry":
                own.telemetry = [
                    ingest.TelemetryRow(device_id, ts, name, value)
                    for ts, name, value in validation.telemetry_parse(data, model=model, received=received)
                ]
            elif topic.kind == "reported":
                reported = validation.reported_parse(data, model=model)
            elif topic.kind == "event":
                ts, payload = validation.event_parse(data, name=topic.event, model=model, received=received)
                own.events.append(ingest.EventRow(device_id, ts, topic.event[:120], payload))
            else:
                reply = validation.reply_parse(data)
                own.replies.append(
                    ingest.InvocationReply(
                        device_id, reply.invocation_id, reply.ok, reply.output, reply.error, received
                    )
                )
        except Rejected as problem:
            batch.reject(device_id, device.organisation_id, problem, received)
            batch.seen(device_id, received)  # a device that talks is online, even if it talks nonsense
            return None
        except Exception:  # a bug must cost one message, never the gateway
            logger.exception("gateway failed on a message from %s", device_id)
            batch.tally["errors"] += 1
            return None
        own.seen(device_id, received, reported=reported)
        batch.telemetry += own.telemetry
        if own.events:
            batch.events += own.events
        if own.replies:
            batch.replies += own.replies
        batch.seen(device_id, received, reported=reported)
        batch.tally["accepted"] += 1
        return own

    def _presence(self, batch: _Batch, notes: dict[str, tuple[bool, datetime]]) -> None:
        for device_id, (online, at) in notes.items():
            if online:
                self._offline_at.pop(device_id, None)
            else:
                self._offline_at[device_id] = at
            twin = batch.twins.setdefault(device_id, ingest.TwinUpdate(device_id=device_id))
            twin.online = online
            if online:
                twin.last_seen_at = max(at, twin.last_seen_at) if twin.last_seen_at else at
        for device_id, update in batch.twins.items():
            gone = self._offline_at.get(device_id)
            if gone and device_id not in notes and update.last_seen_at and update.last_seen_at <= gone:
                update.online = None  # messages sent before the device disconnected do not bring it back

    def _prune(self) -> None:
        self._batches_since_prune += 1
        if self._batches_since_prune < 100:
            return
        self._batches_since_prune = 0
        newest = DeliveryBatch.objects.filter(session=self.options.client_id).order_by("-id").first()
        if newest is not None:
            DeliveryBatch.objects.filter(session=self.options.client_id, id__lte=newest.id - KEEP_BATCHES).delete()

    # Devices and models ----------------------------------------------------------------------------------------

    def _resolve(self, device_ids: Iterable[str]) -> None:
        now = time.monotonic()
        wanted = [d for d in device_ids if (c := self._devices.get(d)) is None or c[1] < now]
        for start in range(0, len(wanted), 500):
            chunk = wanted[start : start + 500]
            found = {
                row[0]: _Device(row[1], row[2], row[3])
                for row in Device.objects.filter(id__in=chunk).values_list(
                    "id", "organisation_id", "model_id", "enabled"
                )
            }
            for device_id in chunk:
                device = found.get(device_id)
                self._devices[device_id] = (device, now + (DEVICE_TTL if device else MISSING_TTL))
        if len(self._devices) > 200_000:
            self._devices = {k: v for k, v in self._devices.items() if v[1] >= now}

    def _access_refresh(self) -> None:
        """Forget the devices whose access changed (looked up again with their next message); for Mosquitto,
        rewrite its files now and have it reload them, which ends the sessions of the devices no longer let in."""
        with self._access_lock:
            changed, self._access_changed = self._access_changed, set()
        if not changed:
            return
        for device_id in changed:
            self._devices.pop(device_id, None)
        self.counters["access_changes"] += len(changed)
        if self.options.mosquitto_dir:
            self._sync_mosquitto()

    def _model(self, model_id: int) -> ModelValidator:
        model = self._models.get(model_id)
        if model is None:
            row = DeviceModel.objects.filter(id=model_id).values_list("document", "content_hash").first()
            document, content_hash = row if row is not None else ({}, "")
            model = self._models[model_id] = validation.model_validator(document, content_hash=content_hash)
        return model

    # Upkeep ----------------------------------------------------------------------------------------------------

    def snapshot(self) -> dict[str, Any]:
        return {
            **dict(sorted(self.counters.items())),
            "pending": self.inbox.qsize(),
            "lag_ms": round(self.lag_ms, 1),
            "connected": self.connected,
        }

    def _report(self) -> None:
        counters = self.snapshot()
        logger.info("gateway %s %s", self.options.client_id, " ".join(f"{k}={v}" for k, v in counters.items()))
        try:
            stats_save(
                instance=f"{self.options.client_id}@{socket.gethostname()}",
                started_at=self.started_at,
                counters=counters,
            )
        except DatabaseError as error:
            logger.warning("gateway cannot save its stats: %s", error)

    def _sweep_offline(self) -> None:
        cutoff = timezone.now() - timedelta(seconds=self.options.offline_after)
        try:
            with transaction.atomic():
                silent = Device.objects.filter(online=True, last_seen_at__lt=cutoff)
                if signals.device_facts.has_listeners():
                    gone = list(silent.select_for_update().values_list("pk", flat=True))
                    Device.objects.filter(pk__in=gone).update(online=False)
                    for device_id in gone:
                        self._online_until.pop(device_id, None)
                    signals.facts_publish(signals.DeviceFacts(presence=dict.fromkeys(gone, False)))
                else:
                    silent.update(online=False)
        except DatabaseError as error:
            logger.warning("gateway cannot mark silent devices offline: %s", error)

    def _sync_mosquitto(self) -> None:
        from makercloud.gateway import mosquitto

        assert self.options.mosquitto_dir is not None
        try:
            mosquitto.mosquitto_files_sync(directory=self.options.mosquitto_dir, pid_file=self.options.mosquitto_pid)
        except (OSError, DatabaseError) as error:
            logger.warning("gateway cannot update the Mosquitto files: %s", error)
