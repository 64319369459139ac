"""What the devices context tells the contexts that build on it (webhooks, automations), without importing them.

`device_facts` is sent *inside* the transaction that stores the facts, so a receiver that writes rows (a webhook
delivery, an automation run) commits or rolls back with them: nothing is lost and nothing is recorded twice
(a transactional outbox). Receivers must be cheap — the gateway sends one signal per batch of thousands of
messages — and should only write rows and nudge jobs with `transaction.on_commit`.
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.dispatch import Signal

from makercloud.devices.ingest import EventRow, TelemetryRow

# What the gateway stores is what it tells: a device event and one telemetry value, as ingest writes them.
Event = EventRow
Reading = TelemetryRow


@dataclass(frozen=True, slots=True)
class Completion:
    """An invocation that reached a final status (ok, error, timed out)."""

    device_id: str
    invocation_id: str
    status: str


@dataclass(frozen=True, slots=True)
class DeviceFacts:
    events: Sequence[Event] = ()
    readings: Sequence[Reading] = ()
    reported: Mapping[str, dict[str, Any]] = field(default_factory=dict)  # device id -> the properties reported
    presence: Mapping[str, bool] = field(default_factory=dict)  # device id -> online, where it changed
    completions: Sequence[Completion] = ()
    at: datetime | None = None

    def __bool__(self) -> bool:
        return bool(self.events or self.readings or self.reported or self.presence or self.completions)


device_facts = Signal()  # kwargs: facts: DeviceFacts


def facts_publish(facts: DeviceFacts) -> None:
    """Tell every receiver; call inside the transaction that stores the facts."""
    if facts and device_facts.has_listeners():
        device_facts.send(sender=DeviceFacts, facts=facts)
