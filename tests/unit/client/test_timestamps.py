"""Timestamps: RFC 3339 in, aware UTC datetimes out, written back exactly as Kubernetes writes them."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pydantic
import pytest

from airflow_provider_kontinue.client import Timestamp, format_timestamp, parse_timestamp
from airflow_provider_kontinue.client.timestamps import utc_now

UTC = timezone.utc


@pytest.mark.parametrize(
    "text", ["2025-03-01T10:00:00Z", "2024-02-29T23:59:59Z", "2025-03-01T10:00:00.123456Z"]
)
def test_kubernetes_timestamps_round_trip_byte_exact(text: str) -> None:
    assert format_timestamp(parse_timestamp(text)) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-03-01T10:00:00Z", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01t10:00:00z", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01T11:30:00+01:30", datetime(2025, 3, 1, 10, tzinfo=UTC)),
        ("2025-03-01T10:00:00.5Z", datetime(2025, 3, 1, 10, 0, 0, 500000, tzinfo=UTC)),
        ("2025-03-01T10:00:00.123456789Z", datetime(2025, 3, 1, 10, 0, 0, 123456, tzinfo=UTC)),
    ],
)
def test_timestamps_parse_to_aware_utc(text: str, expected: datetime) -> None:
    parsed = parse_timestamp(text)

    assert parsed == expected
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize("bad", ["", "2025-03-01", "2025-03-01T10:00Z", "2025-13-01T10:00:00Z", "yesterday"])
def test_bad_timestamp_raises_value_error_naming_it(bad: str) -> None:
    with pytest.raises(ValueError, match="invalid timestamp"):
        parse_timestamp(bad)


def test_naive_and_offset_datetimes_are_written_as_utc() -> None:
    assert format_timestamp(datetime(2025, 3, 1, 10)) == "2025-03-01T10:00:00Z"
    plus_two = timezone(timedelta(hours=2))
    assert format_timestamp(datetime(2025, 3, 1, 12, tzinfo=plus_two)) == "2025-03-01T10:00:00Z"


def test_now_is_utc_at_second_precision() -> None:
    now = utc_now()

    assert now.tzinfo is UTC
    assert now.microsecond == 0


class _Holder(pydantic.BaseModel):
    at: Timestamp | None = None


def test_timestamp_field_holds_datetimes_and_writes_strings_in_json() -> None:
    holder = _Holder(at="2025-03-01T10:00:00Z")

    assert holder.at == datetime(2025, 3, 1, 10, tzinfo=UTC)
    assert holder.model_dump(mode="json") == {"at": "2025-03-01T10:00:00Z"}
    assert holder.model_dump() == {"at": datetime(2025, 3, 1, 10, tzinfo=UTC)}
    with pytest.raises(pydantic.ValidationError, match="invalid timestamp"):
        _Holder(at=1740823200)
