"""Run one DAG with ``dag.test()`` in this process and print what happened as one JSON line.

Used by the e2e tests as ``python -m tests.support.dag_runner <dag_id> [--logical-date ISO]`` with
``AIRFLOW_HOME`` pointing at a migrated home whose ``dags/`` holds the DAG file. The last line of
stdout is ``E2E-RESULT {"state", "run_id", "tasks": [{task_id, map_index, state, try_number}],
"xcom": {"task_id[map_index]": {key: value}}, "triggers": [...]}``; everything before it is the
run's log.

``triggers`` records each trigger ``dag.test()`` ran in line (it has no triggerer): the task, the
trigger's ``serialize()`` (what a triggerer rebuilds it from), the task instance's ``next_kwargs``
read from the database while it was deferred, and the event the trigger fired (which ``dag.test()``
stores as ``next_kwargs`` for the resumed task, then clears when the task ends).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Callable
from datetime import datetime
from typing import Any

TRIGGERS: list[dict[str, Any]] = []
"""The triggers run in line by this ``dag.test()``, as recorded by :func:`record_inline_triggers`."""


def record_inline_triggers() -> None:
    """Wrap ``dag.test()``'s in-line triggerer so each trigger it runs is recorded in TRIGGERS."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.sdk.definitions import dag as dag_module
    from airflow.utils.session import create_session
    from sqlalchemy import select

    run_inline: Callable[[Any, Any], Any] = dag_module._run_inline_trigger

    def recording(trigger: Any, task_sdk_ti: Any) -> Any:
        classpath, kwargs = trigger.serialize()
        with create_session() as session:
            deferred = session.scalar(
                select(TaskInstance.next_kwargs).where(TaskInstance.id == task_sdk_ti.id)
            )
        event = run_inline(trigger, task_sdk_ti)
        TRIGGERS.append(
            {
                "task_id": task_sdk_ti.task_id,
                "classpath": classpath,
                "kwargs": kwargs,
                "next_kwargs_while_deferred": deferred,
                "event": None if event is None else event.payload,
            }
        )
        return event

    dag_module._run_inline_trigger = recording


def summarize(dag_id: str, run_id: str, state: str) -> dict[str, Any]:
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from airflow.utils.session import create_session

    tasks: list[dict[str, Any]] = []
    xcom: dict[str, dict[str, Any]] = {}
    with create_session() as session:
        for ti in session.query(TaskInstance).filter(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id
        ):
            tasks.append(
                {
                    "task_id": ti.task_id,
                    "map_index": ti.map_index,
                    "state": str(ti.state),
                    "try_number": ti.try_number,
                }
            )
        rows = session.query(XComModel).filter(XComModel.dag_id == dag_id, XComModel.run_id == run_id)
        for row in rows:
            key = row.task_id if row.map_index < 0 else f"{row.task_id}[{row.map_index}]"
            value = row.value
            if isinstance(value, (str, bytes)):
                with contextlib.suppress(ValueError):
                    value = json.loads(value)
            xcom.setdefault(key, {})[row.key] = value
    return {"state": state, "run_id": run_id, "tasks": tasks, "xcom": xcom, "triggers": TRIGGERS}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("--logical-date", default=None)
    args = parser.parse_args()

    from airflow.dag_processing.dagbag import DagBag

    bag = DagBag()
    dag = bag.get_dag(args.dag_id)
    if dag is None:
        print(
            "E2E-RESULT " + json.dumps({"error": f"no dag {args.dag_id}", "import_errors": bag.import_errors})
        )
        return 2
    record_inline_triggers()
    if args.logical_date:  # the same date again gives the same run id: a re-run of that run
        when = datetime.fromisoformat(args.logical_date)
        run = dag.test(logical_date=when, run_after=when)
    else:
        run = dag.test()
    summary = summarize(args.dag_id, run.run_id, str(run.state))
    print("E2E-RESULT " + json.dumps(summary, default=str), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
