"""A sync-mode spawn whose task process is SIGKILLed mid-wait is retried by the scheduler and
adopts its execution: exactly one execution exists for the task instance, and the retry succeeds."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from airflow_provider_kontinue.client import Execution, KontinueClient, ListOptions
from airflow_provider_kontinue.operators.naming import LABEL_DAG_ID
from tests.deployment.conftest import Slot
from tests.support.airflow_api import wait_until


def task_process(ti_id: str) -> int | None:
    """The pid of the task runner of task instance ``ti_id`` (its title is ``airflow worker -- <id>``)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if title.startswith(f"airflow worker -- {ti_id}"):
            return int(entry.name)
    return None


def test_a_killed_sync_spawn_is_retried_and_adopts_its_one_execution(
    slot: Slot, kontinue: KontinueClient
) -> None:
    api = slot.deployment.api
    dag_id = slot.write_dag("sync_sleeper", duration="60s")
    run_id = api.trigger(dag_id)
    ti = api.wait_for_task_state(dag_id, run_id, "sleep", {"running"})

    def sleeping() -> list[Execution] | None:
        listed = kontinue.list(ListOptions(label_selector={LABEL_DAG_ID: dag_id}))
        return listed if any(e.phase == "Suspended" for e in listed) else None

    # The sleeper sleeps: a timer suspension, reached a moment after the execution is created.
    spawned = wait_until(sleeping, timeout=60, what="the spawn's execution to sleep")
    assert [e.phase for e in spawned] == ["Suspended"]
    pid = wait_until(lambda: task_process(ti["id"]), timeout=30, what="the task's process")

    os.kill(pid, signal.SIGKILL)

    assert api.wait_for_run(dag_id, run_id, timeout=240) == "success"
    final = api.task_instance(dag_id, run_id, "sleep")
    assert final["try_number"] == 2  # the kill failed try 1; the scheduler's retry succeeded
    executions = kontinue.list(ListOptions(label_selector={LABEL_DAG_ID: dag_id}))
    assert [(e.name, e.phase) for e in executions] == [(spawned[0].name, "Completed")]
