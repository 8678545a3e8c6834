"""A deferred and a sync spawn on one connection, for the browser tests of the connection form.

Rendered per test (``string.Template``): ``$dag_id``, ``$form_conn`` (the connection under test,
made in the UI's form or carrying an inline kubeconfig), ``$marker`` (a non-secret value the
tests find in the task logs and pages, so a check that read nothing cannot pass).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def form_spawn() -> None:
    KontinueSpawnOperator(
        task_id="deferred",
        function="hello",
        arguments={"name": "$marker"},
        deferrable=True,
        kontinue_conn_id="$form_conn",
        retries=0,
    )
    KontinueSpawnOperator(
        task_id="sync",
        function="hello",
        arguments={"name": "$marker (sync)"},
        deferrable=False,
        kontinue_conn_id="$form_conn",
        retries=0,
    )


form_spawn()
