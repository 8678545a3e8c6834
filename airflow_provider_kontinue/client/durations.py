"""kontinue durations: Go duration strings (plus a ``d`` day unit) <-> :class:`datetime.timedelta`.

kontinue stores every duration as a string (``"5s"``, ``"1h30m"``, ``"720h"``). Writers emit Go
syntax; readers must also accept ``d`` (= 24h) because the kontinue docs write ``7d`` (spec §2).
This module gives users real ``timedelta`` values while keeping the exact spelling the server sent:
a parsed value is a :class:`ParsedDuration`, a ``timedelta`` that remembers its text, so reading an
object and writing it back never turns ``"90m"`` into ``"1h30m"`` or ``"7d"`` into ``"168h"``.

Precision: ``timedelta`` resolves microseconds, Go nanoseconds. A value finer than a microsecond is
rounded to the nearest microsecond (half to even); its original text is still what gets written back.
"""

from __future__ import annotations

import re
from datetime import timedelta
from fractions import Fraction
from typing import Annotated, Any

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

__all__ = ["Duration", "ParsedDuration", "duration_text", "format_duration", "parse_duration"]

_NS_PER_UNIT: dict[str, int] = {
    "ns": 1,
    "us": 1_000,
    "\u00b5s": 1_000,  # micro sign, what Go prints
    "\u03bcs": 1_000,  # Greek small letter mu, which Go also accepts
    "ms": 1_000_000,
    "s": 1_000_000_000,
    "m": 60 * 1_000_000_000,
    "h": 3_600 * 1_000_000_000,
    "d": 86_400 * 1_000_000_000,
}
_UNIT = "ns|us|\u00b5s|\u03bcs|ms|s|m|h|d"  # multi-letter units before their one-letter suffixes
_COMPONENT = re.compile(rf"(\d*)(?:\.(\d*))?({_UNIT})", re.ASCII)
_DURATION = re.compile(rf"[-+]?(?:(?:\d+\.?\d*|\.\d+)(?:{_UNIT}))+", re.ASCII)
_ZERO = re.compile(r"[-+]?0", re.ASCII)

_US_PER_SECOND = 1_000_000
_US_PER_MINUTE = 60 * _US_PER_SECOND
_US_PER_HOUR = 60 * _US_PER_MINUTE

PATTERN = rf"^([0-9]+(\.[0-9]+)?({_UNIT}))+$"
"""What the CRDs accept for a duration field (non-negative, at least one unit)."""


class ParsedDuration(timedelta):
    """A :class:`~datetime.timedelta` that remembers the string it was parsed from.

    It compares, hashes and computes exactly like the plain ``timedelta`` it equals (arithmetic
    returns plain ``timedelta`` values); only serialisation looks at :attr:`text`, so an object
    read from the server is written back with the server's own spelling.
    """

    __slots__ = ("_text",)
    _text: str

    def __new__(cls, value: timedelta, text: str) -> ParsedDuration:
        self = super().__new__(cls, days=value.days, seconds=value.seconds, microseconds=value.microseconds)
        self._text = text
        return self

    @property
    def text(self) -> str:
        """The string this duration was parsed from, e.g. ``"90m"``."""
        return self._text

    def __repr__(self) -> str:
        return f"ParsedDuration({self._text!r})"

    def __reduce__(self) -> tuple[Any, ...]:
        return (ParsedDuration, (timedelta(self.days, self.seconds, self.microseconds), self._text))


