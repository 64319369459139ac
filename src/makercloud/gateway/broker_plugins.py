"""amqtt plugins that make the embedded broker ask `gateway.auth` (DESIGN §5) and report presence.

Configured by `config.runner._broker_config`. Authentication reads the database, so it runs in a worker thread;
topic checks are pure functions of the session's username and the topic. When the platform announces on
`devices/{id}/access` that a device was disabled or given a new secret, the device's live session is closed at once
(it must log in again, and `gateway.auth.authenticate` decides).
"""

import asyncio
import logging
from dataclasses import dataclass
from typing import Any

from amqtt.contexts import Action as BrokerAction
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import ApplicationMessage, Session
from django.db import close_old_connections, connection

from makercloud.core import mqtt
from makercloud.gateway import auth
from makercloud.gateway.presence import presence_note

logger = logging.getLogger(__name__)


def _authenticate(client_id: str | None, username: str | None, password: Any) -> auth.Principal | None:
    close_old_connections()
    try:
        return auth.authenticate(client_id=client_id, username=username, password=password)
    except Exception:
        logger.exception("broker authentication failed for client %s", client_id)
        return None
    finally:
        connection.close()  # logins are rare; an idle connection per executor thread is not worth keeping


class DeviceAuthPlugin(BaseAuthPlugin):
    """Lets in devices with their secret and the platform's service account; notes devices' presence."""

    @dataclass
    class Config:
        pass

    async def authenticate(self, *, session: Session) -> bool:
        principal = await asyncio.to_thread(_authenticate, session.client_id, session.username, session.password)
        if principal is None:
            logger.info("refused MQTT login of client %r", session.client_id)
            return False
        return True

    async def on_broker_client_connected(self, *, client_id: str, client_session: Session) -> None:
        principal = auth.principal_for(client_session.username)
        if principal is not None and principal.device_id is not None:
            presence_note(device_id=principal.device_id, online=True)

    async def on_broker_client_disconnected(self, *, client_id: str, client_session: Session) -> None:
        principal = auth.principal_for(client_session.username)
        if principal is not None and principal.device_id is not None:
            presence_note(device_id=principal.device_id, online=False)

    async def on_broker_message_broadcast(self, *, client_id: str, message: ApplicationMessage) -> None:
        """The platform announced an access change (only it may publish there): end the device's live session."""
        device_id = auth.access_device(message.topic)
        if device_id is None:
            return
        sender = self.context.get_session(client_id)
        if sender is None or sender.username != mqtt.SERVICE_USERNAME:
            return
        # BrokerContext hands out sessions but not their protocol handlers, which is what can close a connection.
        session, handler = self.context._broker_instance.sessions.get(device_id, (None, None))
        if session is None or handler is None or not session.transitions.is_connected():
            return
        logger.info("ending the MQTT session of device %s: its access changed", device_id)
        await handler.handle_connection_closed()  # as for a dropped connection: the broker closes it and cleans up


class DeviceTopicPlugin(BaseTopicPlugin):
    """Enforces the device topics' ACL on publish, subscribe and delivery."""

    @dataclass
    class Config:
        pass

    async def topic_filtering(
        self, *, session: Session | None = None, topic: str | None = None, action: BrokerAction | None = None
    ) -> bool:
        if session is None or not topic or action is None:
            return False
        principal = auth.principal_for(session.username)
        if principal is None:
            return False
        wanted = auth.Action.PUBLISH if action == BrokerAction.PUBLISH else auth.Action.SUBSCRIBE
        if not auth.allowed(principal, topic, wanted):
            logger.info("refused %s of %r on %s", wanted, session.client_id, topic)
            return False
        return True
