"""Kubernetes timestamps: RFC 3339 strings <-> timezone-aware UTC :class:`datetime.datetime`.

Kubernetes writes ``metav1.Time`` as ``"2025-03-01T10:00:00Z"`` (UTC, second precision). Models
hold such values as aware UTC datetimes and write them back in that exact form, so reading an
object and writing it back changes no byte. Values with sub-second precision (``metav1.MicroTime``)
are written with six fractional digits, as Kubernetes does.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from typing import Annotated

from pydantic import PlainSerializer, PlainValidator, WithJsonSchema

__all__ = ["Timestamp", "format_timestamp", "parse_timestamp", "to_utc", "utc_now"]

_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?([Zz]|[+-]\d{2}:\d{2})",
    re.ASCII,
)


def to_utc(value: datetime) -> datetime:
    """Return ``value`` in UTC; a naive datetime is taken to be UTC already."""
    if value.tzinfo is None or value.utcoffset() is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def parse_timestamp(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``"2025-03-01T10:00:00Z"``) into an aware UTC datetime.

    Fractions finer than a microsecond are truncated. Raises ``ValueError`` naming the value.
    """
    match = _RFC3339.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise ValueError(f"invalid timestamp {text!r}: expected RFC 3339, e.g. '2025-03-01T10:00:00Z'")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    microsecond = int((fraction or "0")[:6].ljust(6, "0"))
    if offset in ("Z", "z"):
        tz = timezone.utc
    else:
        sign = -1 if offset[0] == "-" else 1
        tz = timezone(sign * timedelta(hours=int(offset[1:3]), minutes=int(offset[4:6])))
    try:
        value = datetime(
            int(year), int(month), int(day), int(hour), int(minute), int(second), microsecond, tzinfo=tz
        )
    except ValueError as exc:
        raise ValueError(f"invalid timestamp {text!r}: {exc}") from None
    return value.astimezone(timezone.utc)


def format_timestamp(value: datetime) -> str:
    """Format as Kubernetes does: ``"2025-03-01T10:00:00Z"``, with ``.ffffff`` only if non-zero."""
    utc = to_utc(value)
    text = utc.strftime("%Y-%m-%dT%H:%M:%S")
    if utc.microsecond:
        text += f".{utc.microsecond:06d}"
    return text + "Z"


def utc_now() -> datetime:
    """The current time in UTC at second precision, the resolution Kubernetes stores."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _to_timestamp(value: object) -> datetime:
    """Pydantic validator: accept an RFC 3339 string or a datetime; always return aware UTC."""
    if isinstance(value, datetime):
        return to_utc(value)
    if isinstance(value, str):
        return parse_timestamp(value)
    raise ValueError(f"invalid timestamp {value!r}: expected an RFC 3339 string or a datetime")


Timestamp = Annotated[
    datetime,
    PlainValidator(_to_timestamp),
    PlainSerializer(format_timestamp, return_type=str, when_used="json-unless-none"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""Pydantic field type for Kubernetes timestamps: aware UTC ``datetime``, RFC 3339 ``Z`` in JSON."""
