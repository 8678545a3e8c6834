"""``KontinueExecutionTrigger``: wait for an execution in the triggerer, without a worker slot.

The trigger's kwargs are plain JSON and hold no secret: the connection id, the namespace, the
execution's name, the phases to wait for and an absolute deadline (epoch seconds). Credentials
are read in the triggerer through Airflow's async connection API. Many triggers share one watch
per connection and namespace (the client's ``Informer``); the worker's log lines are forwarded into the
trigger's log, which Airflow shows in the task log. One ``TriggerEvent`` ends it:
``{"status": "done" | "timeout" | "error", "phase", "message", "reason", "result", "name",
"namespace", "attempt"}``.

When a user marks the deferred task failed or success, or clears it, Airflow 3.3 calls
:meth:`on_kill`: the execution is canceled (``cancel_on_kill``), so no remote work runs on for a
task nobody waits for. A triggerer restart does not call it, and the execution goes on. Airflow
3.3 does call it when it moves a trigger away from a live triggerer whose heartbeat lagged (there
the move looks like a user's action), so before it cancels anything the trigger checks that its
task instance left DEFERRED, or is deferred by a newer try (the operator writes the try that
deferred to XCom ``kontinue_deferred_try``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterable
from typing import Any

from airflow.sdk.exceptions import AirflowNotFoundException
from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_kontinue.client import InvalidStateError, KontinueError, NotFoundError
from airflow_provider_kontinue.hooks.connection import DEFAULT_CONN_ID, ConnectionFieldError
from airflow_provider_kontinue.hooks.kontinue import KontinueAsyncHook
from airflow_provider_kontinue.triggers.execution_wait import (
    ExecutionWait,
    poll_for_execution,
    wait_for_execution,
)
from airflow_provider_kontinue.triggers.resilient import connection_client

ON_KILL_TIMEOUT = 20.0
"""Seconds the cancel on kill may take; below Airflow's ``[triggerer] on_kill_timeout`` (30 s)."""
KILL_MESSAGE = "Canceled by Airflow: the waiting task was killed"
XCOM_DEFERRED_TRY = "kontinue_deferred_try"
"""XCom key: the try number that deferred on this trigger, written by the operator as it defers.

A new try clears the task instance's XComs as it starts, so the value names the try that waits now."""


async def still_deferred_in(ti: Any) -> bool:
    """Whether task instance ``ti`` is DEFERRED now, by the same try, as the triggerer's API says."""
    # Imported on kill only: none of it is part of what a waiting trigger loads.
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.execution_time.xcom import XCom
    from asgiref.sync import sync_to_async

    # thread_sensitive=False: each check in a thread of its own. A triggerer that goes on after a
    # stall kills all its moved triggers at once; in asgiref's one shared thread their requests
    # to the supervisor would queue behind each other, past Airflow's on_kill timeout.
    deferred = await sync_to_async(RuntimeTaskInstance.get_ti_count, thread_sensitive=False)(
        ti.dag_id, map_index=ti.map_index, task_ids=[ti.task_id], run_ids=[ti.run_id], states=["deferred"]
    )
    if not deferred:
        return False
    waiting = await sync_to_async(XCom.get_one, thread_sensitive=False)(
        key=XCOM_DEFERRED_TRY, dag_id=ti.dag_id, task_id=ti.task_id, run_id=ti.run_id, map_index=ti.map_index
    )
    return bool(waiting == ti.try_number)


