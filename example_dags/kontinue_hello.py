"""Spawn a kontinue execution, wait for it without holding a worker slot, use its result downstream.

Runs against the local sandbox (``kontinue-sandbox up --examples``; ``kontinue-sandbox env`` prints
the connection) or any cluster where the ``hello`` Function is registered.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag, task

from airflow_provider_kontinue.operators import KontinueSpawnOperator


@dag(
    dag_id="kontinue_hello",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"name": "Airflow"},
    tags=["kontinue", "example"],
)
def kontinue_hello() -> None:
    greet = KontinueSpawnOperator(
        task_id="greet",
        function="hello",
        arguments='{"name": "{{ params.name }}"}',  # a template that renders to a JSON object
        deferrable=True,  # wait in the triggerer; the worker slot is free meanwhile
    )

    @task
    def shout(greeting: str) -> str:
        print(f"kontinue said: {greeting}")
        return greeting.upper()

    shout(greet.output)


kontinue_hello()
