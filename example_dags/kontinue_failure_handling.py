"""Failure handling: retry a failed execution with a child policy; cancel an execution on timeout.

- ``flaky_once`` runs ``flaky`` with no automatic retries, so it fails (its first attempt always
  fails) and so does the task. ``retry_flaky`` runs only then: it asks kontinue to retry that
  execution (``RetryFailed``: completed children are kept, failed ones run again) and waits.
- ``too_slow`` runs ``long-logger`` for a minute in a task with a 5 second ``execution_timeout``:
  the task times out and the execution is canceled, whether the task waits in the worker or
  deferred in the triggerer.
- ``report`` runs whatever happened and shows the phases kontinue ended with.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import TriggerRule, dag, task

from airflow_provider_kontinue.hooks import KontinueHook
from airflow_provider_kontinue.operators import KontinueRetryOperator, KontinueSpawnOperator


@dag(
    dag_id="kontinue_failure_handling",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    tags=["kontinue", "example"],
)
def kontinue_failure_handling() -> None:
    flaky_once = KontinueSpawnOperator(task_id="flaky_once", function="flaky", retry={"retries": 0})
    retry_flaky = KontinueRetryOperator(
        task_id="retry_flaky",
        execution_name="{{ ti.xcom_pull(task_ids='flaky_once', key='execution_name') }}",
        child_policy="RetryFailed",
        trigger_rule=TriggerRule.ALL_FAILED,
    )
    too_slow = KontinueSpawnOperator(
        task_id="too_slow",
        function="long-logger",
        arguments={"seconds": 60},
        execution_timeout=timedelta(seconds=5),
    )

    @task(trigger_rule=TriggerRule.ALL_DONE)
    def report(**context: Any) -> dict[str, str]:
        hook = KontinueHook()
        phases = {}
        for task_id in ("flaky_once", "too_slow"):
            name = context["ti"].xcom_pull(task_ids=task_id, key="execution_name")
            phases[task_id] = str(hook.client.get(name).phase)
        print(f"kontinue phases: {phases}")
        return phases

    flaky_once >> retry_flaky
    [retry_flaky, too_slow] >> report()


kontinue_failure_handling()
