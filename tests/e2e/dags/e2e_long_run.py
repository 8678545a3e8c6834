"""A long-running spawn, for the e2e tests that kill a DAG run half way (worker death, on_kill)."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(dag_id="e2e_long_run", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def e2e_long_run() -> None:
    KontinueSpawnOperator(task_id="long", function="long-logger", arguments={"seconds": 60})


e2e_long_run()
