"""Device facts → automation runs, inside the transaction that stores the facts (the `device_facts` receiver).

Cheap by construction, because the gateway sends one signal per batch of up to thousands of messages:
- which automations watch which device is cached per process for `INDEX_TTL` seconds (one query for the devices of
  a batch that are not cached; none when all are); a change of an automation forgets its devices in this process,
  other processes see it within the TTL;
- threshold state is read and written for the batch at once (one locking read of the candidates, one update per
  direction), evaluated in time order in memory, so a batch that crosses and comes back is judged like a stream;
- the causation chains (loops) and the rate cap are one query each, and only when something matched;
- the runs are one bulk insert, committed with the facts; they are executed after commit (`runs.dispatch`).
"""

import logging
import os
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from makercloud.automations.models import Automation, AutomationDevice, Effect, Run, RunStatus, StopReason, TriggerKind
from makercloud.devices.signals import DeviceFacts

logger = logging.getLogger(__name__)

INDEX_TTL = 5.0  # seconds a device's list of watching automations is cached
CAUSATION_WINDOW = timedelta(seconds=60)  # a fact this soon after a run acted on its device is taken as its effect
MAX_CHAIN = 8  # automations triggering automations: at most this deep
QUERY_CHUNK = 500


def rate_cap() -> tuple[int, timedelta]:
    """At most this many runs of one automation within the window; more are stopped (a loop or a flapping device).
    Settings' AUTOMATIONS_RATE_CAP, else the environment's MAKERCLOUD_AUTOMATIONS_RATE_CAP, else 30 a minute."""
    cap = getattr(settings, "AUTOMATIONS_RATE_CAP", None) or os.environ.get("MAKERCLOUD_AUTOMATIONS_RATE_CAP") or 30
    return int(cap), timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Watch:
    automation_id: int
    kind: str
    device_id: str
    name: str  # the event or property
    match: Any = None
    direction: str = ""
    threshold: float = 0.0
    hysteresis: float = 0.0


def watch_of(automation_id: int, kind: str, trigger: Mapping[str, Any]) -> Watch | None:
    if kind == TriggerKind.EVENT:
        return Watch(automation_id, kind, trigger["device"], trigger["event"], match=trigger.get("match"))
    if kind == TriggerKind.THRESHOLD:
        return Watch(automation_id, kind, trigger["device"], trigger["property"], direction=trigger["direction"],
                     threshold=float(trigger["threshold"]), hysteresis=float(trigger.get("hysteresis") or 0))
    return None


