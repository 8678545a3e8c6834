"""A suspension sensor that names its execution with ``spawned_by`` runs in parallel with the
spawn, starts before the execution exists, and finds the approval of the execution the spawn
started (``tests/e2e/dags/e2e_approval_parallel.py``)."""

from __future__ import annotations

from airflow_provider_kontinue.client import Execution, KontinueClient, ListOptions
from airflow_provider_kontinue.operators.naming import LABEL_DAG_ID
from tests.support.airflow_runs import Airflow
from tests.support.polling import wait_until

DAG_ID = "e2e_approval_parallel"
LOGICAL_DATE = "2025-04-01T10:00:00+00:00"


def _executions(kontinue: KontinueClient) -> list[Execution]:
    listed = kontinue.list(ListOptions(label_selector={LABEL_DAG_ID: DAG_ID}))
    return [
        e for e in listed if LOGICAL_DATE[:19] in e.annotations.get("airflow.apache.org/task-instance", "")
    ]


def _asks_for_approval(kontinue: KontinueClient) -> str | None:
    found = _executions(kontinue)
    return found[0].name if found and found[0].phase == "Suspended" else None


def test_a_parallel_sensor_follows_the_execution_its_spawn_creates_later(
    airflow: Airflow, kontinue: KontinueClient
) -> None:
    proc = airflow.start(DAG_ID, deferrable=True, logical_date=LOGICAL_DATE)
    name = wait_until(lambda: _asks_for_approval(kontinue), 120, "the deploy execution to ask for approval")
    assert kontinue.resume_execution(name) != []  # the approver, through the kontinue client
    run = airflow.finish(proc)

    assert run.state == "success", run.log[-3000:]
    assert run.task_states() == {"prepare": "success", "deploy": "success", "approval_requested": "success"}
    # Its first poke came before the spawn created the execution: it waited instead of failing.
    assert f"kontinue: following execution {name}, spawned by task 'deploy'" in run.log
    assert f"kontinue: execution {name} does not exist yet in namespace {airflow.namespace}" in run.log
    requested = run.xcom("approval_requested")
    assert requested["execution"] == name == run.xcom("deploy", "execution_name")
    assert requested["phase"] == "Completed"  # "reached" also accepts an approval already given
    assert requested["message"] == "Resumed by client"  # the status message of a resumed suspension
    assert run.xcom("deploy")["status"] == "deployed"
    assert [e.name for e in _executions(kontinue)] == [name]
