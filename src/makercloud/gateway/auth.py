"""The one broker auth/ACL service (DESIGN §5). Every broker asks it, in its own way:

- the embedded amqtt broker in-process (`gateway.broker_plugins`),
- Mosquitto through the password and ACL files written from it (`gateway.mosquitto`),
- EMQX through the HTTP hooks in `gateway.views`.

A device logs in with client id = username = its id and password = its secret. It may publish only
`devices/{id}/telemetry`, `/reported`, `/events/{event}` and `/actions/reply`, and subscribe only to
`devices/{id}/desired` and `/actions/invoke`. The platform's service account may do everything under `devices/`.

When a device is disabled or given a new secret, the platform publishes `devices/{id}/access` (a topic only the
service account may use). Every broker wiring ends the device's live session on it, and the gateway forgets what
it cached about the device; the device then has to log in again, which `authenticate` decides.
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass
from enum import StrEnum

from makercloud.core import mqtt

MOSQUITTO_ITERATIONS = 101  # what mosquitto_passwd 2.0 writes; Mosquitto reads any count from the hash
SHARED_PREFIX = "$share/"


class Action(StrEnum):
    PUBLISH = "publish"
    SUBSCRIBE = "subscribe"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a broker session belongs to: the platform itself, or one device."""

    device_id: str | None  # None for the platform's service account

    @property
    def is_service(self) -> bool:
        return self.device_id is None


SERVICE = Principal(device_id=None)

DEVICE_PUBLISHES = ("telemetry", "reported", "actions/reply")
DEVICE_SUBSCRIBES = ("desired", "actions/invoke")
ACCESS = "access"  # devices/{id}/access: the platform says a device's standing or credentials changed
ACCESS_FILTER = f"devices/+/{ACCESS}"


def secret_hash(secret: str) -> str:
    """How Device.secret_hash stores a device secret: SHA-256 hex (secrets are random, 256-bit)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def broker_password_hash(secret: str, *, salt: bytes | None = None) -> str:
    """The secret hashed for a Mosquitto 2.0 password file: `$7$<iterations>$<salt>$<PBKDF2-SHA512>` (base64).

    Device provisioning stores it in Device.broker_hash, so the password file can be written without the secret.
    """
    salt = os.urandom(12) if salt is None else salt
    digest = hashlib.pbkdf2_hmac("sha512", secret.encode(), salt, MOSQUITTO_ITERATIONS)
    return f"$7${MOSQUITTO_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def authenticate(*, client_id: str | None, username: str | None, password: str | bytes | None) -> Principal | None:
    """The principal these credentials belong to, or None: unknown, wrong secret, disabled, or client id != username."""
    from makercloud.devices.models import Device

    if not username or password is None:
        return None
    if isinstance(password, bytes):
        try:
            password = password.decode()
        except UnicodeDecodeError:
            return None
    if username == mqtt.SERVICE_USERNAME:
        return SERVICE if hmac.compare_digest(password, mqtt.service_password()) else None
    if client_id != username or not is_device_id(username):
        return None
    row = Device.objects.filter(id=username).values_list("secret_hash", "enabled").first()
    if row is None or not row[1]:
        return None
    return Principal(device_id=username) if hmac.compare_digest(secret_hash(password), row[0]) else None


def principal_for(username: str | None) -> Principal | None:
    """The principal of an already authenticated session, from its username."""
    if not username:
        return None
    return SERVICE if username == mqtt.SERVICE_USERNAME else Principal(device_id=username)


def access_topic(device_id: str) -> str:
    """Where the platform announces that a device was disabled, enabled or given a new secret."""
    return f"devices/{device_id}/{ACCESS}"


def access_device(topic: str) -> str | None:
    """The device an access announcement is about, or None if the topic is not one."""
    parts = topic.split("/")
    if len(parts) == 3 and parts[0] == "devices" and parts[2] == ACCESS and is_device_id(parts[1]):
        return parts[1]
    return None


def is_device_id(value: str) -> bool:
    return 0 < len(value) <= 32 and not any(c in value for c in "/+#\0") and value.isprintable()


def allowed(principal: Principal, topic: str, action: Action | str) -> bool:
    """May this principal publish to, or subscribe to (and so receive from), this topic?"""
    action = Action(action)
    if principal.is_service:
        if action is Action.SUBSCRIBE and topic.startswith(SHARED_PREFIX):
            parts = topic.split("/", 2)  # $share/{group}/{filter}
            if len(parts) < 3 or not parts[1]:
                return False
            topic = parts[2]
        return topic == "devices/#" or topic.startswith("devices/")
    own = f"devices/{principal.device_id}/"
    if not topic.startswith(own) or "+" in topic or "#" in topic:
        return False
    rest = topic[len(own):]
    if action is Action.SUBSCRIBE:
        return rest in DEVICE_SUBSCRIBES
    if rest in DEVICE_PUBLISHES:
        return True
    event = rest.removeprefix("events/")
    return event != rest and bool(event) and "/" not in event


def hook_token() -> str:
    """What an external broker (EMQX) sends as `Authorization: Bearer …` when it asks the HTTP hooks."""
    return hmac.new(mqtt.service_password().encode(), b"makercloud broker hooks", hashlib.sha256).hexdigest()
