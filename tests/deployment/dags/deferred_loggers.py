"""Deferred spawns of ``long-logger``, one task each, for the worker log in the task log.

Rendered per test: ``$dag_id``, ``$conn_id``, ``$tasks`` (how many), ``$seconds`` (how many lines,
one per emulated second).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False, max_active_tasks=64)
def deferred_loggers() -> None:
    for index in range(int("$tasks")):
        KontinueSpawnOperator(
            task_id=f"log_{index}",
            function="long-logger",
            arguments={"seconds": int("$seconds")},
            deferrable=True,
            kontinue_conn_id="$conn_id",
            retries=0,
        )


deferred_loggers()
