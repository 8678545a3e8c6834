"""Durations: Go syntax plus days in, timedelta out, and back to a string the server accepts."""

from __future__ import annotations

import copy
import pickle
import re
from datetime import timedelta

import pydantic
import pytest

from airflow_provider_kontinue.client import SpawnOptions, ValidationError
from airflow_provider_kontinue.client.durations import (
    Duration,
    ParsedDuration,
    _to_duration,
    duration_text,
    format_duration,
    parse_duration,
)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("5s", timedelta(seconds=5)),
        ("1h30m", timedelta(hours=1, minutes=30)),
        ("90m", timedelta(minutes=90)),
        ("720h", timedelta(hours=720)),
        ("7d", timedelta(days=7)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("500ms", timedelta(milliseconds=500)),
        ("1.5h", timedelta(hours=1, minutes=30)),
        (".5s", timedelta(milliseconds=500)),
        ("1h0m0s", timedelta(hours=1)),
        ("250us", timedelta(microseconds=250)),
        ("250\u00b5s", timedelta(microseconds=250)),
        ("250\u03bcs", timedelta(microseconds=250)),
        ("2000ns", timedelta(microseconds=2)),
        ("0", timedelta(0)),
        ("+2s", timedelta(seconds=2)),
        ("-1m30s", -timedelta(minutes=1, seconds=30)),
    ],
)
def test_go_durations_and_days_parse_to_timedelta(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


def test_parsed_duration_remembers_its_spelling() -> None:
    parsed = parse_duration("90m")

    assert isinstance(parsed, timedelta)
    assert parsed.text == "90m"
    assert duration_text(parsed) == "90m"


@pytest.mark.parametrize(
    "bad", ["", "1", "h", "5 s", " 5s", "5s ", "1.5", "5x", "--1s", "1h-5m", "5S", "\u0665s"]
)
def test_bad_duration_raises_value_error_naming_the_value(bad: str) -> None:
    with pytest.raises(ValueError, match=repr(bad).replace("\\", "\\\\").replace(".", r"\.")):
        parse_duration(bad)


def test_absurdly_large_duration_is_refused_not_overflowed() -> None:
    with pytest.raises(ValueError, match="too large"):
        parse_duration("99999999999h")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (timedelta(0), "0s"),
        (timedelta(seconds=5), "5s"),
        (timedelta(minutes=15), "15m"),
        (timedelta(hours=1, minutes=30), "1h30m"),
        (timedelta(hours=1, seconds=5), "1h5s"),
        (timedelta(days=30), "720h"),
        (timedelta(seconds=1, milliseconds=500), "1.5s"),
        (timedelta(milliseconds=500), "500ms"),
        (timedelta(microseconds=1500), "1.5ms"),
        (timedelta(microseconds=250), "250us"),
        (-timedelta(minutes=1), "-1m"),
    ],
)
def test_format_writes_the_shortest_go_form_without_zero_units(value: timedelta, expected: str) -> None:
    assert format_duration(value) == expected


@pytest.mark.parametrize(
    "value",
    [timedelta(microseconds=n) for n in (1, 999, 1_000, 1_001, 999_999, 1_000_000, 3_600_000_001)]
    + [timedelta(days=d, seconds=s) for d in (0, 1, 400) for s in (0, 1, 59, 61, 3599, 86399)],
)
def test_formatted_duration_parses_back_to_the_same_value(value: timedelta) -> None:
    assert parse_duration(format_duration(value)) == value


def test_days_are_never_written_because_go_cannot_read_them() -> None:
    assert format_duration(timedelta(days=7)) == "168h"


def test_parsed_duration_behaves_like_the_timedelta_it_equals() -> None:
    parsed = parse_duration("1h30m")
    plain = timedelta(minutes=90)

    assert parsed == plain
    assert hash(parsed) == hash(plain)
    assert parsed + timedelta(minutes=30) == timedelta(hours=2)
    assert parsed.total_seconds() == 5400
    assert pickle.loads(pickle.dumps(parsed)).text == "1h30m"
    assert copy.deepcopy(parsed).text == "1h30m"
    assert repr(parsed) == "ParsedDuration('1h30m')"
    assert isinstance(parsed, ParsedDuration)


