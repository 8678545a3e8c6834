"""Time for the emulator: durations, timestamps, and the clock every time rule reads.

kontinue durations are Go duration strings plus a ``d`` unit (spec §2); timestamps are RFC 3339 UTC
strings. The emulator writes timestamps with millisecond precision (``2025-03-01T10:00:00.250Z``,
the fraction left out when it is zero) because a fast speed factor turns a ``5s`` backoff into tens
of milliseconds, which a second-precision ``nextAttemptAt`` could not express.

``Clock`` is the one source of "now" and of sleeping, so tests of the pure logic can inject a fake
one; ``Speed`` turns a duration from a spec (a backoff, a timeout, a TTL, a sleep) into the real
time the emulator waits for it.
"""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Protocol

_UNITS: dict[str, float] = {
    "ns": 1e-9,
    "us": 1e-6,
    "\u00b5s": 1e-6,
    "\u03bcs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
}
_COMPONENT = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|\u00b5s|\u03bcs|ms|s|m|h|d)")
_DURATION = re.compile(r"(?:(?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|\u00b5s|\u03bcs|ms|s|m|h|d))+")
_TIMESTAMP = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})"
)


def parse_duration(value: object) -> timedelta:
    """A kontinue duration (``"5s"``, ``"1h30m"``, ``"7d"``, ``"0"``) or a number of seconds."""
    if isinstance(value, bool):
        raise ValueError(f"invalid duration {value!r}")
    if isinstance(value, (int, float)):
        if value < 0:
            raise ValueError(f"invalid duration {value!r}: negative")
        return timedelta(seconds=value)
    if not isinstance(value, str):
        raise ValueError(f"invalid duration {value!r}: expected a string such as '30s'")
    text = value.strip()
    if text == "0":
        return timedelta(0)
    if not _DURATION.fullmatch(text):
        raise ValueError(
            f"invalid duration {value!r}: expected a number and a unit (ms, s, m, h, d) repeated, "
            "e.g. '30s', '1h30m' or '7d'"
        )
    seconds = sum(float(number) * _UNITS[unit] for number, unit in _COMPONENT.findall(text))
    return timedelta(seconds=seconds)


def format_timestamp(value: datetime) -> str:
    """RFC 3339 UTC with ``Z``; milliseconds only when non-zero."""
    utc = value.astimezone(timezone.utc) if value.tzinfo else value.replace(tzinfo=timezone.utc)
    millis = utc.microsecond // 1000
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{millis:03d}Z" if millis else f"{text}Z"


def parse_timestamp(text: str) -> datetime:
    """An RFC 3339 timestamp as an aware UTC datetime (fractions beyond microseconds truncated)."""
    match = _TIMESTAMP.fullmatch(text.strip()) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid timestamp {text!r}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    micros = int((fraction or "0")[:6].ljust(6, "0"))
    if offset in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    parsed = datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micros, tzinfo=tz)
    return parsed.astimezone(timezone.utc)


def maybe_timestamp(value: object) -> datetime | None:
    """``parse_timestamp`` for optional status fields: absent or unreadable -> None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        return None


class Clock(Protocol):
    """Where the emulator gets the time from and how it waits."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` of this clock's time."""
        ...

    def loop_time_at(self, when: datetime) -> float:
        """The event-loop time (``loop.time()``) at which this clock reaches ``when``."""
        ...


class RealClock:
    """Wall-clock time; sleeping is ``asyncio.sleep``."""

    def now(self) -> datetime:
        return datetime.now(timezone.utc)

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))

    def loop_time_at(self, when: datetime) -> float:
        loop = asyncio.get_running_loop()
        return loop.time() + (when - self.now()).total_seconds()


@dataclass(frozen=True)
class Speed:
    """How much faster than real time the emulator runs: every spec duration is divided by it.

    ``Speed(20)`` turns a ``5s`` backoff into 250 ms and a ``1h`` sleep into 3 minutes. Timestamps
    the emulator writes stay real times (a backoff ending 250 ms later has ``nextAttemptAt`` 250 ms
    later), so clients never see a clock that runs ahead of the API server's.
    """

    factor: float = 1.0

    def __post_init__(self) -> None:
        if not self.factor > 0:
            raise ValueError(f"speed factor must be positive, got {self.factor!r}")

    def scale(self, duration: timedelta) -> timedelta:
        return duration / self.factor


def monotonic() -> float:
    return time.monotonic()
