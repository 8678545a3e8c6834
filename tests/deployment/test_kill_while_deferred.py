"""A deferred spawn marked failed, marked success, or cleared through the REST API cancels its execution.

The triggerer calls the trigger's ``on_kill`` when a user ends a deferred task (Airflow >= 3.3);
the trigger cancels the execution with ``KILL_MESSAGE``. Each action is taken only once the task
is observably DEFERRED with its trigger assigned to a triggerer (REST API), as a user sees it in
the UI: before that there is no trigger to kill, and the task's own ``on_kill`` path applies.
"""

from __future__ import annotations

import pytest

from airflow_provider_kontinue.client import Execution, KontinueClient
from airflow_provider_kontinue.triggers.execution import KILL_MESSAGE
from tests.deployment.conftest import Slot
from tests.support.airflow_api import AirflowApi, wait_until


def deferred_with_trigger(api: AirflowApi, dag_id: str, run_id: str, task_id: str) -> str:
    """Wait until the task is DEFERRED on a triggerer; return its execution's name."""

    def assigned() -> bool:
        ti = api.task_instance(dag_id, run_id, task_id)
        return ti["state"] == "deferred" and bool((ti.get("trigger") or {}).get("triggerer_id"))

    wait_until(assigned, timeout=120, what=f"{task_id} to be deferred on a triggerer")
    return str(api.xcom(dag_id, run_id, task_id, key="execution_name"))


# How long the execution may stay uncanceled after the action. Marked failed or success, the task
# instance leaves DEFERRED at once, the triggerer's next loop (1 s) drops its trigger and on_kill
# cancels: 2 s here. Cleared, its state becomes NULL, which Airflow's Trigger.clean_unused skips
# (`state != 'deferred'` is not true of NULL in SQL): the trigger lives on until the scheduler
# schedules the task again, 9 s here, more on a loaded machine.
WITHIN = {"mark failed": 5.0, "mark success": 5.0, "clear": 20.0}


@pytest.mark.parametrize("action", sorted(WITHIN))
def test_ending_a_deferred_spawn_through_the_rest_api_cancels_its_execution(
    slot: Slot, kontinue: KontinueClient, action: str
) -> None:
    api = slot.deployment.api
    dag_id = slot.write_dag("deferred_sleepers", tasks=1, duration="600s")
    run_id = api.trigger(dag_id)
    name = deferred_with_trigger(api, dag_id, run_id, "sleep_0")
    assert kontinue.get(name).phase == "Suspended"  # the sleeper sleeps: a timer suspension

    if action == "clear":
        api.clear_task(dag_id, run_id, "sleep_0")
    else:
        api.set_task_state(dag_id, run_id, "sleep_0", action.removeprefix("mark "))

    def canceled() -> Execution | None:
        execution = kontinue.get(name)
        return execution if execution.phase == "Canceled" else None

    execution = wait_until(
        canceled, timeout=WITHIN[action], what=f"execution {name} to be Canceled after '{action}'"
    )
    assert execution.message == KILL_MESSAGE
