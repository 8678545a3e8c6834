"""``KontinueScheduledExecutionTrigger``: wait until a kontinue schedule fires a run, or until that
run has completed, in the triggerer.

kontinue's ScheduledExecutions start executions on a cron schedule (labelled with the schedule's
name). The trigger waits for the first such run created after ``since`` (epoch seconds), and with
``wait_for="completed"`` until that run ends. It watches Executions (the shared watch of the
namespace, narrowed to the schedule's label), so it costs no request while the schedule sleeps.

The event payload: ``{"status": "done" | "timeout" | "error", "schedule", "run", "phase",
"message", "result", "namespace"}``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_kontinue.client import Execution, ListOptions, NotFoundError
from airflow_provider_kontinue.client.informer import ClientMaker, Informer
from airflow_provider_kontinue.hooks.connection import DEFAULT_CONN_ID
from airflow_provider_kontinue.triggers.resilient import connection_client, resilient

LABEL_SCHEDULE = "kontinue.cloud/schedule"
WAIT_FOR: tuple[str, ...] = ("fired", "completed")


@dataclass(frozen=True)
class ScheduleWait:
    """Wait for the first run of ``schedule`` created after ``since``; ``fired`` or ``completed``."""

    conn_id: str
    namespace: str
    schedule: str
    since: float
    wait_for: str = "fired"
    deadline: float | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.time())

    def is_new_run(self, execution: Execution) -> bool:
        created = execution.created_at
        return (
            execution.labels.get(LABEL_SCHEDULE) == self.schedule
            and created is not None
            and created.timestamp() > self.since
        )

    def payload(
        self, status: str, run: Execution | None = None, message: str | None = None
    ) -> dict[str, Any]:
        return {
            "status": status,
            "namespace": self.namespace,
            "schedule": self.schedule,
            "run": run.name if run else None,
            "phase": str(run.phase) if run and run.phase else None,
            "message": message or (run.message if run else None),
            "result": run.result if run else None,
        }


def first_run(wait: ScheduleWait, executions: list[Execution]) -> Execution | None:
    """The oldest run of the schedule created after ``since``."""
    runs = [e for e in executions if wait.is_new_run(e)]
    return min(runs, key=lambda e: (e.created_at.timestamp() if e.created_at else 0.0, e.name), default=None)


def decide(wait: ScheduleWait, run: Execution | None) -> dict[str, Any] | None:
    if run is None:
        return None
    if wait.wait_for == "fired" or run.is_terminal or run.is_archived:
        return wait.payload("done", run)
    return None


async def wait_for_schedule(wait: ScheduleWait, make_client: ClientMaker, logger: Any) -> dict[str, Any]:
    """Wait as ``wait`` says and return the outcome payload; never raises for a remote problem."""
    return await resilient(
        lambda: _wait_once(wait, make_client),
        remaining=wait.remaining,
        on_timeout=lambda: wait.payload(
            "timeout", message=f"the deadline passed waiting for {wait.schedule}"
        ),
        on_error=lambda message: wait.payload("error", message=message),
        what=f"schedule {wait.schedule}",
        logger=logger,
    )


async def _wait_once(wait: ScheduleWait, make_client: ClientMaker) -> dict[str, Any]:
    async with Informer.subscribe(
        wait.conn_id, wait.namespace, Execution, make_client, None, match=wait.is_new_run
    ) as sub:
        client = sub.client
        try:
            await client.get_scheduled_execution(wait.schedule, namespace=wait.namespace)
        except NotFoundError:
            return wait.payload(
                "error",
                message=f"scheduled execution {wait.schedule!r} not found in namespace {wait.namespace!r}",
            )
        listed = await client.list(ListOptions(schedule=wait.schedule), namespace=wait.namespace)
        run = first_run(wait, listed)
        while True:
            outcome = decide(wait, run)
            if outcome is not None:
                return outcome
            change = await sub.next(timeout=wait.remaining())
            if change.type == "RELISTED":
                candidate = first_run(wait, list(change.objects))
                run = candidate or (await client.get(run.name, namespace=wait.namespace) if run else None)
            elif change.object is not None and (run is None or change.object.name == run.name):
                run = change.object
                if change.type == "DELETED":  # archived by its TTL: read the archive
                    run = await client.get(run.name, namespace=wait.namespace)


class KontinueScheduledExecutionTrigger(BaseTrigger):
    """Fires once when ``schedule`` fired a run after ``since`` (``wait_for="fired"``), or when that
    run ended (``"completed"``); plain-JSON kwargs, no secrets."""

    def __init__(
        self,
        namespace: str,
        schedule: str,
        since: float,
        wait_for: str = "fired",
        deadline: float | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.namespace = namespace
        self.schedule = schedule
        self.since = float(since)
        self.wait_for = wait_for
        self.deadline = float(deadline) if deadline is not None else None
        self.kontinue_conn_id = kontinue_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "namespace": self.namespace,
                "schedule": self.schedule,
                "since": self.since,
                "wait_for": self.wait_for,
                "deadline": self.deadline,
                "kontinue_conn_id": self.kontinue_conn_id,
            },
        )

    def wait(self) -> ScheduleWait:
        return ScheduleWait(
            self.kontinue_conn_id, self.namespace, self.schedule, self.since, self.wait_for, self.deadline
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        make_client = connection_client(self.kontinue_conn_id, self.namespace)
        payload = await wait_for_schedule(self.wait(), make_client, self.log)
        self.log.info("kontinue: schedule wait ended: %s %s", payload["status"], payload.get("run"))
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
