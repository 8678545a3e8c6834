"""A keyed work queue with timers, in the manner of client-go's workqueue.

A key waits in the queue at most once however often it is added; a key being processed is never
handed to a second worker at the same time (an ``add`` while it runs queues it again for after).
``add_at`` schedules a key for a moment in the future: this is how every time rule of the emulator
(backoffs, sleeps, timeouts, TTLs, cron) wakes up, without polling.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections import deque
from collections.abc import Hashable
from datetime import datetime

from kontinue_sandbox.emulator.times import Clock


class WorkQueue:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._queue: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._waiters: deque[asyncio.Future[None]] = deque()
        self._timers: list[tuple[float, int, Hashable]] = []
        self._timer_due: dict[Hashable, float] = {}
        self._seq = itertools.count()
        self._timer_wakeup = asyncio.Event()
        self._closed = False

    def __len__(self) -> int:
        return len(self._queue)

    def add(self, key: Hashable) -> None:
        if self._closed or key in self._dirty:
            return
        self._dirty.add(key)
        if key not in self._processing:
            self._queue.append(key)
            self._notify()

    def _notify(self) -> None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    def add_at(self, key: Hashable, when: datetime) -> None:
        """Queue ``key`` when the clock reaches ``when`` (now if it already has)."""
        due = self._clock.loop_time_at(when)
        loop = asyncio.get_running_loop()
        if due <= loop.time():
            self.add(key)
            return
        known = self._timer_due.get(key)
        if known is not None and known <= due:
            return  # an earlier (or equal) wake-up is already planned; it re-checks then
        self._timer_due[key] = due
        heapq.heappush(self._timers, (due, next(self._seq), key))
        self._timer_wakeup.set()

    async def get(self) -> Hashable:
        while not self._queue:
            waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._notify()  # pass the wake-up on to another worker
                raise
        key = self._queue.popleft()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if key in self._dirty:
            self._queue.append(key)
            self._notify()

    def close(self) -> None:
        self._closed = True

    async def run_timers(self) -> None:
        """Move keys whose time has come into the queue; runs for the queue's lifetime."""
        loop = asyncio.get_running_loop()
        while True:
            self._timer_wakeup.clear()
            now = loop.time()
            while self._timers and self._timers[0][0] <= now:
                due, _, key = heapq.heappop(self._timers)
                if self._timer_due.get(key) == due:
                    del self._timer_due[key]
                self.add(key)
            timeout = self._timers[0][0] - now if self._timers else None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._timer_wakeup.wait(), timeout)
