"""Execution names are deterministic per task instance, valid Kubernetes names, and try-independent."""

from __future__ import annotations

import re

import pytest

from airflow_provider_kontinue.client import validate_execution_name
from airflow_provider_kontinue.operators.naming import execution_name, label_value, slug, ti_hash

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")


def test_the_same_task_instance_always_gets_the_same_name() -> None:
    first = execution_name("etl", "load", "manual__2025-01-01T00:00:00+00:00", -1)
    again = execution_name("etl", "load", "manual__2025-01-01T00:00:00+00:00", -1)
    assert first == again
    assert first.startswith("load-")


@pytest.mark.parametrize(
    ("other", "why"),
    [
        (("etl2", "load", "run", -1), "dag id"),
        (("etl", "load2", "run", -1), "task id"),
        (("etl", "load", "run2", -1), "run id"),
        (("etl", "load", "run", 0), "map index"),
    ],
)
def test_every_part_of_the_task_instance_key_changes_the_name(
    other: tuple[str, str, str, int], why: str
) -> None:
    assert execution_name("etl", "load", "run", -1) != execution_name(*other), why


def test_names_are_valid_for_any_task_id() -> None:
    for task_id in ("UPPER_case.task", "group.sub_task", "x" * 300, "___", "ünïcode-täsk", "9lives"):
        name = execution_name("d" * 250, task_id, "scheduled__2025-01-01T00:00:00+00:00", 12345)
        assert len(name) <= 63 - 4, name  # room for a generation suffix
        assert DNS_LABEL.match(name), name
        assert validate_execution_name(name) == name
        assert validate_execution_name(execution_name("d", task_id, "r", 1, generation=999))


def test_generations_extend_the_name_and_a_prefix_replaces_the_task_id() -> None:
    assert execution_name("d", "t", "r", generation=2) == execution_name("d", "t", "r") + "-2"
    assert execution_name("d", "t", "r", prefix="Nightly Report").startswith("nightly-report-")


def test_the_task_group_is_dropped_from_the_readable_part_but_kept_in_the_hash() -> None:
    assert execution_name("d", "group.load", "r").startswith("load-")
    assert ti_hash("d", "group.load", "r", -1) != ti_hash("d", "load", "r", -1)


def test_slug_and_label_value_make_valid_kubernetes_strings() -> None:
    assert slug("--A__b..c--", 63) == "a-b-c"
    assert slug("!!!", 63) == "task"
    assert label_value("manual__2025-01-01T00:00:00+00:00") == "manual__2025-01-01T00-00-00-00-00"
    assert len(label_value("x" * 100)) == 63


def test_the_hash_of_a_task_instance_never_changes_across_releases() -> None:
    """A running task reattaches by name after an upgrade of the provider only if the hash is stable."""
    assert ti_hash("d", "t", "r", -1) == "ea6759e29eea"
    assert execution_name("d", "t", "r") == "t-ea6759e29eea"


def test_a_task_in_nested_task_groups_is_named_after_its_last_part() -> None:
    name = execution_name("d", "outer.inner.load", "r")
    assert name.startswith("load-")


def test_the_readable_part_leaves_room_for_the_hash_and_a_generation() -> None:
    name = execution_name("d", "x" * 100, "r")
    assert len(name) == 63 - 4  # 46 readable, a dash and 12 of hash; "-999" still fits
    assert len(execution_name("d", "x" * 100, "r", generation=999)) == 63


def test_slug_cuts_after_cleaning_and_never_ends_on_a_dash() -> None:
    assert slug("-" + "a" * 70, 10) == "a" * 10
    assert slug("ab-cd", 3) == "ab"


def test_label_value_trims_only_non_alphanumeric_ends() -> None:
    assert label_value("--Abc_d--") == "Abc_d"
    assert label_value(".Z.") == "Z"
