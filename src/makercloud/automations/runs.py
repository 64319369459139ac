"""Executing runs (at least once) and firing schedules (never early, never twice).

A run is claimed with a lease (a conditional UPDATE: pending, or running with its lease expired — its worker died);
whoever wins executes it, action by action, in one transaction with its log and status (the messages to devices
leave after that commit). Each action is idempotent under retry as well:
- an invocation carries the idempotency key `automation-run-<run>-<index>`, so a retried run gets the invocation
  the first attempt created and nothing is sent to the device twice;
- a desired state is a merge: setting it again changes nothing;
- a notification carries the key `run-<run>-<index>`: the inbox holds it once.

Runs are dispatched right after the commit that created them: on this process's small thread pool (the latency from
a device's fact to the next device's invocation is then a few milliseconds), or inline when jobs run inline (tests).
`runs_recover` (a periodic job) picks up whatever a crash left: pending runs nobody claimed and expired leases.
"""

import logging
import threading
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, close_old_connections, transaction
from django.db.models import F, Q
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _

from makercloud.accounts.models import User
from makercloud.automations import access, grants, schedules
from makercloud.automations.models import Automation, Effect, Run, RunStatus, StopReason, TriggerKind
from makercloud.core.errors import DomainError
from makercloud.devices import services as device_services
from makercloud.devices.models import Device

logger = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5
STALE = timedelta(seconds=10)  # a pending run this old was not dispatched (its process died): recover it
MISSED_GRACE = timedelta(minutes=10)  # a schedule fired later than this after its time is recorded as missed
EFFECT_KEEP = timedelta(minutes=10)

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _inline() -> bool:
    return bool(settings.HUEY.get("immediate"))


def dispatch(run_ids: Iterable[int]) -> None:
    """Execute these runs now: inline when jobs run inline, else on the process's thread pool."""
    ids = list(run_ids)
    if _inline():
        for run_id in ids:
            try:
                run_execute(run_id=run_id)
            except Exception:  # as on the pool: logged, the lease expires and runs_recover retries it
                logger.exception("automation run %s failed; it will be retried", run_id)
        return
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=4, thread_name_prefix="automations")
    for run_id in ids:
        _pool.submit(_execute_in_thread, run_id)


def _execute_in_thread(run_id: int) -> None:
    close_old_connections()
    try:
        run_execute(run_id=run_id)
    except Exception:  # the lease expires and runs_recover retries it
        logger.exception("automation run %s failed; it will be retried", run_id)
    finally:
        close_old_connections()


def _claim(run_id: int, now: Any = None) -> Run | None:
    now = now or timezone.now()
    claimable = Q(status=RunStatus.PENDING) | Q(status=RunStatus.RUNNING, lease_until__lt=now)
    claimed = Run.objects.filter(claimable, pk=run_id).update(
        status=RunStatus.RUNNING, lease_until=now + LEASE, attempts=F("attempts") + 1,
        started_at=Coalesce(F("started_at"), now),
    )
    if not claimed:
        return None
    return Run.objects.select_related("automation", "scene", "owner").get(pk=run_id)


def _finish(run: Run, status: str, *, reason: str = "", detail: str = "") -> Run:
    run.status, run.reason, run.detail = status, reason, detail[:2000]
    run.finished_at, run.lease_until = timezone.now(), None
    run.save(update_fields=["status", "reason", "detail", "finished_at", "lease_until", "log", "actions", "cause"])
    return run


def _devices_used(run: Run) -> list[str]:
    used = [action["device"] for action in run.actions if action.get("device")]
    if run.automation is not None and run.automation.trigger.get("device"):
        used.insert(0, run.automation.trigger["device"])
    return list(dict.fromkeys(used))


def _rule(run: Run) -> tuple[access.DeviceRule, str]:
    """The devices rule of the run's automation or scene, and why it may not act at all (the empty string when it
    may): an app's grant must still be in force with devices:control."""
    grant_id = run.automation.grant_id if run.automation is not None else (run.scene.grant_id if run.scene else None)
    if grant_id is None:
        return access.DeviceRule(person=run.owner, grant=None), ""
    grant = grants.active(grant_id=grant_id)
    return access.DeviceRule(person=run.owner, grant=grant), grants.refusal(grant=grant)


def _act(run: Run, index: int, action: dict[str, Any], owner: User, devices: dict[str, Device]) -> dict[str, Any]:
    kind = action["kind"]
    entry: dict[str, Any] = {"index": index, "kind": kind, "device": action.get("device")}
    try:
        if kind == "invoke":
            invocation, created = device_services.invocation_request(
                actor=owner, device=devices[action["device"]], action=action["action"], input=action.get("input"),
                idempotency_key=f"automation-run-{run.pk}-{index}",
            )
            entry.update(outcome="ok", invocation=str(invocation.pk), sent=created)
        elif kind == "set_desired":
            device = device_services.device_set_desired(actor=owner, device=devices[action["device"]],
                                                        state=action["state"])
            entry.update(outcome="ok", desired_version=device.desired_version)
        elif kind == "notify":
            from makercloud.notifications.services import notify

            url = f"/automations/{run.automation_id}/" if run.automation_id else "/scenes/"
            note = notify(person=owner, title=action["title"], body=action.get("body", ""), url=url,
                          key=f"run-{run.pk}-{index}")
            entry.update(outcome="ok", notification=note.pk)
        else:
            entry.update(outcome="error", error=f"unknown action kind {kind!r}")
    except DomainError as error:
        entry.update(outcome="error", error=str(error.detail), type=error.type)
    return entry


