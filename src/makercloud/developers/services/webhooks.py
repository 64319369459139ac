"""developers services (writes): webhooks — endpoints, the fan-out of device facts into deliveries, the dispatcher.

Deliveries follow Standard Webhooks: headers `webhook-id` (the event's `msg_…` id, the same on every attempt),
`webhook-timestamp` and `webhook-signature` (`v1,<base64 HMAC-SHA256>` of `id.timestamp.body`, signed with the
`standardwebhooks` library), body `{"type", "timestamp", "data"}`.

The database is the truth (DESIGN §6): the `device_facts` receiver writes `Delivery` rows in the transaction that
stores the facts; `deliveries_dispatch` claims due rows under a lease (FOR UPDATE SKIP LOCKED on PostgreSQL; the
single writer on SQLite), sends them with httpx, and records each attempt. A dispatcher that dies between sending and
recording leaves a lease that expires, and the delivery is sent again: at least once, never lost, never two attempts
of one delivery at the same time. Jobs only nudge: after the facts commit, and in a sweep every few seconds.
"""

import base64
import hashlib
import json
import logging
import random
import secrets
import time
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

import httpx
from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop
from standardwebhooks import Webhook

from makercloud.accounts.models import User
from makercloud.core.events import record_event
from makercloud.developers.errors import InvalidWebhookEndpoint, NotReplayable
from makercloud.developers.models import (
    EVENT_TYPES,
    App,
    Delivery,
    DeliveryAttempt,
    DeliveryState,
    WebhookEndpoint,
)
from makercloud.developers.services import clients, webhook_targets
from makercloud.devices.signals import DeviceFacts

logger = logging.getLogger(__name__)

SUBSCRIBE_SCOPE = "events:subscribe"
# Why a delivery was cancelled: stored in English (the API shows them so), translated on the pages.
CANCELLED_GRANT_REVOKED = gettext_noop("the grant that covered the device was revoked")
CANCELLED_ENDPOINT_DISABLED = gettext_noop("the endpoint is disabled")
# Back-off: the cap of each retry's delay; the delay is drawn uniformly below it (full jitter), at least MIN_DELAY.
RETRY_CAPS = tuple(
    timedelta(seconds=s) for s in (5, 30, 120, 600, 1800, 3600, 7200, 14400, 28800)
)  # then 8 h each, until the day is over
RETRY_WINDOW = timedelta(hours=24)  # a round of retries ends a day after it started: the delivery has failed
MIN_DELAY = timedelta(seconds=1)
LEASE = timedelta(seconds=60)  # how long a claimed delivery belongs to its dispatcher
SEND_BUDGET = 25.0  # seconds after which a response still arriving is cut off
TIMEOUT = httpx.Timeout(10.0, connect=5.0, pool=5.0)
# The longest a request can take: the budget, plus one last read (10 s) that may straddle it. A request is started
# only with at least this much lease left, so no other dispatcher can take the delivery while it is in flight.
SEND_WORST = 40.0
CIRCUIT_THRESHOLD = 5  # consecutive failures that open an endpoint's circuit
CIRCUIT_COOLDOWN = timedelta(minutes=5)  # how long an open circuit waits before one probe
PREVIOUS_SECRET_GRACE = timedelta(hours=24)  # after a rotation the old secret signs too, for a day
BATCH = 200  # deliveries claimed at once
SENDERS = 16  # requests in flight at once per dispatcher
DISPATCH_BUDGET = 30.0  # seconds one dispatch call keeps claiming new batches
REQUEST_BODY_LOG = 16 * 1024
RESPONSE_BODY_LOG = 4 * 1024
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}
SUBSCRIBERS_TTL = 5.0  # seconds the receiver trusts its list of apps with endpoints (this process forgets on writes)


# Secrets -------------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4)
def _fernet(secret_key: str) -> Fernet:
    key = hashlib.sha256(b"makercloud.developers.webhooks.signing-secret\0" + secret_key.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(key))


def secret_new() -> str:
    """A Standard Webhooks secret: `whsec_` and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def secret_seal(secret: str) -> str:
    return _fernet(settings.SECRET_KEY).encrypt(secret.encode()).decode()


def secret_open(sealed: str) -> str:
    """The clear secret; raises cryptography's InvalidToken when SECRET_KEY changed since it was sealed."""
    return _fernet(settings.SECRET_KEY).decrypt(sealed.encode()).decode()