class _Index:
    """device id → the enabled automations whose trigger watches it, cached for a few seconds."""

    def __init__(self) -> None:
        self._entries: dict[str, tuple[float, list[Watch]]] = {}
        self._lock = threading.Lock()
        self.queries = 0

    def lookup(self, device_ids: Iterable[str]) -> dict[str, list[Watch]]:
        now = time.monotonic()
        found: dict[str, list[Watch]] = {}
        missing: list[str] = []
        with self._lock:
            for device_id in device_ids:
                entry = self._entries.get(device_id)
                if entry is not None and entry[0] > now:
                    if entry[1]:
                        found[device_id] = entry[1]
                else:
                    missing.append(device_id)
        if not missing:
            return found
        loaded: dict[str, list[Watch]] = {device_id: [] for device_id in missing}
        for start in range(0, len(missing), QUERY_CHUNK):
            self.queries += 1
            rows = AutomationDevice.objects.filter(
                device_id__in=missing[start:start + QUERY_CHUNK], trigger=True, automation__enabled=True
            ).values_list("device_id", "automation_id", "automation__trigger_kind", "automation__trigger")
            for device_id, automation_id, kind, trigger in rows:
                watch = watch_of(automation_id, kind, trigger)
                if watch is not None:
                    loaded[device_id].append(watch)
        expires = time.monotonic() + INDEX_TTL
        with self._lock:
            if len(self._entries) > 100_000:
                self._entries = {k: v for k, v in self._entries.items() if v[0] > now}
            for device_id, watches in loaded.items():
                self._entries[device_id] = (expires, watches)
                if watches:
                    found[device_id] = watches
        return found

    def forget(self, device_ids: Iterable[str]) -> None:
        with self._lock:
            for device_id in device_ids:
                self._entries.pop(device_id, None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


index = _Index()


def matches(pattern: Any, data: Any) -> bool:
    """An event's data matches when every key of the pattern object is there with a matching value (recursively);
    any other pattern must equal the data. No pattern (null) matches everything."""
    if pattern is None:
        return True
    if isinstance(pattern, dict):
        return isinstance(data, dict) and all(
            key in data and matches(value, data[key]) for key, value in pattern.items()
        )
    if isinstance(pattern, bool) or isinstance(data, bool):
        return pattern is data
    return bool(pattern == data)


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class _Candidate:
    watch: Watch
    cause: dict[str, Any]
    at: datetime


def _event_candidates(facts: DeviceFacts, watches: dict[str, list[Watch]]) -> list[_Candidate]:
    found = []
    for event in facts.events:
        for watch in watches.get(event.device_id, ()):
            if watch.kind == TriggerKind.EVENT and watch.name == event.name and matches(watch.match, event.data):
                found.append(_Candidate(watch, {"kind": "event", "device": event.device_id, "event": event.name,
                                                "data": event.data, "at": event.ts.isoformat()}, event.ts))
    return found


def _threshold_candidates(facts: DeviceFacts, watches: dict[str, list[Watch]], now: datetime) -> list[_Candidate]:
    series: dict[tuple[str, str], list[tuple[datetime, float]]] = defaultdict(list)
    wanted = {(w.device_id, w.name) for ws in watches.values() for w in ws if w.kind == TriggerKind.THRESHOLD}
    if not wanted:
        return []
    for reading in facts.readings:
        number = _number(reading.value)
        if number is not None and (reading.device_id, reading.name) in wanted:
            series[(reading.device_id, reading.name)].append((reading.ts, number))
    for device_id, reported in facts.reported.items():
        for name, value in reported.items():
            number = _number(value)
            if number is not None and (device_id, name) in wanted:
                series[(device_id, name)].append((facts.at or now, number))
    threshold_watches = [
        w for ws in watches.values() for w in ws if w.kind == TriggerKind.THRESHOLD and (w.device_id, w.name) in series
    ]
    if not threshold_watches:
        return []
    ids = sorted({w.automation_id for w in threshold_watches})
    armed = dict(
        Automation.objects.select_for_update().filter(pk__in=ids, enabled=True).order_by("pk")  # one lock order
        .values_list("pk", "armed")
    )
    changed: dict[int, bool] = {}
    found = []
    for watch in threshold_watches:
        if watch.automation_id not in armed:
            continue
        state = changed.get(watch.automation_id, armed[watch.automation_id])
        for ts, value in sorted(series[(watch.device_id, watch.name)], key=lambda point: point[0]):
            above = watch.direction == "above"
            crossed = value > watch.threshold if above else value < watch.threshold
            back = (value <= watch.threshold - watch.hysteresis if above
                    else value >= watch.threshold + watch.hysteresis)
            if state and crossed:
                state = False
                found.append(_Candidate(watch, {
                    "kind": "threshold", "device": watch.device_id, "property": watch.name, "value": value,
                    "direction": watch.direction, "threshold": watch.threshold, "at": ts.isoformat(),
                }, ts))
            elif not state and back:
                state = True
        if state != armed[watch.automation_id]:
            changed[watch.automation_id] = state
        else:
            changed.pop(watch.automation_id, None)
    for value in (True, False):
        flipped = [pk for pk, state in changed.items() if state is value]
        if flipped:
            Automation.objects.filter(pk__in=flipped).update(armed=value)
    return found


def _chains(candidates: list[_Candidate], now: datetime) -> dict[str, list[list[int]]]:
    """For each triggering device: the chains of the runs that acted on it recently, latest first."""
    devices = sorted({c.watch.device_id for c in candidates})
    rows = Effect.objects.filter(device_id__in=devices, at__gte=now - CAUSATION_WINDOW).order_by("-at")
    found: dict[str, list[list[int]]] = defaultdict(list)
    for device_id, chain in rows.values_list("device_id", "chain"):
        found[device_id].append(list(chain))
    return found


def _recent_runs(automation_ids: list[int], now: datetime) -> dict[int, int]:
    _cap, window = rate_cap()
    rows = (Run.objects.filter(automation_id__in=automation_ids, created_at__gte=now - window)
            .values("automation_id").annotate(n=Count("id")).values_list("automation_id", "n"))
    return dict(rows)


def runs_create(candidates: list[_Candidate], *, now: datetime) -> list[Run]:
    """The runs of what matched: pending, or already stopped when they close a loop or pass the rate cap."""
    if not candidates:
        return []
    automation_ids = sorted({c.watch.automation_id for c in candidates})
    owners = dict(Automation.objects.filter(pk__in=automation_ids).values_list("pk", "owner_id"))
    chains = _chains(candidates, now)
    recent = _recent_runs(automation_ids, now)
    cap, _window = rate_cap()
    runs = []
    for candidate in candidates:
        automation_id = candidate.watch.automation_id
        if automation_id not in owners:
            continue
        status, reason, detail, chain = RunStatus.PENDING, "", "", []
        earlier = chains.get(candidate.watch.device_id, [])
        looping = next((c for c in earlier if automation_id in c), None)
        if earlier:
            chain = earlier[0] if looping is None else looping
        recent[automation_id] = recent.get(automation_id, 0) + 1
        if looping is not None:
            cycle = [*looping[looping.index(automation_id):], automation_id]
            status, reason = RunStatus.STOPPED, StopReason.LOOP
            detail = "Loop: " + " → ".join(f"#{pk}" for pk in cycle)
        elif len(chain) >= MAX_CHAIN:
            status, reason, detail = RunStatus.STOPPED, StopReason.CHAIN, f"{len(chain)} automations in a row"
        elif recent[automation_id] > cap:
            status, reason = RunStatus.STOPPED, StopReason.RATE
            detail = f"More than {cap} runs within {int(rate_cap()[1].total_seconds())} seconds"
        finished = now if status == RunStatus.STOPPED else None
        runs.append(Run(automation_id=automation_id, owner_id=owners[automation_id], status=status,
                        cause=candidate.cause, chain=chain, actions=[], reason=reason, detail=detail,
                        finished_at=finished))
    return Run.objects.bulk_create(runs)


def on_device_facts(sender: Any, *, facts: DeviceFacts, **kwargs: Any) -> None:
    """The `device_facts` receiver: runs for the automations these facts trigger, in the facts' transaction."""
    device_ids = {e.device_id for e in facts.events} | {r.device_id for r in facts.readings} | set(facts.reported)
    if not device_ids:
        return
    watches = index.lookup(device_ids)
    if not watches:
        return
    now = timezone.now()
    try:
        # a savepoint: a failure here must not roll back the device data the gateway is storing (it is logged, and
        # those facts trigger nothing)
        with transaction.atomic():
            candidates = _event_candidates(facts, watches) + _threshold_candidates(facts, watches, now)
            runs = runs_create(candidates, now=now)
    except Exception:  # a failure must never stop ingestion
        logger.exception("automations: could not match a batch of device facts")
        return
    pending = [run.pk for run in runs if run.status == RunStatus.PENDING]
    if pending:
        from makercloud.automations import runs as executor

        transaction.on_commit(lambda: executor.dispatch(pending))