def run_execute(*, run_id: int, now: Any = None) -> Run | None:
    """Claim the run and carry out its actions; None when someone else holds it or it is settled."""
    run = _claim(run_id, now)
    if run is None:
        return None
    # one transaction for the whole run (the claim above is committed): its invocations, desired states and
    # notifications commit together with its log and status — and only then are they sent (on commit) — so a crash
    # leaves either nothing (a retry does it all) or everything; and a run costs two commits, not one per statement
    with transaction.atomic():
        return _carry_out(run)


def _carry_out(run: Run) -> Run:
    if run.attempts > MAX_ATTEMPTS:
        return _finish(run, RunStatus.FAILED, reason=StopReason.GAVE_UP,
                       detail=_("Gave up after %(n)s attempts.") % {"n": MAX_ATTEMPTS})
    automation = run.automation
    if automation is not None and not automation.enabled:
        return _finish(run, RunStatus.STOPPED, reason=StopReason.DISABLED, detail=_("The automation is off."))
    if not run.actions:  # the actions as they are at the first attempt, kept for every retry
        run.actions = list(automation.actions if automation is not None else run.scene.actions)  # type: ignore[union-attr]
    owner = run.owner
    used = Device.objects.select_related("model", "organisation").filter(pk__in=_devices_used(run))
    devices = {device.pk: device for device in used}
    rule, refusal = _rule(run)
    trigger_device = automation.trigger.get("device") if automation is not None else None
    if not refusal and trigger_device and not rule.allows(devices.get(trigger_device)):
        # the watched device is no longer theirs: its facts are someone else's, so nothing is done with them
        refusal = rule.refusal_at_run(devices.get(trigger_device), trigger_device)
    if refusal:
        run.cause = {k: v for k, v in run.cause.items() if k != "data"}  # not the data of a device no longer theirs
        return _finish(run, RunStatus.STOPPED, reason=StopReason.PERMISSION, detail=refusal)
    run.log = []
    skipped: list[str] = []
    now = timezone.now()
    for index, action in enumerate(run.actions):
        device_id = action.get("device")
        if device_id and not rule.allows(devices.get(device_id)):
            # a device that changed hands since the automation was saved: skipped, the other actions still run
            why = rule.refusal_at_run(devices.get(device_id), device_id)
            skipped.append(why)
            run.log.append({"index": index, "kind": action["kind"], "device": device_id, "outcome": "skipped",
                            "error": why, "type": "device-not-controllable"})
            continue
        if automation is not None and device_id:
            # before acting: the device may answer (and its fact arrive) before this thread gets on
            Effect.objects.create(device_id=device_id, run=run, chain=[*run.chain, automation.pk], at=now)
        run.log.append(_act(run, index, action, owner, devices))
    detail = " ".join(dict.fromkeys(skipped))
    if skipped and len(skipped) == len(run.log):
        return _finish(run, RunStatus.STOPPED, reason=StopReason.PERMISSION, detail=detail)
    failed = [entry for entry in run.log if entry["outcome"] == "error"]
    return _finish(run, RunStatus.FAILED if failed else RunStatus.DONE,
                   reason=StopReason.PERMISSION if skipped else "", detail=detail)


def runs_recover(*, now: Any = None) -> int:
    """Execute runs that a crash left behind: pending and not dispatched, or running past their lease."""
    now = now or timezone.now()
    stuck = Run.objects.filter(
        Q(status=RunStatus.PENDING, created_at__lt=now - STALE) | Q(status=RunStatus.RUNNING, lease_until__lt=now)
    ).values_list("pk", flat=True)
    count = 0
    for run_id in list(stuck[:500]):
        if run_execute(run_id=run_id, now=now) is not None:
            count += 1
    Effect.objects.filter(at__lt=now - EFFECT_KEEP).delete()
    return count


# Schedules -----------------------------------------------------------------------------------------------------


def schedules_fire(*, now: Any = None) -> list[Run]:
    """Fire every schedule whose time has come, once: a run for it (or a skipped one when the platform was down
    past the grace), and the next time stored — both in one transaction, guarded by the time it read."""
    now = now or timezone.now()
    due = Automation.objects.filter(trigger_kind=TriggerKind.SCHEDULE, enabled=True, next_run_at__lte=now)
    runs = []
    for automation in due.only("pk", "owner_id", "trigger", "next_run_at")[:1000]:
        slot = automation.next_run_at
        assert slot is not None
        following = schedules.next_after(cron=automation.trigger["cron"], timezone=automation.trigger["timezone"],
                                         after=max(now, slot))
        try:
            with transaction.atomic():
                moved = Automation.objects.filter(pk=automation.pk, next_run_at=slot, enabled=True).update(
                    next_run_at=following
                )
                if not moved:  # another worker fired it, or it was changed: nothing to do
                    continue
                missed = now - slot > MISSED_GRACE
                run = Run.objects.create(
                    automation_id=automation.pk, owner_id=automation.owner_id, scheduled_for=slot, actions=[],
                    cause={"kind": "schedule", "scheduled_for": slot.isoformat()},
                    status=RunStatus.SKIPPED if missed else RunStatus.PENDING,
                    reason=StopReason.MISSED if missed else "", finished_at=now if missed else None,
                )
        except IntegrityError:  # this slot already has its run
            continue
        runs.append(run)
    pending = [run.pk for run in runs if run.status == RunStatus.PENDING]
    if pending:
        dispatch(pending)
    return runs
