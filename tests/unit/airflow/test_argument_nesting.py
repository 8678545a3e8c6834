"""Arguments nested absurdly deep are refused with a clear error, not a RecursionError."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.operators.arguments import MAX_NESTING, ArgumentsError, parse_arguments


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def test_a_deeply_nested_dict_is_refused_naming_the_limit() -> None:
    with pytest.raises(ArgumentsError, match=f"arguments: nested deeper than {MAX_NESTING} levels"):
        parse_arguments(nested(1000))


def test_deeply_nested_rendered_json_is_refused() -> None:
    with pytest.raises(ArgumentsError, match="arguments: "):
        parse_arguments('{"a": ' * 100_000 + "{}" + "}" * 100_000)


def test_reasonable_nesting_passes() -> None:
    assert parse_arguments(nested(50)) == nested(50)
