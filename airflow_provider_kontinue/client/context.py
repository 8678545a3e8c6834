"""Deadlines and cancellation for client calls: the Python face of Go's ``context.Context``.

``client.with_timeout(30)`` gives every operation of the derived client 30 seconds;
``client.with_context(CallContext(deadline=..., cancel=event))`` adds an absolute deadline or a
``threading.Event`` that cancels calls in flight (async code cancels tasks the usual asyncio way).
Running out of time raises :class:`~.errors.KontinueTimeoutError`.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from .errors import KontinueTimeoutError


@dataclass(frozen=True)
class CallContext:
    """Limits that apply to each operation: a relative ``timeout``, an absolute ``deadline``
    (``time.time()`` seconds) and a ``cancel`` event."""

    timeout: float | None = None
    deadline: float | None = None
    cancel: threading.Event | None = None

    def start(self) -> Deadline:
        """The deadline of one operation starting now."""
        limits = [time.monotonic() + self.timeout] if self.timeout is not None else []
        if self.deadline is not None:
            limits.append(time.monotonic() + (self.deadline - time.time()))
        return Deadline(min(limits) if limits else None, self.cancel)


BACKGROUND = CallContext()


@dataclass(frozen=True)
class Deadline:
    """When one running operation must end (``time.monotonic`` seconds), and its cancel event."""

    at: float | None
    cancel: threading.Event | None = None

    def remaining(self) -> float | None:
        """Seconds left, ``None`` for no limit; raises once the time is up or the call was cancelled."""
        if self.cancel is not None and self.cancel.is_set():
            raise KontinueTimeoutError("the call was cancelled")
        if self.at is None:
            return None
        left = self.at - time.monotonic()
        if left <= 0:
            raise KontinueTimeoutError("the call ran past its deadline")
        return left

    def bound(self, seconds: float) -> float:
        """``seconds`` capped by what is left of the deadline."""
        left = self.remaining()
        return seconds if left is None else min(seconds, left)
