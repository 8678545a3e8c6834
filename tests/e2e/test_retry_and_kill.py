"""A task whose worker died reattaches to its execution instead of spawning a second one; killing a
waiting task cancels its execution (in the worker through ``on_kill``, deferred through the
trigger's ``on_kill``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from typing import Any

import pytest

from airflow_provider_kontinue.client import Execution, KontinueClient, ListOptions
from airflow_provider_kontinue.operators.naming import LABEL_DAG_ID
from airflow_provider_kontinue.triggers.execution import KILL_MESSAGE, KontinueExecutionTrigger
from tests.support.airflow_runs import Airflow
from tests.support.polling import wait_until


def _run_executions(kontinue: KontinueClient, logical_date: str) -> list[Execution]:
    listed = kontinue.list(ListOptions(label_selector={LABEL_DAG_ID: "e2e_long_run"}))
    return [
        e for e in listed if logical_date[:19] in e.annotations.get("airflow.apache.org/task-instance", "")
    ]


def _running(kontinue: KontinueClient, logical_date: str) -> Execution | None:
    found = _run_executions(kontinue, logical_date)
    return found[0] if found and found[0].phase == "Executing" else None


@pytest.mark.parametrize("deferrable", [pytest.param(False, id="sync"), pytest.param(True, id="deferrable")])
def test_a_task_retried_after_its_worker_died_reattaches_to_the_same_execution(
    airflow: Airflow, kontinue: KontinueClient, deferrable: bool
) -> None:
    logical_date = f"2025-03-0{2 if deferrable else 1}T10:00:00+00:00"
    first = airflow.start("e2e_long_run", deferrable=deferrable, logical_date=logical_date)
    spawned = wait_until(lambda: _running(kontinue, logical_date), 90, "the execution to run")
    first.kill()  # SIGKILL: the worker dies, no on_kill, nothing cleaned up
    first.wait()
    assert kontinue.get(spawned.name).phase == "Executing"  # it went on without its task

    again = airflow.run("e2e_long_run", deferrable=deferrable, logical_date=logical_date)
    assert again.state == "success", again.log[-3000:]
    said = "\n".join(line for line in again.log.splitlines() if "kontinue" in line)
    reattached = f"kontinue: reattaching to execution {spawned.name} (Executing)" in again.log
    # (on a slow machine the execution may have finished before the retry: its result is reused)
    reattached |= f"kontinue: execution {spawned.name} of an earlier try ended Completed" in again.log
    # Deferred when killed, the task instance may resume its deferral instead (Airflow keeps
    # next_method): the trigger then waits on the same execution, which is no duplicate either.
    resumed = deferrable and f"kontinue: waiting for execution {spawned.name}" in again.log
    assert reattached or resumed, said
    assert again.xcom("long") == {"lines": 60}
    assert [e.name for e in _run_executions(kontinue, logical_date)] == [spawned.name]  # no duplicate


def test_killing_a_task_that_waits_in_the_worker_cancels_its_execution(
    airflow: Airflow, kontinue: KontinueClient
) -> None:
    logical_date = "2025-03-03T10:00:00+00:00"
    proc = airflow.start("e2e_long_run", deferrable=False, logical_date=logical_date)
    spawned = wait_until(lambda: _running(kontinue, logical_date), 90, "the execution to run")
    proc.send_signal(signal.SIGTERM)  # what the supervisor sends a task it kills
    run = airflow.finish(proc)
    assert run.task_states() == {"long": "failed"}, run.log[-3000:]
    canceled = kontinue.get(spawned.name)
    assert canceled.phase == "Canceled"
    assert canceled.message == "Canceled by Airflow: the task was killed"


def test_killing_a_deferred_task_cancels_its_execution_through_the_trigger(
    airflow: Airflow, kontinue: KontinueClient
) -> None:
    execution = kontinue.spawn("long-logger", {"seconds": 60})

    async def scenario() -> Any:
        trigger = KontinueExecutionTrigger(name=execution.name, namespace=airflow.namespace)
        waiting = asyncio.ensure_future(anext(trigger.run()))
        await asyncio.to_thread(wait_until, lambda: kontinue.get(execution.name).phase == "Executing", 60)
        await asyncio.sleep(0.5)
        assert not waiting.done()
        await trigger.on_kill()  # Airflow 3.3: the user marked the deferred task failed
        event = await asyncio.wait_for(waiting, 30)  # the wait ends: the execution was canceled
        with contextlib.suppress(asyncio.CancelledError):
            await trigger.cleanup()
        return event

    event = asyncio.run(scenario())
    assert event.payload["phase"] == "Canceled"
    canceled = kontinue.get(execution.name)
    assert canceled.phase == "Canceled"
    assert canceled.message == KILL_MESSAGE


def test_on_kill_after_the_trigger_fired_cancels_nothing(airflow: Airflow, kontinue: KontinueClient) -> None:
    execution = kontinue.spawn("hello", {"name": "done"})

    async def scenario() -> None:
        trigger = KontinueExecutionTrigger(name=execution.name, namespace=airflow.namespace)
        event = await anext(trigger.run())
        assert event.payload["phase"] == "Completed"
        await trigger.on_kill()

    asyncio.run(scenario())
    assert kontinue.get(execution.name).phase == "Completed"