class KontinueExecutionTrigger(BaseTrigger):
    """Fires once when a kontinue execution reaches one of ``phases`` (default: any end).

    :param name: The execution.
    :param namespace: Its namespace (resolved by the operator; triggers never guess).
    :param kontinue_conn_id: The ``kontinue`` connection.
    :param phases: Phases that end the wait; an execution that ends in another phase ends it too.
    :param deadline: Absolute time (epoch seconds) after which the trigger fires ``timeout``.
    :param min_generation: Ignore states written before the controller saw this generation.
    :param stream_logs: Forward the worker's log lines into the task log while waiting.
    :param cancel_on_kill: Cancel the execution when the task is killed while deferred.
    :param poll_interval: Poll every so many seconds instead of watching (for comparison only).
    """

    def __init__(
        self,
        name: str,
        namespace: str,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
        phases: Iterable[str] | None = None,
        deadline: float | None = None,
        min_generation: int | None = None,
        stream_logs: bool = True,
        cancel_on_kill: bool = True,
        poll_interval: float | None = None,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.name = name
        self.namespace = namespace
        self.kontinue_conn_id = kontinue_conn_id
        self.phases = sorted(phases) if phases else None
        self.deadline = float(deadline) if deadline is not None else None
        self.min_generation = min_generation
        self.stream_logs = stream_logs
        self.cancel_on_kill = cancel_on_kill
        self.poll_interval = poll_interval
        self._fired = False

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "name": self.name,
                "namespace": self.namespace,
                "kontinue_conn_id": self.kontinue_conn_id,
                "phases": self.phases,
                "deadline": self.deadline,
                "min_generation": self.min_generation,
                "stream_logs": self.stream_logs,
                "cancel_on_kill": self.cancel_on_kill,
                "poll_interval": self.poll_interval,
            },
        )

    def wait(self) -> ExecutionWait:
        """What this trigger waits for, as the shared waiting code takes it."""
        extra: dict[str, Any] = {"phases": frozenset(self.phases)} if self.phases else {}
        return ExecutionWait(
            conn_id=self.kontinue_conn_id,
            namespace=self.namespace,
            name=self.name,
            deadline=self.deadline,
            min_generation=self.min_generation,
            stream_logs=self.stream_logs,
            log_reader=self._log_reader(),
            **extra,
        )

    def _log_reader(self) -> str | None:
        """The task instance and try this trigger forwards the worker log for: the key of its log
        cursor, so a trigger that starts again for the same try goes on where the last one left."""
        ti = getattr(self, "task_instance", None)
        if ti is None:
            return None
        return f"{ti.dag_id}/{ti.run_id}/{ti.task_id}/{ti.map_index}/{ti.try_number}"

    async def run(self) -> AsyncIterator[TriggerEvent]:
        wait = self.wait()
        self.log.info("kontinue: waiting for execution %s in namespace %s", self.name, self.namespace)
        if self.poll_interval:
            hook = KontinueAsyncHook(self.kontinue_conn_id, self.namespace)
            try:
                payload = await poll_for_execution(wait, await hook.get_async_client(), self.poll_interval)
            finally:
                await hook.aclose()
        else:
            make_client = connection_client(self.kontinue_conn_id, self.namespace)
            payload = await wait_for_execution(wait, make_client, self.log)
        if payload["status"] == "done":
            self.log.info("kontinue: execution %s is %s", self.name, payload.get("phase"))
        else:
            self.log.info(
                "kontinue: stopped waiting for %s (%s): %s", self.name, payload["status"], payload["message"]
            )
        self._fired = True
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]

    async def on_kill(self) -> None:
        """The task was killed while deferred (marked failed/success, or cleared): cancel the
        execution, unless the trigger already fired or ``cancel_on_kill`` is off."""
        if self._fired or not self.cancel_on_kill or await self._moved():
            return
        hook = KontinueAsyncHook(self.kontinue_conn_id, self.namespace)
        try:
            client = await hook.get_async_client()
            await asyncio.wait_for(
                client.cancel(self.name, {"message": KILL_MESSAGE}, namespace=self.namespace), ON_KILL_TIMEOUT
            )
            self.log.info("kontinue: canceled execution %s because the task was killed", self.name)
        except (InvalidStateError, NotFoundError):
            pass  # it had ended already (or is gone): nothing runs on
        except (KontinueError, asyncio.TimeoutError, AirflowNotFoundException, ConnectionFieldError) as err:
            # never into the triggerer: a connection deleted or broken since the defer included
            self.log.warning("kontinue: could not cancel execution %s on kill: %s", self.name, err)
        finally:
            await hook.aclose()

    async def _moved(self) -> bool:
        """Whether this trigger was only taken away from this triggerer: its task instance is
        still DEFERRED by the try that deferred, so its trigger runs on elsewhere and nothing is
        canceled. Unknown (no task instance, the triggerer's API failing) counts as killed."""
        ti = getattr(self, "task_instance", None)
        if ti is None:
            return False
        try:
            moved = await still_deferred_in(ti)
        except Exception as err:  # the triggerer's own API: whatever it raises, cancel as asked
            self.log.warning("kontinue: could not read the state of task %s: %s", ti.task_id, err)
            return False
        if moved:
            self.log.info("kontinue: the trigger moved to another triggerer; execution %s goes on", self.name)
        return moved