def signature(*, secrets_: Iterable[str], message_id: str, at: datetime, body: str) -> str:
    """The webhook-signature header: one `v1,<base64>` per secret, separated by spaces."""
    return " ".join(Webhook(s).sign(msg_id=message_id, timestamp=at, data=body) for s in secrets_)


# Endpoints -----------------------------------------------------------------------------------------------------


def _ensure_maker(*, actor: User, app: App) -> None:
    """Endpoints and deliveries are changed by the app venture's owners and admins only (members and operators read
    them)."""
    clients.ensure_app_manager(actor=actor, venture=app.venture)


def _invalid(field: str, detail: str) -> InvalidWebhookEndpoint:
    return InvalidWebhookEndpoint(detail=detail, errors=[{"loc": ["body", field], "msg": detail}])


def _checked_url(url: str) -> str:
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise _invalid("url", _("The URL must be an absolute https:// URL."))
    if parts.username or parts.password:
        raise _invalid("url", _("The URL may not contain a user name or password."))
    host = parts.hostname.lower()
    if parts.scheme == "http" and host not in LOCAL_HOSTS and not host.endswith(".localhost"):
        raise _invalid("url", _("Use https://; plain http:// is allowed only for localhost, for development."))
    if len(url) > 2000:
        raise _invalid("url", _("The URL is longer than 2000 characters."))
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise _invalid("url", _("The URL's port is not a number between 0 and 65535.")) from None
    refusal = webhook_targets.target_refusal(host=host, port=port)
    if refusal:
        raise _invalid("url", refusal)
    return url


def _checked_types(event_types: Iterable[str]) -> list[str]:
    chosen = list(dict.fromkeys(event_types))
    unknown = [t for t in chosen if t not in EVENT_TYPES]
    if unknown:
        raise _invalid("event_types", _("Unknown event type %(type)s; choose from %(types)s.") % {
            "type": unknown[0], "types": ", ".join(EVENT_TYPES)})
    if not chosen:
        raise _invalid("event_types", _("Choose at least one event type."))
    return chosen


def _subscribers_changed() -> None:
    _subscribers_forget()
    transaction.on_commit(_subscribers_forget)


def webhook_endpoint_create(
    *, actor: User, app: App, url: str, event_types: Iterable[str], description: str = "", enabled: bool = True
) -> tuple[WebhookEndpoint, str]:
    """A new endpoint of an app; returns it with its signing secret, shown this once only."""
    _ensure_maker(actor=actor, app=app)
    checked = _checked_url(url)  # may ask DNS: before the transaction, so that a slow resolver holds no lock
    with transaction.atomic():
        secret = secret_new()
        endpoint = WebhookEndpoint.objects.create(
            app=app, url=checked, event_types=_checked_types(event_types), description=description.strip(),
            enabled=enabled, secret_encrypted=secret_seal(secret), created_by=actor,
        )
        record_event(actor=actor, subject=endpoint, kind="webhook_endpoint.created", organisation=app.venture,
                     data={"app": app.pk, "url": endpoint.url, "event_types": endpoint.event_types})
        _subscribers_changed()
    return endpoint, secret


def webhook_endpoint_update(
    *,
    actor: User,
    endpoint: WebhookEndpoint,
    url: str | None = None,
    event_types: Iterable[str] | None = None,
    description: str | None = None,
    enabled: bool | None = None,
) -> WebhookEndpoint:
    _ensure_maker(actor=actor, app=endpoint.app)
    # A new URL may ask DNS: checked before the transaction, so that a slow resolver holds no lock.
    checked = _checked_url(url) if url is not None and url.strip() != endpoint.url else None
    with transaction.atomic():
        changed: dict[str, Any] = {}
        if checked is not None:
            endpoint.url = changed["url"] = checked
        if event_types is not None:
            types = _checked_types(event_types)
            if types != endpoint.event_types:
                endpoint.event_types = changed["event_types"] = types
        if description is not None and description.strip() != endpoint.description:
            endpoint.description = changed["description"] = description.strip()
        if enabled is not None and enabled != endpoint.enabled:
            endpoint.enabled = changed["enabled"] = enabled
        if changed:
            endpoint.save(update_fields=list(changed))
            if changed.get("enabled") is False:
                Delivery.objects.filter(endpoint=endpoint, state=DeliveryState.PENDING).update(
                    state=DeliveryState.CANCELLED, cancel_reason=CANCELLED_ENDPOINT_DISABLED,
                    completed_at=timezone.now(),
                )
            record_event(actor=actor, subject=endpoint, kind="webhook_endpoint.changed",
                         organisation=endpoint.app.venture, data=changed)
            _subscribers_changed()
            if changed.get("enabled"):
                _nudge()
    return endpoint


