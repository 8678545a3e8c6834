"""A suspension sensor in parallel with the spawn it follows (``spawned_by``), under ``dag.test()``.

``dag.test()`` runs one task at a time and a deferred task's trigger in line, so the sensor pokes
in ``reschedule`` mode: its first poke comes before the spawn (``prepare`` holds the spawn back one
round), while the execution does not exist yet; the spawn then waits, deferred, until the test
approves through the kontinue client; the sensor's next poke finds the (resumed) approval.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_kontinue.operators import KontinueSpawnOperator
from airflow_provider_kontinue.sensors import KontinueSuspensionSensor


@dag(dag_id="e2e_approval_parallel", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def e2e_approval_parallel() -> None:
    @task
    def prepare() -> str:
        return "1.4.2"

    deploy = KontinueSpawnOperator(
        task_id="deploy",
        function="deploy",
        arguments={"version": "{{ ti.xcom_pull(task_ids='prepare') }}", "environment": "staging"},
        deferrable=True,
        retries=0,
    )
    KontinueSuspensionSensor(
        task_id="approval_requested",
        spawned_by="deploy",
        until="reached",
        mode="reschedule",
        deferrable=False,
        poke_interval=1,
        timeout=180,
        retries=0,
    )
    prepare() >> deploy


e2e_approval_parallel()
