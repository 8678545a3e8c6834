"""annotate: one merge patch of an execution's annotations, against the real API server."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.client import NotFoundError
from airflow_provider_kontinue.client.errors import ValidationError
from tests.support.cluster import Cluster


@pytest.fixture
def deploy(cluster: Cluster) -> dict[str, Any]:
    return cluster.function("deploy", arguments=[{"name": "version", "type": "string"}])


def test_annotate_sets_and_removes_only_the_keys_given(
    kontinue: Any, cluster: Cluster, deploy: dict[str, Any]
) -> None:
    execution = kontinue.spawn("deploy", {"version": "1"}, {"annotations": {"team": "data"}})
    written = kontinue.annotate(execution, {"example.com/cursor": "a", "example.com/other": "b"})
    assert written.annotations["example.com/cursor"] == "a"
    kontinue.annotate(execution.name, {"example.com/cursor": "c", "example.com/other": None})
    stored = cluster.get("executions", execution.name)["metadata"]["annotations"]
    assert stored["example.com/cursor"] == "c"
    assert "example.com/other" not in stored
    assert stored["team"] == "data"  # what others wrote stays


def test_annotate_needs_annotations_with_string_values_and_writes_nothing_otherwise(
    kontinue: Any, cluster: Cluster, deploy: dict[str, Any]
) -> None:
    execution = kontinue.spawn("deploy", {"version": "1"})
    before = cluster.get("executions", execution.name)["metadata"]["resourceVersion"]
    for bad in ({}, {"example.com/n": 1}, {"": "x"}):
        with pytest.raises(ValidationError, match="annotat"):
            kontinue.annotate(execution, bad)
    assert cluster.get("executions", execution.name)["metadata"]["resourceVersion"] == before


def test_annotate_of_a_missing_execution_is_not_found(kontinue: Any, cluster: Cluster) -> None:
    with pytest.raises(NotFoundError):
        kontinue.annotate("nope", {"example.com/cursor": "a"})
