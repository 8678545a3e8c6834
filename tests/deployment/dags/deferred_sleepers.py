"""Deferred spawns of a long ``sleeper``, one task each, for what users do to a deferred task.

Rendered per test: ``$dag_id``, ``$conn_id``, ``$tasks`` (how many), ``$duration`` (the sleep).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False, max_active_tasks=64)
def deferred_sleepers() -> None:
    for index in range(int("$tasks")):
        KontinueSpawnOperator(
            task_id=f"sleep_{index}",
            function="sleeper",
            arguments={"duration": "$duration"},
            deferrable=True,
            kontinue_conn_id="$conn_id",
            retries=0,
        )


deferred_sleepers()
