"""A triggerer that stalls (SIGSTOP) past the health threshold loses its deferred spawns to the
other triggerer; when it goes on (SIGCONT), their executions are not canceled.

Airflow 3.3 takes the triggers of a triggerer whose heartbeat is older than ``[triggerer]
triggerer_health_check_threshold`` (30 s here). When the stalled triggerer goes on, it finds
them assigned elsewhere and cancels its copies the way it cancels a trigger after a user's
action: it calls their ``on_kill``. The trigger's ``on_kill`` must tell this move from a kill (its
task is still DEFERRED by the same try) and cancel nothing; a trigger that canceled here would
fail every moved task while the other triggerer still waits for it.
"""

from __future__ import annotations

import pytest

from airflow_provider_kontinue.client import ExecutionPhase, KontinueClient
from airflow_provider_kontinue.operators.naming import execution_name
from tests.deployment.conftest import Slot
from tests.support.airflow_api import wait_until
from tests.support.deployed_triggers import (
    all_run_on,
    executions_by_task,
    running_triggers,
    where_each_runs,
)
from tests.support.deployment import TRIGGERERS

TASKS = 10


@pytest.mark.timeout(900)  # the first test of a session also starts the deployment
def test_a_stalled_triggerer_that_goes_on_after_its_triggers_moved_cancels_none_of_their_executions(
    slot: Slot, kontinue: KontinueClient
) -> None:
    deployment, api = slot.deployment, slot.deployment.api
    dag_id = slot.write_dag("deferred_sleepers", tasks=TASKS, duration="3000s")
    run_id = api.trigger(dag_id)
    tasks = {f"sleep_{index}" for index in range(TASKS)}

    running = wait_until(
        lambda: where_each_runs(deployment, dag_id, run_id, tasks),
        timeout=420,
        what=f"all {TASKS} spawns to be deferred with their triggers running",
    )
    stalled = max(TRIGGERERS, key=lambda name: len(running[name]))
    other = next(name for name in TRIGGERERS if name != stalled)
    moved = set(running[stalled])
    (stalled_job,) = set(running[stalled].values())
    (other_job,) = deployment.live_triggerer_jobs() - {stalled_job}

    deployment.pause(stalled)
    try:
        wait_until(
            lambda: all_run_on(deployment, other, other_job, dag_id, run_id, tasks),
            timeout=180,
            what=f"{other} (job {other_job}) to run all {TASKS} triggers",
        )
    finally:
        deployment.unpause(stalled)
    # Going on, the stalled triggerer finds its triggers assigned elsewhere and ends its copies.
    wait_until(
        lambda: not running_triggers(deployment, stalled, dag_id),
        timeout=120,
        what=f"{stalled} to end its copies of the moved triggers",
    )
    # Nothing was canceled: every execution still sleeps, the moved ones included.
    still = executions_by_task(kontinue, dag_id, run_id, tasks)
    assert {task: [e.phase for e in found] for task, found in still.items()} == {
        task: [ExecutionPhase.SUSPENDED] for task in tasks
    }
    for found in still.values():
        assert kontinue.resume_execution(found[0]), f"{found[0].name} had no sleep to end"

    assert api.wait_for_run(dag_id, run_id, timeout=240) == "success"
    instances = api.task_instances(dag_id, run_id)
    assert sorted((ti["task_id"], ti["state"], ti["try_number"]) for ti in instances) == sorted(
        (task, "success", 1) for task in tasks
    )
    final = executions_by_task(kontinue, dag_id, run_id, tasks)
    assert {task: [(e.name, e.phase) for e in found] for task, found in final.items()} == {
        task: [(execution_name(dag_id, task, run_id), ExecutionPhase.COMPLETED)] for task in tasks
    }
    # The stalled triggerer did call on_kill on each moved trigger (the case this test is about),
    # and each said why it canceled nothing; the triggers that never moved were never killed.
    for task in sorted(tasks):
        log = api.task_log(dag_id, run_id, task, 1)
        name = final[task][0].name
        counts = (
            log.count("invoking on_kill"),
            log.count(f"kontinue: the trigger moved to another triggerer; execution {name} goes on"),
            log.count("because the task was killed"),
        )
        said = [line for line in log.splitlines() if "on_kill" in line or "kontinue:" in line]
        assert counts == ((1, 1, 0) if task in moved else (0, 0, 0)), (task, counts, said)
    print(f"{stalled} stalled with {len(moved)} triggers; {other} took them over; none canceled")