@transaction.atomic
def webhook_endpoint_delete(*, actor: User, endpoint: WebhookEndpoint) -> None:
    """Remove an endpoint with its delivery log."""
    _ensure_maker(actor=actor, app=endpoint.app)
    record_event(actor=actor, subject=endpoint, kind="webhook_endpoint.deleted", organisation=endpoint.app.venture,
                 data={"url": endpoint.url})
    endpoint.delete()
    _subscribers_changed()


@transaction.atomic
def webhook_endpoint_rotate_secret(*, actor: User, endpoint: WebhookEndpoint) -> str:
    """A new signing secret, shown this once. The old one keeps signing beside it for a day (two signatures)."""
    _ensure_maker(actor=actor, app=endpoint.app)
    secret = secret_new()
    now = timezone.now()
    endpoint.previous_secret_encrypted = endpoint.secret_encrypted
    endpoint.previous_secret_until = now + PREVIOUS_SECRET_GRACE
    endpoint.secret_encrypted = secret_seal(secret)
    endpoint.secret_rotated_at = now
    endpoint.save(update_fields=["previous_secret_encrypted", "previous_secret_until", "secret_encrypted",
                                 "secret_rotated_at"])
    record_event(actor=actor, subject=endpoint, kind="webhook_endpoint.secret_rotated",
                 organisation=endpoint.app.venture)
    return secret


@transaction.atomic
def webhook_endpoint_reset_circuit(*, actor: User, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Close an endpoint's circuit now (the maker fixed their server): waiting deliveries go out at once."""
    _ensure_maker(actor=actor, app=endpoint.app)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        consecutive_failures=0, circuit_opened_at=None, circuit_open_until=None
    )
    endpoint.consecutive_failures, endpoint.circuit_opened_at, endpoint.circuit_open_until = 0, None, None
    record_event(actor=actor, subject=endpoint, kind="webhook_endpoint.circuit_reset",
                 organisation=endpoint.app.venture)
    _nudge()
    return endpoint


# Fan-out -------------------------------------------------------------------------------------------------------


def new_message_id() -> str:
    """`msg_`, the time in milliseconds (hex, so ids sort by time) and 64 random bits."""
    return f"msg_{int(time.time() * 1000):012x}{secrets.token_hex(8)}"


def _body(event_type: str, at: datetime, data: Any) -> str:
    document = {"type": event_type, "timestamp": _rfc3339(at), "data": data}
    return json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, separators=(",", ":"))


