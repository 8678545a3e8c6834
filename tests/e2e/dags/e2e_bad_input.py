"""Tasks that must each fail at once, naming the problem, without spawning anything."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueResumeOperator, KontinueSpawnOperator

FORBIDDEN = os.environ.get("E2E_FORBIDDEN_NAMESPACE", "kube-system")


@dag(
    dag_id="e2e_bad_input",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    default_args={"retries": 2, "retry_delay": timedelta(seconds=1)},  # must not be used
)
def e2e_bad_input() -> None:
    KontinueSpawnOperator(task_id="invalid_json", function="hello", arguments="{'name': {{ 1 + 1 }}}")
    KontinueSpawnOperator(task_id="not_an_object", function="hello", arguments="[1, 2, 3]")
    KontinueSpawnOperator(task_id="unknown_function", function="does-not-exist")
    KontinueSpawnOperator(task_id="missing_connection", function="hello", kontinue_conn_id="kontinue_nope")
    KontinueSpawnOperator(
        task_id="forbidden_namespace",
        function="hello",
        kontinue_conn_id="kontinue_limited",
        namespace=FORBIDDEN,
    )
    KontinueSpawnOperator(task_id="bad_retry_spec", function="hello", retry={"retries": "many"})
    KontinueResumeOperator(task_id="unknown_suspension", suspension_name="no-such-suspension")


e2e_bad_input()
