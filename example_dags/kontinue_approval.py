"""An approval flow: start a deployment, wait until it asks for approval, approve it, wait for the rollout.

The ``deploy`` Function suspends itself on a Manual suspension ("approve?") half way. Here a task
approves it; in real life a person would (``kubectl patch ksusp ...``, the kontinue UI, or an
Airflow human-in-the-loop task before the resume).

This flow is sequential (the spawn returns at once) so that ``airflow dags test`` runs it. When the
spawn should wait for the rollout itself (``deferrable=True``), nothing downstream of it runs before
the rollout ends: run the sensor in parallel instead and name the spawn, not the execution,
``KontinueSuspensionSensor(task_id="approval_requested", spawned_by="deploy", deferrable=True)``,
with ``approve`` after the sensor (docs/airflow.md, "An approval while the spawn waits").
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from airflow.sdk import dag, task

from airflow_provider_kontinue.operators import KontinueResumeOperator, KontinueSpawnOperator
from airflow_provider_kontinue.sensors import KontinueExecutionSensor, KontinueSuspensionSensor

EXECUTION = "{{ ti.xcom_pull(task_ids='deploy', key='execution_name') }}"


@dag(
    dag_id="kontinue_approval",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"version": "1.4.2"},
    tags=["kontinue", "example"],
)
def kontinue_approval() -> None:
    deploy = KontinueSpawnOperator(
        task_id="deploy",
        function="deploy",
        arguments={"version": "{{ params.version }}", "environment": "staging"},
        wait_for_completion=False,  # returns at once; the sensors below follow it
    )
    approval_requested = KontinueSuspensionSensor(
        task_id="approval_requested",
        execution_name=EXECUTION,
        until="reached",
        poke_interval=2,
        timeout=600,
    )
    approve = KontinueResumeOperator(
        task_id="approve",
        suspension_name="{{ ti.xcom_pull(task_ids='approval_requested')['suspension'] }}",
    )
    rolled_out = KontinueExecutionSensor(
        task_id="rolled_out",
        execution_name=EXECUTION,
        phases=["Completed"],
        poke_interval=2,
        timeout=600,
    )

    @task
    def announce(outcome: dict[str, Any]) -> str:
        result = outcome["result"]
        message = f"{result['version']} is {result['status']} to {result['environment']}"
        print(message)
        return message

    deploy >> approval_requested >> approve >> rolled_out
    announce(rolled_out.output)


kontinue_approval()
