"""Where a deployment's triggers run, and what their tasks spawned: the triggerer tests' views.

The REST API names a trigger's triggerer by TriggererJob id only; the files a triggerer's
processes hold open tie each running trigger to the OS process that runs it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime

import pytest

from airflow_provider_kontinue.client import Execution, KontinueClient
from airflow_provider_kontinue.operators.naming import ANNOTATION_TI_KEY, ti_key
from tests.support.airflow_api import AirflowApi
from tests.support.deployment import TRIGGERERS, Deployment

LEFT_DEFERRED = frozenset({"success", "failed", "up_for_retry", "up_for_reschedule", "skipped"})
"""States a task may not reach while its execution sleeps (it runs, then defers, then waits)."""
TRIGGER_LOG = re.compile(r"/task_id=(?P<task>[^/]+)/attempt=1\.log\.trigger\.(?P<job>\d+)\.log$")


def running_triggers(deployment: Deployment, triggerer: str, dag_id: str) -> dict[str, int]:
    """The tasks of ``dag_id`` whose trigger runs in ``triggerer`` now, each with its TriggererJob id.

    A triggerer opens a trigger's log file (``<task log>.trigger.<job id>.log``) at the trigger's
    first line ("kontinue: waiting for execution ...") and closes it when the trigger ends, so the
    files its processes hold open are the triggers it runs. They also tie the OS process to its job
    id: the REST API names a trigger's triggerer by job id only, with no pid.
    """
    running = {}
    for path in deployment.open_files(triggerer):
        match = TRIGGER_LOG.search(path)
        if match and f"/dag_id={dag_id}/" in path:
            running[match["task"]] = int(match["job"])
    return running


def assigned_triggers(api: AirflowApi, dag_id: str, run_id: str) -> dict[str, int | None]:
    """Deferred task → the TriggererJob its trigger is assigned to (REST API), as the UI shows it.

    Fails the test at once if a task ended, or failed a try, while its execution still sleeps.
    """
    instances = api.task_instances(dag_id, run_id)
    left = {ti["task_id"]: ti["state"] for ti in instances if ti["state"] in LEFT_DEFERRED}
    if left:
        pytest.fail(f"tasks left DEFERRED before their executions ended: {left}")
    return {
        ti["task_id"]: (ti.get("trigger") or {}).get("triggerer_id")
        for ti in instances
        if ti["state"] == "deferred"
    }


def where_each_runs(
    deployment: Deployment, dag_id: str, run_id: str, tasks: Iterable[str]
) -> dict[str, dict[str, int]] | None:
    """Triggerer → {task: TriggererJob} once every one of ``tasks`` is deferred and its trigger
    runs in exactly one triggerer, the one the REST API says it is assigned to; else ``None``."""
    assigned = assigned_triggers(deployment.api, dag_id, run_id)
    if set(assigned) != set(tasks):
        return None
    running = {name: running_triggers(deployment, name, dag_id) for name in TRIGGERERS}
    ran = [(task, job) for triggers in running.values() for task, job in triggers.items()]
    return running if sorted(ran) == sorted(assigned.items()) else None


def all_run_on(
    deployment: Deployment, triggerer: str, job: int, dag_id: str, run_id: str, tasks: Iterable[str]
) -> bool:
    """Whether every one of ``tasks`` is assigned to TriggererJob ``job`` and runs in ``triggerer``."""
    assigned = assigned_triggers(deployment.api, dag_id, run_id)
    on_job = assigned == dict.fromkeys(tasks, job)
    return on_job and running_triggers(deployment, triggerer, dag_id) == assigned


def executions_by_task(
    kontinue: KontinueClient, dag_id: str, run_id: str, tasks: Iterable[str]
) -> dict[str, list[Execution]]:
    """Every execution in the test's namespace, by the task (of ``tasks``) its annotation names."""
    by_key: dict[str, list[Execution]] = {}
    for execution in kontinue.list():
        by_key.setdefault(execution.annotations.get(ANNOTATION_TI_KEY, ""), []).append(execution)
    keys = {ti_key(dag_id, task, run_id, -1): task for task in tasks}
    assert set(by_key) == set(keys), f"executions of other task instances: {set(by_key) - set(keys)}"
    return {keys[key]: executions for key, executions in by_key.items()}


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()
