"""The example DAGs, run end to end with ``dag.test()`` against the sandbox, waiting in the worker
(sync) and in the (inline) triggerer (deferrable)."""

from __future__ import annotations

import pytest

from airflow_provider_kontinue.client import KontinueClient, ListOptions
from airflow_provider_kontinue.operators.naming import LABEL_DAG_ID
from tests.support.airflow_runs import Airflow

MODES = [pytest.param(False, id="sync"), pytest.param(True, id="deferrable")]


def executions_of(kontinue: KontinueClient, dag_id: str, run_id: str) -> list[str]:
    listed = kontinue.list(ListOptions(label_selector={LABEL_DAG_ID: dag_id}))
    return sorted(
        e.name
        for e in listed
        if e.annotations.get("airflow.apache.org/task-instance", "").split("/")[2] == run_id
    )


def test_hello_waits_deferred_and_hands_the_result_downstream(
    airflow: Airflow, kontinue: KontinueClient
) -> None:
    run = airflow.run("kontinue_hello", deferrable=True)
    assert run.state == "success", run.log[-3000:]
    assert run.task_states() == {"greet": "success", "shout": "success"}
    assert run.xcom("greet") == "Hello, Airflow!"
    assert run.xcom("shout") == "HELLO, AIRFLOW!"
    name = run.xcom("greet", "execution_name")
    assert run.xcom("greet", "execution_namespace") == airflow.namespace
    assert run.xcom("greet", "execution_url") == f"https://kontinue.example/ui/{airflow.namespace}/{name}"
    assert "[DAG TEST] running trigger in line" in run.log  # it really deferred
    assert "[kontinue worker, attempt 1] Hello, Airflow!" in run.log  # the worker's own log line
    assert kontinue.get(name).phase == "Completed"


@pytest.mark.parametrize("deferrable", MODES)
def test_approval_waits_for_the_suspension_resumes_it_and_waits_for_the_rollout(
    airflow: Airflow, kontinue: KontinueClient, deferrable: bool
) -> None:
    run = airflow.run("kontinue_approval", deferrable=deferrable)
    assert run.state == "success", run.log[-3000:]
    assert set(run.task_states().values()) == {"success"}
    requested = run.xcom("approval_requested")
    assert requested["phase"] == "Suspended"
    assert requested["message"] == "waiting for approval to deploy 1.4.2 to staging"
    assert run.xcom("approve") == [requested["suspension"]]
    assert run.xcom("rolled_out")["result"] == {
        "environment": "staging",
        "version": "1.4.2",
        "replicas": 3,
        "status": "deployed",
    }
    assert run.xcom("announce") == "1.4.2 is deployed to staging"
    suspension = kontinue.get_suspension(requested["suspension"])
    assert suspension.phase == "Completed"


@pytest.mark.parametrize("deferrable", MODES)
def test_fan_out_spawns_one_execution_per_mapped_task(
    airflow: Airflow, kontinue: KontinueClient, deferrable: bool
) -> None:
    run = airflow.run("kontinue_fan_out", deferrable=deferrable)
    assert run.state == "success", run.log[-3000:]
    assert run.xcom("gather") == "Hello, Ada! / Hello, Grace! / Hello, Linus!"
    names = {run.xcom(f"greet[{i}]", "execution_name") for i in range(3)}
    assert len(names) == 3
    assert executions_of(kontinue, "kontinue_fan_out", run.summary["run_id"]) == sorted(names)
    for greeting in ("Hello, Ada!", "Hello, Grace!", "Hello, Linus!"):
        assert f"[kontinue worker, attempt 1] {greeting}" in run.log


@pytest.mark.parametrize("deferrable", MODES)
def test_failure_handling_retries_with_a_child_policy_and_cancels_on_timeout(
    airflow: Airflow, kontinue: KontinueClient, deferrable: bool
) -> None:
    run = airflow.run("kontinue_failure_handling", deferrable=deferrable)
    assert run.state == "success", run.log[-3000:]
    assert run.task_states() == {
        "flaky_once": "failed",
        "retry_flaky": "success",
        "too_slow": "failed",
        "report": "success",
    }
    assert "transient failure on attempt 1" in run.log  # flaky_once failed with the execution's message
    assert run.xcom("retry_flaky") == "succeeded on attempt 2"
    flaky = kontinue.get(run.xcom("flaky_once", "execution_name"))
    assert flaky.spec.retry is not None
    assert flaky.spec.retry.child_policy == "RetryFailed"  # the retry task's child_policy reached the cluster
    assert run.xcom("report") == {"flaky_once": "Completed", "too_slow": "Canceled"}
    slow = kontinue.get(run.xcom("too_slow", "execution_name"))
    assert slow.phase == "Canceled"
    assert slow.message in (
        "Canceled by Airflow: the task ran past its execution_timeout",
        "Canceled by Airflow: the task was killed",  # sync mode: Airflow's timeout calls on_kill
    )
    assert "[kontinue worker, attempt 1] line 1 of 60" in run.log
