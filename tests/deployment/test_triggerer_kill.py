"""50 deferred spawns, then the triggerer running most of their triggers is SIGKILLed: the other
triggerer takes them over, every task succeeds on its first try with its one execution's result,
each trigger fires its TriggerEvent once, and no execution is canceled.

The survivor takes the triggers once the victim's heartbeat is older than the deployment's
``[triggerer] triggerer_health_check_threshold`` (30 s). The sleeps would outlast the test (3000 s,
600 s at the emulator's speed); once the survivor runs all 50 triggers, the test ends them with a
client resume (what ``kontinue resume`` does). They end after the takeover by construction,
however long the 50 spawns and the takeover take on a loaded machine, and the test waits for
nothing longer than that.
"""

from __future__ import annotations

import time

import pytest

from airflow_provider_kontinue.client import ExecutionPhase, KontinueClient
from airflow_provider_kontinue.operators.naming import execution_name
from tests.deployment.conftest import Slot
from tests.support.airflow_api import wait_until
from tests.support.deployed_triggers import (
    all_run_on,
    epoch,
    executions_by_task,
    where_each_runs,
)
from tests.support.deployment import TRIGGERERS
from tests.support.figures import record_figure

TASKS = 50


@pytest.mark.timeout(900)  # the first test of a session also starts the deployment
def test_a_sigkilled_triggerer_hands_its_50_deferred_spawns_to_the_other_and_all_succeed_once(
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
    victim = max(TRIGGERERS, key=lambda name: len(running[name]))
    survivor = next(name for name in TRIGGERERS if name != victim)
    moved = set(running[victim])
    (victim_job,) = set(running[victim].values())
    (survivor_job,) = deployment.live_triggerer_jobs() - {victim_job}
    sleeping = executions_by_task(kontinue, dag_id, run_id, tasks)
    assert {task: [e.phase for e in found] for task, found in sleeping.items()} == {
        task: [ExecutionPhase.SUSPENDED] for task in tasks
    }

    killed_at = time.time()
    try:
        deployment.kill(victim)

        wait_until(
            lambda: all_run_on(deployment, survivor, survivor_job, dag_id, run_id, tasks),
            timeout=120,
            what=f"{survivor} (job {survivor_job}) to run all {TASKS} triggers",
        )
        takeover_s = time.time() - killed_at
        # Nothing ended while the victim's triggers moved: no execution was canceled, none completed.
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
        last_success_s = max(epoch(ti["end_date"]) for ti in instances) - killed_at

        # Exactly one execution per task instance, the one its name derives from, Completed: never
        # canceled (no on_kill ran) and never spawned again (no second try).
        final = executions_by_task(kontinue, dag_id, run_id, tasks)
        assert not [e.name for found in final.values() for e in found if e.phase == ExecutionPhase.CANCELED]
        assert {task: [(e.name, e.phase) for e in found] for task, found in final.items()} == {
            task: [(execution_name(dag_id, task, run_id), ExecutionPhase.COMPLETED)] for task in tasks
        }
        for task, (execution,) in final.items():
            assert api.xcom(dag_id, run_id, task, key="execution_name") == execution.name
            assert api.xcom(dag_id, run_id, task) == execution.result == "slept 3000s"

        # "Each TriggerEvent fires once": Airflow keeps no record of events, and a second event of
        # a trigger would not show on the task instance (Trigger.submit_event resumes only DEFERRED
        # task instances: try_number and state stay the same). What does show is the trigger log:
        # each triggerer writes a trigger's lines into its own file (<task log>.trigger.<job id>.log),
        # and the task log (REST API, as the UI reads it once the task is done) joins the task's
        # file and every triggerer's. The trigger logs "execution X is Completed" right before it
        # yields its only event, and the triggerer "Trigger fired event" when it takes it. So: a
        # moved trigger started in both triggerers ("waiting for execution X": twice), one copy
        # fired (once), none was killed (no on_kill), and the task resumed once (execute_complete's
        # "execution X ended Completed").
        def logs() -> dict[str, str] | None:
            read = {task: api.task_log(dag_id, run_id, task, 1) for task in sorted(tasks)}
            ended = all(f"execution {final[task][0].name} ended Completed" in read[task] for task in tasks)
            return read if ended else None

        read = wait_until(logs, timeout=60, what="every task's resumed run in its task log")
        for task in sorted(tasks):
            name, log = final[task][0].name, read[task]
            files = [
                f".trigger.{survivor_job}.log",
                *([f".trigger.{victim_job}.log"] if task in moved else []),
            ]
            assert all(file in log for file in files), (task, files, log)
            counts = (
                log.count(f"kontinue: waiting for execution {name} in namespace"),
                log.count(f"kontinue: execution {name} is Completed"),
                log.count("Trigger fired event"),
                log.count("invoking on_kill"),
                log.count(f"kontinue: execution {name} ended Completed"),
            )
            assert counts == (2 if task in moved else 1, 1, 1, 0, 1), (task, counts, log)
    finally:
        # Later tests of the session get two triggerers again.
        deployment.revive(victim)
        wait_until(
            lambda: len(deployment.live_triggerer_jobs() - {victim_job}) >= len(TRIGGERERS),
            timeout=120,
            what=f"{victim} to be back as a live triggerer",
        )
    record_figure("triggerer_kill_50_moved", len(moved))
    record_figure("triggerer_kill_50_takeover_s", takeover_s)
    record_figure("triggerer_kill_50_last_success_s", last_success_s)
    print(f"moved {len(moved)} triggers; takeover {takeover_s:.1f} s; last success {last_success_s:.1f} s")
