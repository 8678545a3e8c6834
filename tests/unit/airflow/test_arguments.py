"""Arguments must be a JSON object; a template rendering to anything else fails with the reason."""

from __future__ import annotations

import math

import pytest

from airflow_provider_kontinue.operators.arguments import ArgumentsError, parse_arguments


def test_a_dict_passes_through_as_plain_json() -> None:
    assert parse_arguments({"version": "1.2.3", "replicas": 3, "tags": ("a", "b")}) == {
        "version": "1.2.3",
        "replicas": 3,
        "tags": ["a", "b"],
    }


def test_a_rendered_template_holding_a_json_object_is_parsed() -> None:
    assert parse_arguments(' {"name": "Airflow", "n": 2} ') == {"name": "Airflow", "n": 2}


@pytest.mark.parametrize("empty", [None, "", "   "])
def test_nothing_means_no_arguments(empty: str | None) -> None:
    assert parse_arguments(empty) == {}


def test_invalid_json_names_the_field_the_position_and_shows_what_was_rendered() -> None:
    with pytest.raises(ArgumentsError) as caught:
        parse_arguments("{'name': 'single quotes'}")
    message = str(caught.value)
    assert message.startswith("arguments: the rendered value is not valid JSON")
    assert "line 1, column 2" in message
    assert "single quotes" in message
    assert "tojson" in message


@pytest.mark.parametrize(("value", "kind"), [("[1, 2]", "list"), ('"text"', "str"), (42, "int")])
def test_json_that_is_not_an_object_is_refused(value: object, kind: str) -> None:
    with pytest.raises(ArgumentsError, match=f"must be a JSON object .*got {kind}"):
        parse_arguments(value)


def test_values_json_cannot_hold_are_refused_with_their_path() -> None:
    with pytest.raises(ArgumentsError, match=r"arguments\.x\[1\]: nan is not a JSON number"):
        parse_arguments({"x": [1, math.nan]})
    with pytest.raises(ArgumentsError, match="not JSON-serialisable"):
        parse_arguments({"when": object()})
