"""Across a real task retry (two tries of one task instance in one ``dag.test()``), the task
instance keeps one execution: the second try reattaches to, or retries, the execution the first
try spawned, or (``on_previous_failure="fail"``) fails naming it. Executions are counted by
listing them with the task-instance hash label the spawn sets, so a second spawn under any name
would be seen. The timeout tasks pin that ``execution_timeout`` cancels the execution in both
waiting modes."""

from __future__ import annotations

import pytest

from airflow_provider_kontinue.client import Execution, KontinueClient, ListOptions
from airflow_provider_kontinue.operators.naming import LABEL_TI_HASH, ti_hash
from airflow_provider_kontinue.operators.waiter import TIMEOUT_CANCEL_MESSAGE
from tests.e2e.dags.e2e_task_retry import FIRST_TRY_FAILURE
from tests.support.airflow_runs import Airflow, DagRun

DAG_ID = "e2e_task_retry"


def executions_of_task(kontinue: KontinueClient, run: DagRun, task_id: str) -> list[Execution]:
    """Every execution labelled as spawned by this task instance (any name, any generation)."""
    label = ti_hash(DAG_ID, task_id, run.summary["run_id"], -1)
    return kontinue.list(ListOptions(label_selector={LABEL_TI_HASH: label}))


def the_execution_of_task(kontinue: KontinueClient, run: DagRun, task_id: str) -> Execution:
    """The one execution of this task instance (a second one fails the test, naming both)."""
    found = executions_of_task(kontinue, run, task_id)
    assert len(found) == 1, f"{task_id}: {len(found)} executions: {[e.name for e in found]}"
    return found[0]


def tries(run: DagRun) -> dict[str, int]:
    return {t["task_id"]: t["try_number"] for t in run.summary["tasks"]}


@pytest.fixture(scope="module", params=[pytest.param(False, id="sync"), pytest.param(True, id="deferrable")])
def run(request: pytest.FixtureRequest, airflow: Airflow) -> DagRun:
    """One run of the DAG per waiting mode (each run has its own run id, so its own executions)."""
    return airflow.run(DAG_ID, deferrable=request.param)


def test_a_task_retried_after_failing_past_its_spawn_reattaches_to_the_one_execution(
    run: DagRun, kontinue: KontinueClient
) -> None:
    assert run.task_states()["reattach"] == "success", run.log[-4000:]
    assert tries(run)["reattach"] == 2  # a real second try of the same task instance
    assert FIRST_TRY_FAILURE in run.log
    execution = the_execution_of_task(kontinue, run, "reattach")
    assert run.xcom("reattach", "execution_name") == execution.name
    assert run.xcom("reattach") == {"lines": 3}
    assert execution.phase == "Completed"
    assert execution.attempt == 1  # reattached, not retried
    assert f"kontinue: spawned execution {execution.name}" in run.log
    assert (
        f"kontinue: reattaching to execution {execution.name}" in run.log
        or f"kontinue: execution {execution.name} of an earlier try ended Completed" in run.log
    )


def test_a_task_retried_after_its_execution_failed_retries_that_execution(
    run: DagRun, kontinue: KontinueClient
) -> None:
    assert run.task_states()["retry_failed"] == "success", run.log[-4000:]
    assert tries(run)["retry_failed"] == 2
    execution = the_execution_of_task(kontinue, run, "retry_failed")
    assert execution.phase == "Completed"
    assert execution.attempt == 2  # kontinue's retry of the first try's execution
    assert run.xcom("retry_failed") == "succeeded on attempt 2"
    assert f"kontinue: execution {execution.name} of an earlier try ended Failed" in run.log


def test_on_previous_failure_fail_fails_the_retry_without_retrying_the_execution(
    run: DagRun, kontinue: KontinueClient
) -> None:
    assert run.task_states()["fail_policy"] == "failed"
    assert tries(run)["fail_policy"] == 2
    execution = the_execution_of_task(kontinue, run, "fail_policy")
    assert execution.phase == "Failed"
    assert execution.attempt == 1  # never retried
    assert (
        f"kontinue: execution {execution.name} of an earlier try ended Failed: "
        "transient failure on attempt 1 (on_previous_failure='fail')"
    ) in run.log


@pytest.mark.parametrize("task_id", ["too_slow_sync", "too_slow_deferred"])
def test_a_task_past_its_execution_timeout_cancels_its_execution(
    run: DagRun, kontinue: KontinueClient, task_id: str
) -> None:
    assert run.task_states()[task_id] == "failed"
    execution = the_execution_of_task(kontinue, run, task_id)
    assert execution.phase == "Canceled"
    assert execution.message == TIMEOUT_CANCEL_MESSAGE
