"""Every kind of kontinue task, on connections that carry secrets inline, for the scan of everything
the run leaves behind (``tests/e2e/test_secrets.py``).

``kontinue_secret_token`` holds an inline kubeconfig with a service account's bearer token,
``kontinue_secret_cert`` one with a client certificate and key, ``kontinue_secret_rejected`` the
token one with a token the API server rejects; all three have a password set. Each wait says where
it waits, so one run covers both: a deferrable spawn and a deferrable sensor (their triggers are
serialized, written and run), a spawn and a sensor waiting in the worker, a spawn that returns at
once, a templated argument, a downstream XCom, and three tasks failing with the API server's
answers: unauthorized (the rejected token), forbidden (a namespace the user has no rights in) and
not found.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_kontinue.operators import KontinueSpawnOperator
from airflow_provider_kontinue.sensors import KontinueExecutionSensor

TOKEN_CONN = "kontinue_secret_token"
CERT_CONN = "kontinue_secret_cert"
REJECTED_CONN = "kontinue_secret_rejected"
FORBIDDEN = "kube-system"
MARKER = "secret-scan-marker"


@dag(
    dag_id="e2e_secrets",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"who": MARKER},
)
def e2e_secrets() -> None:
    nap = KontinueSpawnOperator(
        task_id="nap",
        function="sleeper",
        arguments={"duration": "10s"},
        wait_for_completion=False,
        kontinue_conn_id=CERT_CONN,
    )
    napped = KontinueExecutionSensor(
        task_id="napped",
        execution_name="{{ ti.xcom_pull(task_ids='nap', key='execution_name') }}",
        deferrable=True,
        kontinue_conn_id=CERT_CONN,
        timeout=120,
    )
    greet = KontinueSpawnOperator(
        task_id="greet",
        function="hello",
        arguments='{"name": "{{ params.who }}"}',  # rendered: a row in rendered_task_instance_fields
        deferrable=True,
        kontinue_conn_id=TOKEN_CONN,
    )
    greet_sync = KontinueSpawnOperator(
        task_id="greet_sync",
        function="hello",
        arguments={"name": "{{ params.who }} (sync)"},
        deferrable=False,
        kontinue_conn_id=CERT_CONN,
    )
    poked = KontinueExecutionSensor(
        task_id="poked",
        execution_name="{{ ti.xcom_pull(task_ids='greet_sync', key='execution_name') }}",
        deferrable=False,
        kontinue_conn_id=TOKEN_CONN,
        poke_interval=1,
        timeout=120,
    )
    forbidden = KontinueSpawnOperator(
        task_id="forbidden", function="hello", namespace=FORBIDDEN, kontinue_conn_id=TOKEN_CONN
    )
    rejected = KontinueSpawnOperator(task_id="rejected", function="hello", kontinue_conn_id=REJECTED_CONN)
    missing = KontinueExecutionSensor(
        task_id="missing", execution_name="no-such-execution", kontinue_conn_id=CERT_CONN, timeout=30
    )

    @task
    def shout(greeting: str) -> str:
        print(f"kontinue said: {greeting}")
        return greeting.upper()

    # The deferred sensor runs right after the spawn it follows, while that execution still sleeps,
    # so it really waits in the triggerer. Everything else comes after.
    nap >> napped >> [greet, greet_sync, forbidden, rejected, missing]
    greet_sync >> poked
    shout(greet.output)  # type: ignore[arg-type]  # an XComArg: the greeting, resolved at run time


e2e_secrets()
