"""One spawn that waits in the worker (sync mode), with a retry, for the worker-kill scenario.

Rendered per test: ``$dag_id``, ``$conn_id``, ``$duration`` (the sleep).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def sync_sleeper() -> None:
    KontinueSpawnOperator(
        task_id="sleep",
        function="sleeper",
        arguments={"duration": "$duration"},
        deferrable=False,
        kontinue_conn_id="$conn_id",
        retries=1,
        retry_delay=timedelta(seconds=1),
    )


sync_sleeper()
