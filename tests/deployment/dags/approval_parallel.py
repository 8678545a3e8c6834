"""The approval flow with a deferred spawn: the sensor waits for the approval request *in parallel*.

``deploy`` waits for its execution's end in the triggerer (deferrable), so nothing downstream of it
runs before the rollout ends; the suspension sensor is not downstream of it and names the
execution with ``spawned_by="deploy"`` (the name the spawn derives for this run). ``hold`` keeps the
spawn back until the test opens the gate (creates ``$gate``), so the sensor is seen deferred on an
execution that does not exist yet. ``approve`` resumes the suspension the sensor found.

Rendered per test: ``$dag_id``, ``$conn_id``, ``$gate`` (a file path).
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_kontinue.operators import KontinueResumeOperator, KontinueSpawnOperator
from airflow_provider_kontinue.sensors import KontinueSuspensionSensor

GATE = Path("$gate")


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def approval_parallel() -> None:
    @task(retries=0)
    def hold() -> None:
        deadline = time.monotonic() + 600
        while not GATE.exists():
            if time.monotonic() > deadline:
                raise RuntimeError(f"the test never created {GATE}")
            time.sleep(0.2)

    deploy = KontinueSpawnOperator(
        task_id="deploy",
        function="deploy",
        arguments={"version": "1.4.2", "environment": "staging"},
        deferrable=True,
        kontinue_conn_id="$conn_id",
        retries=0,
    )
    approval_requested = KontinueSuspensionSensor(
        task_id="approval_requested",
        spawned_by="deploy",
        until="reached",
        deferrable=True,
        kontinue_conn_id="$conn_id",
        timeout=600,
        retries=0,
    )
    approve = KontinueResumeOperator(
        task_id="approve",
        suspension_name="{{ ti.xcom_pull(task_ids='approval_requested')['suspension'] }}",
        kontinue_conn_id="$conn_id",
        retries=0,
    )

    @task(retries=0)
    def announce(result: Any) -> str:
        return f"{result['version']} is {result['status']} to {result['environment']}"

    hold() >> deploy
    approval_requested >> approve
    announce(deploy.output)


approval_parallel()
