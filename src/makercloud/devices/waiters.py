"""Waiting for an invocation's result: woken within this process, polling the database as the safety net.

The database is the source of truth (DESIGN §6): a waiter always re-reads the row before it answers. When the reply
is written in this process through `services.invocation_complete` (the gateway inside `makercloud up`), `wake`
cuts the wait short; a reply written by another process is only seen by polling.

So the poll rate depends on whether wakes happen here. Until this process has seen a wake in the last
`WAKES_TRUSTED_FOR` seconds (a `makercloud serve` whose replies are ingested by separate gateways), a waiter polls on
a short back-off (5 ms, 10 ms, then every 15 ms) so such replies are seen promptly. Once wakes do happen here, it
relies on them and polls only every `SAFETY_POLL` seconds — for replies another gateway process may still ingest —
which saves a hundred concurrent waiters several queries each. A wake that arrives before its waiter registers is
remembered for a moment (`EARLY_WAKE_KEPT`), so the waiter does not sleep through it.
"""

import asyncio
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Awaitable, Callable

FIRST_POLL = 0.005
LONGEST_POLL = 0.015
SAFETY_POLL = 0.05
WAKES_TRUSTED_FOR = 60.0
EARLY_WAKE_KEPT = 5.0
_EARLY_WAKES_MAX = 10_000

_lock = threading.Lock()
_waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)
_early: OrderedDict[str, float] = OrderedDict()  # woken with nobody waiting yet: id -> when
_last_wake = -WAKES_TRUSTED_FOR  # time.monotonic() of the last wake in this process


def wake(invocation_id: str) -> None:
    """Called after a reply commits: wake whoever in this process waits for it. Safe from any thread."""
    global _last_wake
    now = time.monotonic()
    with _lock:
        _last_wake = now
        waiting = _waiting.pop(invocation_id, set())
        if not waiting:
            _early[invocation_id] = now
            while _early and (len(_early) > _EARLY_WAKES_MAX or next(iter(_early.values())) < now - EARLY_WAKE_KEPT):
                _early.popitem(last=False)
    for loop, event in waiting:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # that loop has closed
            continue


def wakes_trusted() -> bool:
    """Whether replies are being completed in this process (so `wake` is worth relying on)."""
    return time.monotonic() - _last_wake < WAKES_TRUSTED_FOR


async def wait_until(
    invocation_id: str, *, settled: Callable[[], Awaitable[bool]], timeout: float
) -> bool:
    """Wait until `settled()` is true or `timeout` seconds pass. Returns the last answer of `settled()`.

    `settled()` is asked at once — unless wakes are trusted here and this invocation's has not come yet — then on
    every wake and every poll.
    """
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    delay = FIRST_POLL
    event = asyncio.Event()
    entry = (loop, event)
    with _lock:
        early = _early.pop(invocation_id, None) is not None
        _waiting[invocation_id].add(entry)
    ask = early or not wakes_trusted()
    try:
        while True:
            if ask and await settled():
                return True
            left = end - loop.time()
            if left <= 0:
                if ask:
                    return False
                ask = True  # never answer without having asked once
                continue
            ask = True
            poll = SAFETY_POLL if wakes_trusted() else delay
            try:
                await asyncio.wait_for(event.wait(), timeout=min(poll, left))
            except TimeoutError:
                delay = min(delay * 2, LONGEST_POLL)
            else:
                event.clear()
                with _lock:
                    _waiting[invocation_id].add(entry)
    finally:
        with _lock:
            remaining = _waiting.get(invocation_id)
            if remaining is not None:
                remaining.discard(entry)
                if not remaining:
                    _waiting.pop(invocation_id, None)
