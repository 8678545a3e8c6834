"""Spawns on connections that carry their kubeconfig inline, for the deployment's secret scan.

Rendered per test (``string.Template``): ``$dag_id``, ``$token_conn`` (a bearer token inline),
``$key_conn`` (a client certificate and key inline), ``$marker`` (a non-secret value the scan must
find, so a scan that read nothing cannot pass).
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def secrets_dag() -> None:
    KontinueSpawnOperator(
        task_id="deferred",
        function="hello",
        arguments={"name": "$marker"},
        deferrable=True,
        kontinue_conn_id="$token_conn",
    )
    KontinueSpawnOperator(
        task_id="sync",
        function="hello",
        arguments={"name": "$marker (sync)"},
        deferrable=False,
        kontinue_conn_id="$key_conn",
    )
    KontinueSpawnOperator(
        task_id="failing",
        function="no-such-function",
        deferrable=True,
        kontinue_conn_id="$token_conn",
        retries=0,
    )


secrets_dag()
