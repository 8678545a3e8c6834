"""Which log lines to read: PodLogOptions by Python or Kubernetes names, refused with the field named."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_kontinue.client import PodLogOptions
from airflow_provider_kontinue.client.errors import ValidationError


def test_log_options_take_the_python_or_the_kubernetes_field_names() -> None:
    assert PodLogOptions.coerce({"tailLines": 2}).query() == {"tailLines": "2"}
    assert PodLogOptions.coerce({"tail_lines": 2}) == PodLogOptions(tail_lines=2)
    assert PodLogOptions.coerce(None).query() == {}


def test_since_time_is_sent_as_an_rfc3339_utc_time() -> None:
    berlin = timezone(timedelta(hours=1))
    assert PodLogOptions(since_time=datetime(2026, 12, 7, 11, 30, tzinfo=berlin)).query() == {
        "sinceTime": "2026-12-07T10:30:00Z"
    }
    assert PodLogOptions(since_time=datetime(2026, 12, 7, 10, 30)).query() == {
        "sinceTime": "2026-12-07T10:30:00Z"
    }


@pytest.mark.parametrize(
    ("options", "field"),
    [
        ({"tailLine": 2}, "PodLogOptions.tailLine"),
        ({"tail_lines": -1}, "PodLogOptions.tail_lines"),
        ({"follow": "maybe"}, "PodLogOptions.follow"),
        ({"since_seconds": 60, "since_time": datetime(2026, 1, 1)}, "PodLogOptions.since_time"),
    ],
)
def test_bad_log_options_raise_a_kontinue_validation_error_naming_the_field(
    options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as raised:
        PodLogOptions.coerce(options)
    assert raised.value.field == field
    assert str(raised.value).startswith(field)
