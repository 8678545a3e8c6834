"""The worker's log lines in the task log, as the UI reads it (REST API), in a real deployment.

Four deferred spawns of ``long-logger`` log a line every emulated second. While they are deferred,
their worker lines already show in their task logs. Then the triggerer running most of their
triggers is restarted (SIGTERM, as a rolling upgrade stops it): its triggers go to the other
triggerer, which goes on forwarding after the last line the stopped one wrote (the log cursor on
the execution). Once the tasks succeed, each task log holds every worker line exactly once.

Without a cursor every line forwarded before the restart showed twice (37 in one run). With the
cursor but its last write lost (the shared watch closed the client as the stopping triggerer
canceled its triggers, before they wrote it), up to one cursor interval of lines showed twice
(1, 1 and 9 in three runs). A SIGKILLed triggerer writes nothing as it ends: there, at most the
lines since the last periodic write repeat (docs/deployment.md).
"""

from __future__ import annotations

import re
from collections import Counter

import pytest

from airflow_provider_kontinue.client import KontinueClient
from airflow_provider_kontinue.triggers.logs import ANNOTATION_LOG_CURSOR
from tests.deployment.conftest import Slot
from tests.support.airflow_api import wait_until
from tests.support.deployed_triggers import assigned_triggers, running_triggers
from tests.support.deployment import TRIGGERERS
from tests.support.figures import record_figure

TASKS = 4
LINES = 300
"""One per emulated second: 60 s of logging at the emulator's speed."""
WORKER_LINE = re.compile(rf"\[kontinue worker, attempt 1\] line (\d+) of {LINES}\b")


def worker_lines(log: str) -> Counter[int]:
    return Counter(int(number) for number in WORKER_LINE.findall(log))


@pytest.mark.timeout(900)  # the first test of a session also starts the deployment
def test_worker_lines_show_while_deferred_and_each_shows_exactly_once_across_a_triggerer_restart(
    slot: Slot, kontinue: KontinueClient
) -> None:
    deployment, api = slot.deployment, slot.deployment.api
    dag_id = slot.write_dag("deferred_loggers", tasks=TASKS, seconds=LINES)
    run_id = api.trigger(dag_id)
    tasks = [f"log_{index}" for index in range(TASKS)]

    def forwarding_while_deferred() -> dict[str, dict[str, int]] | None:
        assigned = assigned_triggers(api, dag_id, run_id)
        if set(assigned) != set(tasks):
            return None
        if not all(worker_lines(api.task_log(dag_id, run_id, task, 1)) for task in tasks):
            return None
        running = {name: running_triggers(deployment, name, dag_id) for name in TRIGGERERS}
        return running if sum(map(len, running.values())) == TASKS else None

    running = wait_until(
        forwarding_while_deferred, timeout=420, what="worker lines in the task logs of the deferred tasks"
    )
    restarted = max(TRIGGERERS, key=lambda name: len(running[name]))
    moved = set(running[restarted])
    # Mid-stream: no execution has ended yet, and the cursor is on the executions being forwarded.
    executions = {task: str(api.xcom(dag_id, run_id, task, key="execution_name")) for task in tasks}
    assert all(not kontinue.get(name).is_terminal for name in executions.values())

    def cursors_written() -> bool:
        return all(ANNOTATION_LOG_CURSOR in kontinue.get(name).annotations for name in executions.values())

    wait_until(cursors_written, timeout=30, what="every trigger to keep its log cursor on its execution")

    deployment.restart(restarted)
    assert api.wait_for_run(dag_id, run_id, timeout=300) == "success"

    repeated: dict[str, int] = {}
    for task in tasks:
        lines = worker_lines(api.task_log(dag_id, run_id, task, 1))
        missing = sorted(set(range(1, LINES + 1)) - set(lines))
        twice = sorted(number for number, count in lines.items() if count > 1)
        assert missing == [], f"{task} (moved: {task in moved}): missing {missing}"
        assert twice == [], f"{task} (moved: {task in moved}): twice {twice}"
        repeated[task] = len(twice)
    record_figure("log_cursor_restart_lines_repeated_max", max(repeated.values()))
    print(f"restarted {restarted} with {len(moved)} of {TASKS} triggers; lines repeated per task: {repeated}")
