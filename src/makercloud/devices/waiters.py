"""Waiting for an invocation's result: poll the database with a short back-off, woken early within this process.

The database is the source of truth (DESIGN §6): a waiter always re-reads the row, and polls it on a back-off
(5 ms, 10 ms, then every 15 ms) so a reply written by another process is seen promptly. When the reply is written
in this process through `services.invocation_complete`, `wake` cuts the wait short — an optimisation, never a
dependency.
"""

import asyncio
import threading
from collections import defaultdict
from collections.abc import Awaitable, Callable

FIRST_POLL = 0.005
LONGEST_POLL = 0.015

_lock = threading.Lock()
_waiting: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = defaultdict(set)


def wake(invocation_id: str) -> None:
    """Called after a reply commits: wake whoever in this process waits for it. Safe from any thread."""
    with _lock:
        waiting = _waiting.pop(invocation_id, set())
    for loop, event in waiting:
        try:
            loop.call_soon_threadsafe(event.set)
        except RuntimeError:  # that loop has closed
            continue


async def wait_until(
    invocation_id: str, *, settled: Callable[[], Awaitable[bool]], timeout: float
) -> bool:
    """Wait until `settled()` is true or `timeout` seconds pass. Returns the last answer of `settled()`."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    delay = FIRST_POLL
    event = asyncio.Event()
    entry = (loop, event)
    with _lock:
        _waiting[invocation_id].add(entry)
    try:
        while True:
            if await settled():
                return True
            left = end - loop.time()
            if left <= 0:
                return False
            try:
                await asyncio.wait_for(event.wait(), timeout=min(delay, left))
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
