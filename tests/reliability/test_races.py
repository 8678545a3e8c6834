"""Operators racing on the same object: of eight that cancel one execution, or resume one
suspension, at the same moment, exactly one wins, the others get a clear answer, and the object
ends in one consistent state (the client re-reads and retries on 409 Conflict)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException
from kubernetes import client as k8s

from airflow_provider_kontinue.operators.control import KontinueCancelOperator, KontinueResumeOperator
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.cluster import Cluster, create_namespace
from tests.support.connections import use_connection
from tests.support.triggerer import TaskInstanceStub

RACERS = 8


def race(actions: list[Callable[[], Any]]) -> list[tuple[str, Any]]:
    """Run ``actions`` at the same moment on their own threads; ``("ok", value)`` or ``("error", exc)``."""
    start = threading.Barrier(len(actions))

    def run(action: Callable[[], Any]) -> tuple[str, Any]:
        start.wait()
        try:
            return "ok", action()
        except AirflowFailException as err:
            return "error", err

    with ThreadPoolExecutor(len(actions)) as pool:
        return list(pool.map(run, actions))


@pytest.fixture
def cluster(admin_api: k8s.ApiClient) -> Cluster:
    return Cluster(admin_api, create_namespace(admin_api, "race"))


def test_of_eight_racing_cancel_operators_one_cancels_and_the_others_are_told_it_had_ended(
    control_plane: ControlPlane, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.execution("contested", status={"phase": "Executing"})
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, cluster.namespace)
    operators = [
        KontinueCancelOperator(
            task_id=f"cancel-{i}",
            execution_name="contested",
            kontinue_conn_id=conn_id,
            message=f"canceled by racer {i}",
            ignore_if_finished=False,
        )
        for i in range(RACERS)
    ]
    outcomes = race([lambda op=op: op.execute({"ti": TaskInstanceStub()}) for op in operators])  # type: ignore[misc]
    winners = [value for kind, value in outcomes if kind == "ok"]
    losers = [str(value) for kind, value in outcomes if kind == "error"]
    assert winners == ["Canceled"], outcomes
    assert len(losers) == RACERS - 1
    assert all("cannot cancel" in message and "contested" in message for message in losers), losers
    status = cluster.get("executions", "contested")["status"]
    assert status["phase"] == "Canceled"
    assert status["message"] in {f"canceled by racer {i}" for i in range(RACERS)}


def test_racing_cancel_operators_that_ignore_a_finished_execution_all_succeed_on_one_cancel(
    control_plane: ControlPlane, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.execution("contested", status={"phase": "Executing"})
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, cluster.namespace)
    operators = [
        KontinueCancelOperator(
            task_id=f"cancel-{i}", execution_name="contested", kontinue_conn_id=conn_id, message=f"racer {i}"
        )
        for i in range(RACERS)
    ]
    outcomes = race([lambda op=op: op.execute({"ti": TaskInstanceStub()}) for op in operators])  # type: ignore[misc]
    assert outcomes == [("ok", "Canceled")] * RACERS
    assert cluster.get("executions", "contested")["status"]["message"] in {
        f"racer {i}" for i in range(RACERS)
    }


def test_of_eight_racing_resume_operators_exactly_one_resumes_the_suspension(
    control_plane: ControlPlane, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    cluster.execution("approval", status={"phase": "Suspended"})
    cluster.suspension("approval-gate", parent="approval", root="approval")
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, cluster.namespace)
    operators = [
        KontinueResumeOperator(
            task_id=f"resume-{i}", suspension_name="approval-gate", kontinue_conn_id=conn_id
        )
        for i in range(RACERS)
    ]
    outcomes = race([lambda op=op: op.execute({"ti": TaskInstanceStub()}) for op in operators])  # type: ignore[misc]
    resumed = [value for kind, value in outcomes if kind == "ok" and value]
    assert resumed == [["approval-gate"]], outcomes
    assert sorted(outcomes, key=str) == sorted(
        [("ok", ["approval-gate"])] + [("ok", [])] * (RACERS - 1), key=str
    )
    assert cluster.get("suspensions", "approval-gate")["status"]["phase"] == "Completed"
