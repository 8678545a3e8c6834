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
task nobody waits for. A triggerer restart or a trigger moving to another triggerer does not
call it, and the execution goes on.
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
            **extra,
        )

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
        if self._fired or not self.cancel_on_kill:
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