class _Holder(pydantic.BaseModel):
    backoff: Duration | None = None


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("30s", timedelta(seconds=30)),
        (timedelta(minutes=2), timedelta(minutes=2)),
    ],
)
def test_duration_field_accepts_strings_and_timedeltas(given: object, expected: timedelta) -> None:
    assert _Holder(backoff=given).backoff == expected


@pytest.mark.parametrize("given", [True, "soon", [1], float("inf")])
def test_duration_field_refuses_other_values_naming_them(given: object) -> None:
    with pytest.raises(pydantic.ValidationError, match="invalid duration"):
        _Holder(backoff=given)


@pytest.mark.parametrize("given", [24, 1.5, 0])
def test_a_bare_number_is_refused_asking_for_its_unit(given: float) -> None:
    expected = (
        f"invalid duration {given}: a bare number does not say its unit; write a string such as '{given}s'"
    )
    with pytest.raises(pydantic.ValidationError, match=re.escape(expected)):
        _Holder(backoff=given)


def test_execution_ttl_of_a_bare_24_is_a_kontinue_validation_error_naming_the_field() -> None:
    with pytest.raises(ValidationError) as refused:
        SpawnOptions(ttl={"delete_after": 24})  # type: ignore[arg-type]
    assert refused.value.field == "SpawnOptions.ttl.delete_after"
    assert "'24h'" in str(refused.value)


def test_duration_field_writes_a_string_in_json_and_keeps_the_server_spelling() -> None:
    assert _Holder(backoff="7d").model_dump(mode="json") == {"backoff": "7d"}
    assert _Holder(backoff=timedelta(days=7)).model_dump(mode="json") == {"backoff": "168h"}
    assert _Holder(backoff=timedelta(seconds=90)).model_dump(mode="json") == {"backoff": "1m30s"}
    assert _Holder(backoff="5s").model_dump() == {"backoff": timedelta(seconds=5)}
    assert _Holder().model_dump(mode="json") == {"backoff": None}


def test_duration_json_schema_is_a_string_pattern() -> None:
    schema = _Holder.model_json_schema()["properties"]["backoff"]["anyOf"][0]

    assert schema["type"] == "string"
    assert "pattern" in schema


def test_the_boundaries_between_units_use_the_larger_unit() -> None:
    assert format_duration(timedelta(microseconds=999)) == "999us"
    assert format_duration(timedelta(microseconds=1000)) == "1ms"
    assert format_duration(timedelta(seconds=1)) == "1s"
    assert format_duration(timedelta(microseconds=-1500)) == "-1.5ms"


def test_half_a_microsecond_rounds_to_even() -> None:
    assert parse_duration("500ns") == timedelta(0)
    assert parse_duration("1500ns") == timedelta(microseconds=2)


def test_zero_keeps_its_spelling() -> None:
    assert parse_duration("0").text == "0"
    assert parse_duration("-0").text == "-0"


def test_a_parsed_duration_survives_pickling_with_its_text() -> None:
    value = parse_duration("1d1h0.5s")
    again = pickle.loads(pickle.dumps(value))
    assert again == timedelta(days=1, hours=1, milliseconds=500)
    assert again.text == "1d1h0.5s"


def test_the_refusals_say_what_a_duration_looks_like() -> None:
    with pytest.raises(ValueError, match=r"^invalid duration 5: expected a string such as '30s' or '1h30m'$"):
        parse_duration(5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"repeated, e\.g\. '30s', '1h30m', '1\.5h' or '7d'$"):
        parse_duration("5 s")
    with pytest.raises(ValueError, match=r"^invalid duration 1e\+300: a bare number does not say its unit"):
        _to_duration(1e300)
    with pytest.raises(
        ValueError,
        match=r"^invalid duration \[1\]: expected a string such as '30s' or a timedelta, got list$",
    ):
        _to_duration([1])
