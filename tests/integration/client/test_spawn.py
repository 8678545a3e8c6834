"""spawn: defaults merged, names, options, and bad input refused before anything is written."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    AlreadyExistsError,
    Execution,
    ExecutionPhase,
    NotFoundError,
    SpawnOptions,
    ValidationError,
)
from tests.support.cluster import Cluster


@pytest.fixture
def deploy(cluster: Cluster) -> dict[str, Any]:
    return cluster.function(
        "deploy",
        workerGroup="infra",
        arguments=[
            {"name": "environment", "type": "string", "default": "staging"},
            {"name": "replicas", "type": "integer", "default": 3},
            {"name": "version", "type": "string", "required": True},
        ],
        defaults={
            "arguments": {"replicas": 2, "dryRun": False},
            "retry": {"retries": 3, "backoff": "30s"},
            "timeout": {"attempt": "15m"},
        },
    )


def test_spawn_merges_function_defaults_under_the_callers_arguments(
    kontinue: Any, deploy: dict[str, Any], cluster: Cluster
) -> None:
    execution = kontinue.spawn("deploy", {"version": "1.2", "replicas": 5})
    assert isinstance(execution, Execution)
    stored = cluster.get("executions", execution.name)
    assert stored["spec"]["arguments"] == {
        "environment": "staging",
        "replicas": 5,
        "dryRun": False,
        "version": "1.2",
    }
    assert stored["spec"]["retry"] == {"retries": 3, "backoff": "30s", "childPolicy": "None"}
    assert stored["spec"]["timeout"] == {"attempt": "15m"}
    assert stored["metadata"]["labels"] == {
        "kontinue.cloud/function": "deploy",
        "kontinue.cloud/worker-group": "infra",
    }
    assert execution.name.startswith("deploy-")
    assert execution.phase == ExecutionPhase.PENDING


def test_spawn_options_win_over_function_defaults(
    kontinue: Any, deploy: dict[str, Any], cluster: Cluster
) -> None:
    opts = SpawnOptions(
        name="deploy-prod",
        retry={"retries": 0},
        ttl={"deleteAfter": "24h"},
        mutex={"name": "prod"},
        labels={"team": "data"},
        annotations={"kontinue.cloud/display-name": "Deploy prod"},
    )
    execution = kontinue.spawn("deploy", {"version": "2"}, opts)
    stored = cluster.get("executions", "deploy-prod")
    assert execution.name == "deploy-prod"
    assert stored["spec"]["retry"]["retries"] == 0
    assert stored["spec"]["ttl"] == {"deleteAfter": "24h"}
    assert stored["spec"]["mutex"] == {"name": "prod"}
    assert stored["metadata"]["labels"]["team"] == "data"
    assert stored["metadata"]["annotations"] == {"kontinue.cloud/display-name": "Deploy prod"}


def test_spawn_accepts_a_pydantic_model_or_dict_as_arguments(kontinue: Any, cluster: Cluster) -> None:
    from pydantic import BaseModel

    class Args(BaseModel):
        environment: str
        count: int

    cluster.function("plain")
    execution = kontinue.spawn("plain", Args(environment="prod", count=2))
    assert cluster.get("executions", execution.name)["spec"]["arguments"] == {
        "environment": "prod",
        "count": 2,
    }


def test_spawn_with_a_taken_name_raises_already_exists(kontinue: Any, deploy: dict[str, Any]) -> None:
    kontinue.spawn("deploy", {"version": "1"}, {"name": "same"})
    with pytest.raises(AlreadyExistsError) as raised:
        kontinue.spawn("deploy", {"version": "1"}, {"name": "same"})
    assert raised.value.name == "same"


def test_spawn_of_an_unknown_function_is_refused_and_writes_nothing(kontinue: Any, cluster: Cluster) -> None:
    with pytest.raises(NotFoundError, match="function 'nope' not found in namespace"):
        kontinue.spawn("nope", {})
    assert cluster.list("executions") == []


@pytest.mark.parametrize(
    ("arguments", "options", "field"),
    [
        ({"when": object()}, None, "arguments"),
        (["not", "an", "object"], None, "arguments"),
        ({"blob": "x" * (1100 * 1024)}, None, "arguments"),
        ({}, {"name": "Bad_Name"}, "SpawnOptions.name"),
        ({}, {"name": "x" * 64}, "SpawnOptions.name"),
        ({}, {"namespace": "NOT valid"}, "SpawnOptions.namespace"),
        ({}, {"labels": {"kontinue.cloud/root": "x"}}, "SpawnOptions.labels"),
        ({}, {"retry": {"retries": 1, "bogus": True}}, "SpawnOptions.retry"),
    ],
)
def test_bad_spawn_input_is_refused_naming_the_field_before_any_write(
    kontinue: Any, deploy: dict[str, Any], cluster: Cluster, arguments: Any, options: Any, field: str
) -> None:
    before = kontinue.requests_sent
    with pytest.raises(ValidationError) as raised:
        kontinue.spawn("deploy", arguments, options)
    assert field in str(raised.value)
    assert cluster.list("executions") == []
    assert kontinue.requests_sent - before <= 1  # at most the Function read, never a write


def test_spawn_reads_the_function_once_for_a_burst_of_spawns(kontinue: Any, cluster: Cluster) -> None:
    cluster.function("burst")
    before = kontinue.requests_sent
    for _ in range(3):
        kontinue.spawn("burst")
    assert kontinue.requests_sent - before == 1 + 3
