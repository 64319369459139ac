"""The platform's MQTT connection: where the broker is, the platform's own service account, and `publish`.

Device services call `publish` after commit to send desired state and invocations (DESIGN §5). It uses one shared,
lazily connected paho client per process (a background network thread, automatic reconnects), because a connection
per call would cost a TCP + MQTT handshake and a broker authentication on every desired-state change. The client is
re-created after a fork (huey or uvicorn workers). `publish` waits for the broker's PUBACK (QoS 1) for a bounded time
and raises `MQTTUnavailable` if the broker cannot be reached; the database stays the source of truth, so a caller
that catches it loses nothing that a later retry (or the device's next connection to the retained desired topic)
will not repair.

The service account (`makercloud`) may do everything under `devices/#`; its password is derived from SECRET_KEY by
HMAC, so every process of one deployment agrees on it without storing it anywhere.
"""

import hashlib
import hmac
import json
import logging
import os
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings

from makercloud.core.errors import DomainError

logger = logging.getLogger(__name__)

SERVICE_USERNAME = "makercloud"
PUBLISH_TIMEOUT = 5.0
MAX_IN_FLIGHT = 1000
DEFAULT_PORT = 1883


class MQTTUnavailable(DomainError):
    type = "mqtt-unavailable"
    title = "The MQTT broker cannot be reached"
    status = 503


@dataclass(frozen=True, slots=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool


def broker_address(url: str | None = None) -> BrokerAddress:
    """The broker to connect to: `mqtt://host:port` or `mqtts://host:port`; by default settings.MQTT_URL."""
    parts = urlsplit(url or settings.MQTT_URL or f"mqtt://127.0.0.1:{DEFAULT_PORT}")
    if parts.scheme not in {"mqtt", "mqtts", "tcp", "ssl"}:
        raise ValueError(f"an MQTT URL must start with mqtt:// or mqtts://, not {parts.scheme}://")
    tls = parts.scheme in {"mqtts", "ssl"}
    return BrokerAddress(host=parts.hostname or "127.0.0.1", port=parts.port or (8883 if tls else 1883), tls=tls)


def service_password() -> str:
    """The service account's password: an HMAC of SECRET_KEY, the same in every process of a deployment."""
    return hmac.new(settings.SECRET_KEY.encode(), b"makercloud mqtt service account", hashlib.sha256).hexdigest()


def service_credentials() -> tuple[str, str]:
    return SERVICE_USERNAME, service_password()


def service_client(*, client_id: str, clean_session: bool = True, protocol: int | None = None, **options: Any) -> Any:
    """A paho client logged in as the service account (not yet connected)."""
    import paho.mqtt.client as paho

    protocol = paho.MQTTv311 if protocol is None else protocol
    kwargs: dict[str, Any] = {"client_id": client_id, "protocol": protocol, **options}
    if protocol != paho.MQTTv5:
        kwargs["clean_session"] = clean_session
    client = paho.Client(paho.CallbackAPIVersion.VERSION2, **kwargs)
    client.username_pw_set(*service_credentials())
    if broker_address().tls:
        client.tls_set()
    return client


class _Publisher:
    """One paho client per process, connected on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: Any = None
        self._pid = 0

    def _connected(self) -> Any:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                return self._client
            address = broker_address()
            client = service_client(client_id=f"makercloud-pub-{uuid.uuid4().hex[:12]}")
            client.reconnect_delay_set(min_delay=1, max_delay=10)
            # paho keeps 20 QoS 1 messages in flight by default and queues the rest until PUBACKs come back: with a
            # hundred concurrent invocations, most would wait behind others' acknowledgements before being sent.
            client.max_inflight_messages_set(MAX_IN_FLIGHT)
            try:
                client.connect(address.host, address.port, keepalive=60)
            except OSError as error:
                raise MQTTUnavailable(f"cannot connect to the MQTT broker at {address.host}:{address.port}") from error
            client.loop_start()
            self._client, self._pid = client, os.getpid()
            return client

    def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool) -> None:
        client = self._connected()
        info = client.publish(topic, payload, qos=qos, retain=retain)
        if qos == 0:
            return
        try:
            info.wait_for_publish(timeout=PUBLISH_TIMEOUT)
        except (RuntimeError, ValueError) as error:
            raise MQTTUnavailable(f"the broker did not accept a message on {topic}") from error
        if not info.is_published():
            raise MQTTUnavailable(f"the broker did not acknowledge a message on {topic} in {PUBLISH_TIMEOUT:.0f} s")

    def close(self) -> None:
        with self._lock:
            if self._client is not None and self._pid == os.getpid():
                self._client.disconnect()
                self._client.loop_stop()
            self._client = None


_publisher = _Publisher()


def publish(topic: str, payload: Any, *, qos: int = 1, retain: bool = False) -> None:
    """Publish as the platform. `payload` is bytes, str, or anything JSON-serialisable (sent as JSON)."""
    if isinstance(payload, str):
        data = payload.encode()
    elif isinstance(payload, bytes | bytearray):
        data = bytes(payload)
    else:
        data = json.dumps(payload, separators=(",", ":"), default=str).encode()
    _publisher.publish(topic, data, qos=qos, retain=retain)


def publisher_close() -> None:
    """Disconnect this process's shared publisher (tests, shutdown)."""
    _publisher.close()
