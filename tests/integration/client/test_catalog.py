"""Functions and ScheduledExecutions: lookups, filters, suspend and resume."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.client import NotFoundError, ScheduleListOptions
from tests.support.cluster import Cluster


@pytest.fixture
def catalog(cluster: Cluster) -> None:
    cluster.function("deploy", workerGroup="infra", description="Deploys")
    cluster.function("report", workerGroup="analytics")
    cluster.function("helper", workerGroup="infra", annotations={"kontinue.cloud/hidden": "true"})
    cluster.function("shown", workerGroup="infra", annotations={"kontinue.cloud/hidden": "False"})


def test_function_reads_one_and_names_a_missing_one(kontinue: Any, catalog: None, cluster: Cluster) -> None:
    assert kontinue.function("deploy").description == "Deploys"
    with pytest.raises(NotFoundError, match="function 'nope' not found"):
        kontinue.function("nope")


def test_functions_hide_hidden_ones_unless_asked(kontinue: Any, catalog: None) -> None:
    assert [f.name for f in kontinue.functions()] == ["deploy", "report", "shown"]
    assert [f.name for f in kontinue.functions({"include_hidden": True})] == [
        "deploy",
        "helper",
        "report",
        "shown",
    ]


def test_functions_filter_by_worker_group(kontinue: Any, catalog: None) -> None:
    assert [f.name for f in kontinue.functions({"worker_group": "infra"})] == ["deploy", "shown"]
    assert [f.name for f in kontinue.functions({"worker_group": "infra", "include_hidden": True})] == [
        "deploy",
        "helper",
        "shown",
    ]


@pytest.fixture
def schedules(cluster: Cluster) -> None:
    for name, function, team in (
        ("nightly", "tests", "qa"),
        ("hourly", "sync", "data"),
        ("weekly", "tests", "data"),
    ):
        cluster.create(
            "scheduledexecutions",
            {
                "kind": "ScheduledExecution",
                "metadata": {"name": name, "labels": {"team": team}},
                "spec": {"schedule": "0 2 * * *", "function": function},
            },
        )


def test_scheduled_executions_are_listed_by_function_and_labels(kontinue: Any, schedules: None) -> None:
    assert [s.name for s in kontinue.list_scheduled_executions()] == ["hourly", "nightly", "weekly"]
    assert [s.name for s in kontinue.list_scheduled_executions({"function": "tests"})] == [
        "nightly",
        "weekly",
    ]
    by_team = kontinue.list_scheduled_executions(
        ScheduleListOptions(label_selector={"team": "data"}, function="tests")
    )
    assert [s.name for s in by_team] == ["weekly"]
    assert kontinue.get_scheduled_execution("nightly").spec.function == "tests"


def test_suspend_and_resume_a_schedule_idempotently(kontinue: Any, schedules: None, cluster: Cluster) -> None:
    assert kontinue.suspend_scheduled_execution("nightly").is_suspended
    assert kontinue.suspend_scheduled_execution(kontinue.get_scheduled_execution("nightly")).is_suspended
    assert cluster.get("scheduledexecutions", "nightly")["spec"]["suspend"] is True
    assert not kontinue.resume_scheduled_execution("nightly").is_suspended
    assert cluster.get("scheduledexecutions", "nightly")["spec"]["suspend"] is False