def _rfc3339(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class _Fact:
    device_id: str
    type: str
    at: datetime
    data: dict[str, Any]


def _facts(facts: DeviceFacts) -> list[_Fact]:
    at = facts.at or timezone.now()
    found = [
        _Fact(e.device_id, "device.event", e.ts,
              {"device_id": e.device_id, "event": e.name, "data": e.data, "ts": _rfc3339(e.ts)})
        for e in facts.events
    ]
    found += [_Fact(d, "device.reported", at, {"device_id": d, "state": s}) for d, s in facts.reported.items()]
    found += [
        _Fact(d, "device.online" if online else "device.offline", at, {"device_id": d, "online": online})
        for d, online in facts.presence.items()
    ]
    found += [
        _Fact(c.device_id, "invocation.completed", at,
              {"device_id": c.device_id, "invocation_id": c.invocation_id, "status": c.status})
        for c in facts.completions
    ]
    return found


_subscribers: tuple[float, frozenset[int]] | None = None


def _subscribers_forget() -> None:
    global _subscribers
    _subscribers = None


def _apps_with_endpoints() -> frozenset[int]:
    """Ids of apps with an enabled endpoint: trusted for a few seconds so that the gateway's batches, when no app
    listens, cost one cached look-up. Writes in this process forget it; other processes see a new endpoint within
    SUBSCRIBERS_TTL."""
    global _subscribers
    cached = _subscribers
    if cached is not None and time.monotonic() - cached[0] < SUBSCRIBERS_TTL:
        return cached[1]
    apps = frozenset(WebhookEndpoint.objects.filter(enabled=True).values_list("app_id", flat=True).distinct())
    _subscribers = (time.monotonic(), apps)
    return apps


def deliveries_from_facts(*, facts: DeviceFacts) -> int:
    """Write the deliveries that device facts owe to subscribed endpoints — inside the facts' transaction.

    For each fact: each app with an active grant covering the device that includes `events:subscribe`, each of its
    enabled endpoints subscribed to the fact's type. A few queries per batch, none per fact. Returns how many rows.
    """
    from makercloud.developers.selectors.clients import grants_covering

    listening = _apps_with_endpoints()
    if not listening:
        return 0
    found = _facts(facts)
    if not found:
        return 0
    covering = grants_covering(device_ids={f.device_id for f in found})
    apps_of: dict[str, set[int]] = {
        device_id: {g.app_id for g in grants if g.app_id in listening and SUBSCRIBE_SCOPE in g.scopes}
        for device_id, grants in covering.items()
    }
    wanted = set().union(*apps_of.values()) if apps_of else set()
    if not wanted:
        return 0
    endpoints: dict[int, list[tuple[int, list[str]]]] = defaultdict(list)
    for pk, app_id, types in WebhookEndpoint.objects.filter(app_id__in=wanted, enabled=True).values_list(
        "pk", "app_id", "event_types"
    ):
        endpoints[app_id].append((pk, types))
    now = _db_time(timezone.now())
    rows: list[tuple[Any, ...]] = []
    for fact in found:
        message_id, body, occurred_at = "", "", None
        for app_id in apps_of.get(fact.device_id, ()):
            for endpoint_id, types in endpoints.get(app_id, ()):
                if fact.type not in types:
                    continue
                if not message_id:
                    message_id, body = new_message_id(), _body(fact.type, fact.at, fact.data)
                    occurred_at = _db_time(fact.at)
                rows.append((endpoint_id, app_id, message_id, fact.type, fact.device_id, body, occurred_at,
                             now, now, now))
    if rows:
        _deliveries_insert(rows)
        transaction.on_commit(_nudge)
    return len(rows)


_INSERT_COLUMNS = ("endpoint_id", "app_id", "message_id", "event_type", "device_id", "body", "occurred_at",
                   "created_at", "round_started_at", "next_attempt_at")


def _db_time(at: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(at)


def _deliveries_insert(rows: list[tuple[Any, ...]]) -> None:
    """New pending deliveries in bulk (`_insert`): the receiver runs inside the gateway's batch transaction, and
    the ORM's bulk_create spends most of its time building SQL for thousands of rows."""
    constant = {"state": DeliveryState.PENDING, "attempts": 0, "retries": 0, "lease_token": "", "last_error": "",
                "cancel_reason": ""}
    tail = tuple(constant.values())
    _insert(Delivery._meta.db_table, (*_INSERT_COLUMNS, *constant), [row + tail for row in rows])


def _insert(table: str, columns: tuple[str, ...], rows: list[tuple[Any, ...]]) -> None:
    """Rows in bulk: COPY on PostgreSQL (psycopg splits a long multi-row INSERT slowly), executemany on SQLite."""
    quoted = connection.ops.quote_name(table)
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            with cursor.cursor.copy(f"COPY {quoted} ({names}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        else:
            placeholders = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {quoted} ({names}) VALUES ({placeholders})", rows)  # noqa: S608


def device_facts_received(sender: Any, facts: DeviceFacts, **kwargs: Any) -> None:
    """The `devices.signals.device_facts` receiver (connected in DevelopersConfig.ready)."""
    deliveries_from_facts(facts=facts)


@transaction.atomic
def app_event_enqueue(*, app: App, type: str, data: Mapping[str, Any]) -> list[Delivery]:
    """An event about the app itself (grant.revoked) to each of its enabled endpoints subscribed to it; call it inside
    the transaction that causes it. It is sent even though the grant it reports is no longer active."""
    if type not in EVENT_TYPES:
        raise ValueError(f"unknown webhook event type {type!r}")
    now = timezone.now()
    message_id, body = new_message_id(), _body(type, now, dict(data))
    rows = [
        Delivery(endpoint=endpoint, app=app, message_id=message_id, event_type=type, body=body, occurred_at=now,
                 created_at=now, round_started_at=now, next_attempt_at=now)
        for endpoint in WebhookEndpoint.objects.filter(app=app, enabled=True)
        if type in endpoint.event_types
    ]
    if rows:
        Delivery.objects.bulk_create(rows)
        transaction.on_commit(_nudge)
    return rows


def _nudge() -> None:
    """Ask a worker to dispatch now (after commit). If the queue is down, the sweep finds the rows anyway."""
    from makercloud.developers.jobs import webhooks_dispatch

    try:
        webhooks_dispatch()
    except Exception:  # the database is the truth; a lost nudge only delays the delivery to the next sweep
        logger.exception("could not nudge the webhook dispatcher")


# Replay --------------------------------------------------------------------------------------------------------


@transaction.atomic
def delivery_replay(*, actor: User, delivery: Delivery) -> Delivery:
    """Send a delivery again (the same message id and body; a new round of retries). Not while it is in flight."""
    _ensure_maker(actor=actor, app=delivery.app)
    now = timezone.now()
    taken = Delivery.objects.filter(
        pk=delivery.pk, state__in=[DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.CANCELLED]
    ).update(state=DeliveryState.PENDING, retries=0, round_started_at=now, next_attempt_at=now, completed_at=None,
             cancel_reason="", lease_token="", lease_until=None)
    if not taken:
        raise NotReplayable()
    delivery.refresh_from_db()
    record_event(actor=actor, subject=delivery, kind="webhook_delivery.replayed", organisation=delivery.app.venture,
                 data={"message_id": delivery.message_id, "endpoint": delivery.endpoint_id})
    transaction.on_commit(_nudge)
    return delivery


# Retention -----------------------------------------------------------------------------------------------------

DELIVERY_RETENTION = timedelta(days=30)


def deliveries_expire(*, now: datetime | None = None) -> int:
    """Delete finished deliveries (with their attempts) older than DELIVERY_RETENTION. Returns how many went."""
    cutoff = (now or timezone.now()) - DELIVERY_RETENTION
    finished = [DeliveryState.SUCCEEDED, DeliveryState.FAILED, DeliveryState.CANCELLED]
    deleted = 0
    while True:
        ids = list(Delivery.objects.filter(state__in=finished, created_at__lt=cutoff).values_list("pk", flat=True)[
            :5000])
        if not ids:
            return deleted
        with transaction.atomic():
            DeliveryAttempt.objects.filter(delivery_id__in=ids).delete()
            deleted += Delivery.objects.filter(pk__in=ids).delete()[1].get(Delivery._meta.label, 0)


# Back-off ------------------------------------------------------------------------------------------------------


def retry_delay(retry: int, *, rng: random.Random | None = None) -> timedelta:
    """The delay before retry number `retry` (1, 2, …): uniform in [MIN_DELAY, cap] (full jitter)."""
    cap = RETRY_CAPS[min(retry, len(RETRY_CAPS)) - 1]
    seconds = (rng or random).uniform(0, cap.total_seconds())
    return max(MIN_DELAY, timedelta(seconds=seconds))


# Dispatch ------------------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Job:
    delivery: Delivery
    trigger: str
    url: str
    secrets: list[str]
    lease_until: datetime
    error: str = ""  # set when it cannot be sent at all (the secret cannot be opened)


@dataclass(slots=True)
class _Outcome:
    job: _Job
    started_at: datetime
    duration_ms: int = 0
    request_headers: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    response_headers: dict[str, str] = field(default_factory=dict)
    response_body: str = ""
    error: str = ""
    sent: bool = True  # False: not sent at all (the lease ran short); the delivery goes back unchanged

    @property
    def succeeded(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


_client: httpx.Client | None = None


def _http() -> httpx.Client:
    global _client
    if _client is None:
        _client = httpx.Client(
            timeout=TIMEOUT, follow_redirects=False, trust_env=False,
            transport=webhook_targets.GuardedTransport(
                limits=httpx.Limits(max_connections=SENDERS * 4, max_keepalive_connections=SENDERS * 2)),
            headers={"user-agent": "makercloud-webhooks/1"},
        )
    return _client


def _due(now: datetime) -> Q:
    return Q(state=DeliveryState.PENDING, next_attempt_at__lte=now) | Q(state=DeliveryState.SENDING,
                                                                        lease_until__lt=now)


def _give_up_stale(now: datetime) -> int:
    """Deliveries that waited a whole retry window (behind an open circuit) have failed."""
    return Delivery.objects.filter(state=DeliveryState.PENDING, round_started_at__lt=now - RETRY_WINDOW).update(
        state=DeliveryState.FAILED, completed_at=now, last_error="not delivered within a day (the endpoint's "
        "circuit stayed open)"
    )


def _claim(*, limit: int) -> list[_Job]:
    """Take up to `limit` due deliveries under a fresh lease; cancel those whose grant or endpoint is gone."""
    from makercloud.developers.selectors.clients import grants_covering

    now = timezone.now()
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = (
            Delivery.objects.filter(_due(now))
            .filter(Q(endpoint__circuit_open_until__isnull=True) | Q(endpoint__circuit_open_until__lte=now))
            .order_by("next_attempt_at", "id")
        )
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True, of=("self",))
        rows = list(due.values_list("pk", "state", "attempts", "retries", "app_id", "device_id", "event_type",
                                    "endpoint_id", "endpoint__enabled", "endpoint__circuit_opened_at")[:limit])
        if not rows:
            return []
        # A delivery about a device goes only while a grant of the app with events:subscribe still covers it.
        covering = grants_covering(device_ids={r[5] for r in rows if r[5]})
        allowed = {
            (g.app_id, device_id) for device_id, grants in covering.items() for g in grants
            if SUBSCRIBE_SCOPE in g.scopes
        }
        cancelled: dict[str, list[int]] = defaultdict(list)
        probes: set[int] = set()
        taken: dict[int, str] = {}
        for pk, state, attempts, retries, app_id, device_id, _type, endpoint_id, enabled, opened_at in rows:
            if not enabled:
                cancelled[CANCELLED_ENDPOINT_DISABLED].append(pk)
            elif device_id and (app_id, device_id) not in allowed:
                cancelled[CANCELLED_GRANT_REVOKED].append(pk)
            elif opened_at is not None:  # half-open: one probe per endpoint, the rest keep waiting
                if endpoint_id not in probes:
                    probes.add(endpoint_id)
                    taken[pk] = DeliveryAttempt.Trigger.PROBE
            elif state == DeliveryState.SENDING:
                taken[pk] = DeliveryAttempt.Trigger.RECOVERED
            elif attempts == 0:
                taken[pk] = DeliveryAttempt.Trigger.FIRST
            else:
                taken[pk] = DeliveryAttempt.Trigger.RETRY if retries else DeliveryAttempt.Trigger.REPLAY
        for reason, pks in cancelled.items():
            Delivery.objects.filter(pk__in=pks).filter(_due(now)).update(
                state=DeliveryState.CANCELLED, cancel_reason=reason, completed_at=now, lease_token="",
                lease_until=None,
            )
        if probes:  # the probe holds the circuit for its lease: no other dispatcher probes the same endpoint
            WebhookEndpoint.objects.filter(pk__in=probes).update(circuit_open_until=now + LEASE)
        lease_until = now + LEASE
        Delivery.objects.filter(pk__in=list(taken)).filter(_due(now)).update(
            state=DeliveryState.SENDING, lease_token=token, lease_until=lease_until, attempts=F("attempts") + 1
        )
        claimed = list(Delivery.objects.filter(lease_token=token, state=DeliveryState.SENDING).select_related(
            "endpoint"))
    jobs = []
    opened: dict[int, list[str] | str] = {}
    for delivery in claimed:
        endpoint = delivery.endpoint
        if endpoint.pk not in opened:
            try:
                keys = [secret_open(endpoint.secret_encrypted)]
                if endpoint.previous_secret_encrypted and (endpoint.previous_secret_until or now) > now:
                    keys.append(secret_open(endpoint.previous_secret_encrypted))
                opened[endpoint.pk] = keys
            except InvalidToken:
                opened[endpoint.pk] = "the signing secret cannot be decrypted (SECRET_KEY changed?): rotate it"
        keys_or_error = opened[endpoint.pk]
        jobs.append(_Job(
            delivery=delivery, trigger=taken[delivery.pk], url=endpoint.url, lease_until=lease_until,
            secrets=keys_or_error if isinstance(keys_or_error, list) else [],
            error=keys_or_error if isinstance(keys_or_error, str) else "",
        ))
    return jobs


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit] + "…"


def _send(job: _Job) -> _Outcome:
    """One request (no database work here: it runs on a sender thread)."""
    started = timezone.now()
    outcome = _Outcome(job=job, started_at=started)
    if job.error:
        outcome.error = job.error
        return outcome
    if (job.lease_until - started).total_seconds() < SEND_WORST:
        outcome.sent = False  # too little lease left to finish before another dispatcher may take it
        return outcome
    delivery = job.delivery
    headers = {
        "content-type": "application/json",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(int(started.timestamp())),
        "webhook-signature": signature(secrets_=job.secrets, message_id=delivery.message_id, at=started,
                                       body=delivery.body),
    }
    outcome.request_headers = headers
    clock = time.monotonic()
    try:
        with _http().stream("POST", job.url, content=delivery.body.encode(), headers=headers) as response:
            outcome.status = response.status_code
            outcome.response_headers = dict(list(response.headers.items())[:50])
            received = bytearray()
            for chunk in response.iter_bytes():
                if len(received) < RESPONSE_BODY_LOG:
                    received += chunk
                if time.monotonic() - clock > SEND_BUDGET:
                    outcome.error = f"the response took longer than {SEND_BUDGET:.0f} s"
                    outcome.status = None
                    break
            outcome.response_body = _truncate(bytes(received).decode(errors="replace"), RESPONSE_BODY_LOG)
    except webhook_targets.TargetRefused as error:  # not public (SSRF guard): nothing was sent
        outcome.error = str(error)
    except httpx.TimeoutException as error:
        outcome.error = f"timed out ({type(error).__name__})"
    except httpx.HTTPError as error:
        outcome.error = _truncate(f"{type(error).__name__}: {error}", 400) or type(error).__name__
    except Exception as error:  # a malformed URL or anything httpx did not wrap: a failed attempt, not a crash
        outcome.error = _truncate(f"{type(error).__name__}: {error}", 400)
    outcome.duration_ms = int((time.monotonic() - clock) * 1000)
    if outcome.status is not None and not outcome.succeeded and not outcome.error:
        outcome.error = f"HTTP {outcome.status}"
    return outcome


def _record(outcomes: list[_Outcome]) -> None:
    """Store the attempts and move each delivery and endpoint on — only where the lease is still ours.

    Successes are one UPDATE for the batch; each failure is its own (its retry time is drawn for it).
    """
    now = timezone.now()
    with transaction.atomic():
        leases = {(o.job.delivery.pk, o.job.delivery.lease_token) for o in outcomes}
        held = Delivery.objects.filter(pk__in=[pk for pk, _ in leases], state=DeliveryState.SENDING)
        if connection.features.has_select_for_update:
            held = held.select_for_update()
        ours = {pk for pk, token in held.values_list("pk", "lease_token") if (pk, token) in leases}
        endpoint_ids = {o.job.delivery.endpoint_id for o in outcomes}
        endpoints = {e.pk: e for e in WebhookEndpoint.objects.select_for_update().filter(pk__in=endpoint_ids)}
        attempts: list[tuple[Any, ...]] = []
        succeeded: list[int] = []
        unsent: list[int] = []
        touched: set[int] = set()
        for outcome in sorted(outcomes, key=lambda o: o.started_at):
            delivery = outcome.job.delivery
            if delivery.pk not in ours:
                continue  # the lease ran out and another dispatcher took it: its result counts, not ours
            if not outcome.sent:
                unsent.append(delivery.pk)
                continue
            endpoint = endpoints.get(delivery.endpoint_id)
            if outcome.succeeded:
                succeeded.append(delivery.pk)
                if endpoint is not None:
                    endpoint.consecutive_failures = 0
                    endpoint.circuit_opened_at = endpoint.circuit_open_until = None
                    endpoint.last_success_at = now
            else:
                retry = delivery.retries + 1
                next_at = now + retry_delay(retry)
                gone = next_at > delivery.round_started_at + RETRY_WINDOW
                Delivery.objects.filter(pk=delivery.pk).update(
                    state=DeliveryState.FAILED if gone else DeliveryState.PENDING,
                    retries=retry, next_attempt_at=next_at, completed_at=now if gone else None,
                    last_status=outcome.status, last_error=outcome.error[:500], lease_token="", lease_until=None,
                )
                if endpoint is not None:
                    endpoint.consecutive_failures += 1
                    endpoint.last_failure_at = now
                    if (outcome.job.trigger == DeliveryAttempt.Trigger.PROBE
                            or endpoint.consecutive_failures >= CIRCUIT_THRESHOLD):
                        endpoint.circuit_opened_at = endpoint.circuit_opened_at or now
                        endpoint.circuit_open_until = now + CIRCUIT_COOLDOWN
            if endpoint is not None:
                touched.add(endpoint.pk)
            attempts.append((
                delivery.pk, delivery.attempts, outcome.job.trigger, _db_time(outcome.started_at),
                outcome.duration_ms, outcome.job.url, json.dumps(outcome.request_headers),
                _truncate(delivery.body, REQUEST_BODY_LOG) if outcome.request_headers else "", outcome.status,
                json.dumps(outcome.response_headers), outcome.response_body, outcome.error[:500], outcome.succeeded,
            ))
        if succeeded:
            statuses: dict[int, list[int]] = defaultdict(list)
            for outcome in outcomes:
                if outcome.job.delivery.pk in ours and outcome.sent and outcome.succeeded:
                    statuses[outcome.status or 200].append(outcome.job.delivery.pk)
            for status, pks in statuses.items():
                Delivery.objects.filter(pk__in=pks).update(
                    state=DeliveryState.SUCCEEDED, completed_at=now, last_status=status, last_error="",
                    lease_token="", lease_until=None,
                )
        if unsent:
            Delivery.objects.filter(pk__in=unsent).update(
                state=DeliveryState.PENDING, lease_token="", lease_until=None, next_attempt_at=now,
                attempts=F("attempts") - 1,
            )
        _attempts_insert(attempts)
        for pk in touched:
            endpoint = endpoints[pk]
            endpoint.save(update_fields=["consecutive_failures", "circuit_opened_at", "circuit_open_until",
                                         "last_success_at", "last_failure_at"])


_ATTEMPT_COLUMNS = ("delivery_id", "number", "trigger", "started_at", "duration_ms", "url", "request_headers",
                    "request_body", "response_status", "response_headers", "response_body", "error", "succeeded")


def _attempts_insert(rows: list[tuple[Any, ...]]) -> None:
    """The batch's attempt log in bulk (see `_insert`)."""
    if not rows:
        return
    _insert(DeliveryAttempt._meta.db_table, _ATTEMPT_COLUMNS, rows)


_senders: ThreadPoolExecutor | None = None


def _pool() -> ThreadPoolExecutor:
    global _senders
    if _senders is None:
        _senders = ThreadPoolExecutor(max_workers=SENDERS, thread_name_prefix="webhook-sender")
    return _senders


def deliveries_dispatch(*, limit: int = BATCH, budget: float = DISPATCH_BUDGET) -> int:
    """Send what is due, batch after batch, for up to `budget` seconds. Returns how many attempts were made.

    Safe to run in several workers at once: each batch is claimed under its own lease token.
    """
    started = time.monotonic()
    _give_up_stale(timezone.now())
    made = 0
    while True:
        jobs = _claim(limit=limit)
        if not jobs:
            break
        outcomes = list(_pool().map(_send, jobs)) if len(jobs) > 1 else [_send(jobs[0])]
        _record(outcomes)
        made += sum(1 for o in outcomes if o.sent)
        if len(jobs) < limit or time.monotonic() - started > budget:
            break
    return made