def parse_duration(text: str) -> ParsedDuration:
    """Parse a kontinue duration such as ``"1h30m"``, ``"7d"``, ``"500ms"`` or ``"1.5h"``.

    Accepts everything Go's ``time.ParseDuration`` accepts (units ``ns``, ``us``/``µs``, ``ms``,
    ``s``, ``m``, ``h``, decimal fractions, an optional sign, a bare ``"0"``) plus ``d`` = 24h.
    Returns a :class:`ParsedDuration`, usable as a ``timedelta``.

    Raises:
        ValueError: naming the offending value when it is not a duration.
    """
    if not isinstance(text, str):
        raise ValueError(f"invalid duration {text!r}: expected a string such as '30s' or '1h30m'")
    if _ZERO.fullmatch(text):
        return ParsedDuration(timedelta(0), text)
    if not _DURATION.fullmatch(text):
        raise ValueError(
            f"invalid duration {text!r}: expected a number and a unit (ns, us, ms, s, m, h, d) "
            "repeated, e.g. '30s', '1h30m', '1.5h' or '7d'"
        )
    negative = text.startswith("-")
    total_ns = Fraction(0)
    for whole, fraction, unit in _COMPONENT.findall(text.lstrip("+-")):
        scale = _NS_PER_UNIT[unit]
        total_ns += int(whole or "0") * scale
        if fraction:
            total_ns += Fraction(int(fraction), 10 ** len(fraction)) * scale
    microseconds = round(total_ns / 1000)
    try:
        value = timedelta(microseconds=-microseconds if negative else microseconds)
    except OverflowError:
        raise ValueError(f"invalid duration {text!r}: too large") from None
    return ParsedDuration(value, text)


def format_duration(value: timedelta) -> str:
    """Format a ``timedelta`` as the shortest Go-style string that means exactly that duration.

    Go's own ``String()`` form without its zero units: ``"1h30m"`` not ``"1h30m0s"``, ``"720h"``
    (hours are the largest unit, because Go's parser has no ``d``), ``"1.5s"``, ``"500ms"``,
    ``"250us"``, ``"0s"``. The result parses back to the same value here and in Go.
    """
    total = (value.days * 86_400 + value.seconds) * _US_PER_SECOND + value.microseconds
    if total == 0:
        return "0s"
    sign = "-" if total < 0 else ""
    total = abs(total)
    if total < 1_000:
        return f"{sign}{total}us"
    if total < _US_PER_SECOND:
        return f"{sign}{_decimal(total, 1_000)}ms"
    hours, rest = divmod(total, _US_PER_HOUR)
    minutes, rest = divmod(rest, _US_PER_MINUTE)
    parts = [sign]
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if rest:
        parts.append(f"{_decimal(rest, _US_PER_SECOND)}s")
    return "".join(parts)


def duration_text(value: timedelta) -> str:
    """The string to write for ``value``: its original text if it was parsed, else the canonical form."""
    if isinstance(value, ParsedDuration):
        return value.text
    return format_duration(value)


def _decimal(amount: int, scale: int) -> str:
    """``amount / scale`` as a decimal without trailing zeros (``1500, 1000 -> "1.5"``)."""
    whole, fraction = divmod(amount, scale)
    if not fraction:
        return str(whole)
    digits = str(fraction).rjust(len(str(scale)) - 1, "0").rstrip("0")
    return f"{whole}.{digits}"


def _to_duration(value: object) -> timedelta:
    """Pydantic validator: accept a duration string or a ``timedelta``.

    A bare number is refused: ``delete_after=24`` could mean seconds or hours, and kontinue (like
    Go's ``metav1.Duration``) writes durations as strings, so the user is asked to say which.
    """
    if isinstance(value, timedelta):
        return value
    if isinstance(value, str):
        return parse_duration(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        raise ValueError(
            f"invalid duration {value!r}: a bare number does not say its unit; write a string such "
            f"as '{value}s' or '{value}h', or a timedelta"
        )
    raise ValueError(
        f"invalid duration {value!r}: expected a string such as '30s' or a timedelta, "
        f"got {type(value).__name__}"
    )


Duration = Annotated[
    timedelta,
    PlainValidator(_to_duration),
    PlainSerializer(duration_text, return_type=str, when_used="json-unless-none"),
    WithJsonSchema({"type": "string", "pattern": PATTERN}),
]
"""Pydantic field type for kontinue durations.

Accepts a duration string (kept verbatim for writing back) or a ``timedelta``, never a bare number;
holds a ``timedelta``; serialises to a string in JSON mode (``model_dump(mode="json")``).
"""
