"""Client-side rate limiting: a token bucket honouring ``qps`` and ``burst`` like client-go's.

One bucket belongs to one client and everything derived from it (``with_namespace``,
``with_timeout``), across threads and asyncio tasks alike: ``reserve`` takes a token under a lock and
says how long the caller must wait for it, so the sync driver sleeps and the async driver awaits
``asyncio.sleep`` for the same reservation logic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class TokenBucket:
    """``burst`` requests at once, then ``qps`` per second on average."""

    def __init__(self, qps: float, burst: int, clock: Callable[[], float] = time.monotonic) -> None:
        if qps <= 0:
            raise ValueError(f"qps must be positive, got {qps}")
        if burst < 1:
            raise ValueError(f"burst must be at least 1, got {burst}")
        self.qps = float(qps)
        self.burst = int(burst)
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._updated = clock()

    def reserve(self) -> float:
        """Take one token; return the seconds to wait before using it (0 when one is available)."""
        with self._lock:
            now = self._clock()
            self._tokens = min(self.burst, self._tokens + (now - self._updated) * self.qps)
            self._updated = now
            self._tokens -= 1.0
            if self._tokens >= 0:
                return 0.0
            return -self._tokens / self.qps
