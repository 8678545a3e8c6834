"""How the operators wait for an execution: in the worker (sync) or in the triggerer (deferrable).

Both paths run the same waiting code (:mod:`airflow_provider_kontinue.triggers.execution_wait`): a watch,
never polling, with the worker's log lines written into the task log. Sync mode runs it on a
private event loop in the worker; deferrable mode hands a :class:`KontinueExecutionTrigger` to the
triggerer and frees the worker slot. Either way the outcome comes back as the same event payload
and :meth:`ExecutionWaiter.execute_complete` turns it into the task's result.

``execution_timeout`` holds in both modes: sync mode is bounded by Airflow itself (and
``on_kill`` cancels the execution); deferrable mode passes the absolute deadline to the trigger,
which fires ``timeout`` at that moment, and the task then cancels the execution and fails with
``AirflowTaskTimeout`` (Airflow does not enforce ``execution_timeout`` while a task is deferred).
"""

from __future__ import annotations

import asyncio
import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator
from airflow.sdk.exceptions import AirflowException, AirflowSkipException, AirflowTaskTimeout

from airflow_provider_kontinue.client import ExecutionPhase, InvalidStateError, KontinueError, NotFoundError
from airflow_provider_kontinue.client.informer import Informer
from airflow_provider_kontinue.hooks.kontinue import KontinueHook, connect_async
from airflow_provider_kontinue.links.execution import (
    XCOM_EXECUTION_NAME,
    XCOM_EXECUTION_NAMESPACE,
    XCOM_EXECUTION_URL,
)
from airflow_provider_kontinue.triggers.execution import XCOM_DEFERRED_TRY, KontinueExecutionTrigger
from airflow_provider_kontinue.triggers.execution_wait import ExecutionWait, payload_for, wait_for_execution

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_kontinue.client import Execution

DEADLINE_LEAD = timedelta(seconds=1)
"""How much earlier than Airflow's own ``execution_timeout`` timer the wait's deadline falls (at
most a tenth of the timeout)."""
DEFER_TIMEOUT_PAD = timedelta(seconds=60)
"""Added to ``defer(timeout=)``: the trigger's own deadline fires first and cancels cleanly."""
TIMEOUT_CANCEL_MESSAGE = "Canceled by Airflow: the task ran past its execution_timeout"
KILL_CANCEL_MESSAGE = "Canceled by Airflow: the task was killed"


# pragma: no mutate start (make mutation: the e2e tier runs the event loop)
def run_sync_wait(hook: KontinueHook, wait: ExecutionWait, logger: Any) -> dict[str, Any]:
    """Wait in the worker: the shared waiting code on a private event loop, then close it all."""
    settings = hook.settings  # read with the sync connection API, before the loop starts

    async def main() -> dict[str, Any]:
        async def make_client() -> Any:
            return await connect_async(settings, wait.namespace)

        try:
            return await wait_for_execution(wait, make_client, logger)
        finally:
            await Informer.shutdown()

    return asyncio.run(main())


def push_identity(context: Context, hook: KontinueHook, execution: Execution) -> None:
    """XCom the execution's name, namespace and UI link, so downstream tasks and the task's
    "kontinue execution" link know it while the task still waits (or is deferred)."""
    ti = context["ti"]
    ti.xcom_push(key=XCOM_EXECUTION_NAME, value=execution.name)
    ti.xcom_push(key=XCOM_EXECUTION_NAMESPACE, value=execution.namespace)
    # Pushed even when empty: the link reads it on every task phase, and a missing key is logged
    # as an error by Airflow.
    ti.xcom_push(key=XCOM_EXECUTION_URL, value=hook.execution_url(execution.name, execution.namespace) or "")


# pragma: no mutate end


class ExecutionWaiter(BaseOperator):
    """Base of the operators that wait for an execution (Spawn, Retry): waiting and finishing.

    Subclasses set ``kontinue_conn_id``, ``deferrable``, ``stream_logs`` and ``cancel_on_kill``.
    """

    kontinue_conn_id: str
    deferrable: bool
    stream_logs: bool
    cancel_on_kill: bool
    _execution: tuple[str, str] | None = None
    _started: float | None = None

    def _start_clock(self) -> None:
        """Start counting ``execution_timeout`` now, as ``execute()`` begins: Airflow starts its own
        timer right before it calls ``execute()``. The task instance's ``start_date`` is not used:
        it can be seconds earlier (``dag.test()`` sets it before the task is even loaded), which
        would leave a short timeout no time at all."""
        self._started = time.time()

    def _deadline(self) -> float | None:
        """The absolute end of the task's ``execution_timeout`` (epoch seconds), if it has one.

        It falls :data:`DEADLINE_LEAD` before Airflow's timer, so a sync-mode wait reaches it first
        and cancels the execution in our code rather than being interrupted by Airflow's signal.
        """
        if self.execution_timeout is None or self._started is None:
            return None
        budget = self.execution_timeout.total_seconds()
        return self._started + budget - min(DEADLINE_LEAD.total_seconds(), budget / 10)

    def wait_for(
        self,
        context: Context,
        hook: KontinueHook,
        execution: Execution,
        *,
        min_generation: int | None = None,
    ) -> Any:
        """Finish now if the execution already ended; otherwise wait (sync) or defer."""
        wait = ExecutionWait(
            conn_id=self.kontinue_conn_id,
            namespace=execution.namespace,
            name=execution.name,
            deadline=self._deadline(),
            min_generation=min_generation,
            stream_logs=self.stream_logs,
        )
        if wait.reached(execution):
            self.log.info("kontinue: execution %s has already ended (%s)", execution.name, execution.phase)
            return self.finish(context, payload_for(wait, execution))
        if self.deferrable:
            trigger = KontinueExecutionTrigger(
                name=wait.name,
                namespace=wait.namespace,
                kontinue_conn_id=wait.conn_id,
                deadline=wait.deadline,
                min_generation=min_generation,
                stream_logs=self.stream_logs,
                cancel_on_kill=self.cancel_on_kill,
            )
            timeout = None
            if wait.deadline is not None:
                timeout = timedelta(seconds=max(0.0, wait.deadline - time.time())) + DEFER_TIMEOUT_PAD
            self.log.info("kontinue: deferring until execution %s ends", wait.name)
            ti = context["ti"]
            ti.xcom_push(key=XCOM_DEFERRED_TRY, value=ti.try_number)
            self.defer(trigger=trigger, method_name="execute_complete", timeout=timeout)
        self.log.info("kontinue: waiting in the worker until execution %s ends", wait.name)
        return self.finish(context, run_sync_wait(hook, wait, self.log))

    def execute_complete(self, context: Context, event: dict[str, Any] | str | None = None) -> Any:
        """Resume after the trigger fired: the task's result, or the reason it fails."""
        return self.finish(context, event)

    def finish(self, context: Context, event: dict[str, Any] | str | None) -> Any:
        """Turn a wait's outcome into the task's outcome.

        Completed: the execution's result is the return value (and XCom). Skipped: the task is
        skipped. Failed or Canceled: the task fails with the execution's message. A deadline:
        the execution is canceled and the task fails with ``AirflowTaskTimeout``.
        """
        if not isinstance(event, dict):
            raise AirflowException(f"kontinue: the wait ended without an outcome ({event!r})")
        name, namespace = event.get("name"), event.get("namespace")
        self._execution = (str(name), str(namespace))
        status, phase, message = event.get("status"), event.get("phase"), event.get("message") or ""
        if status == "timeout":
            self._cancel(TIMEOUT_CANCEL_MESSAGE)
            raise AirflowTaskTimeout(
                f"execution {name} did not end within the task's execution_timeout; it was canceled"
            )
        if status == "error":
            raise AirflowException(f"kontinue: could not wait for execution {name}: {message}")
        self.log.info("kontinue: execution %s ended %s: %s", name, phase, message)
        if phase == ExecutionPhase.COMPLETED:
            return event.get("result")
        if phase == ExecutionPhase.SKIPPED:
            raise AirflowSkipException(f"execution {name} was skipped: {message}")
        if phase in (ExecutionPhase.FAILED, ExecutionPhase.CANCELED):
            reason = f" ({event.get('reason')})" if event.get("reason") else ""
            raise AirflowException(f"execution {name} {str(phase).lower()}{reason}: {message}")
        return event.get("result")  # a wanted non-terminal phase (sensors)

    def _cancel(self, message: str) -> None:
        if self._execution is None:
            return
        name, namespace = self._execution
        hook = KontinueHook(self.kontinue_conn_id, namespace)
        try:
            hook.client.with_timeout(20).cancel(name, {"message": message}, namespace=namespace)
            self.log.info("kontinue: canceled execution %s", name)
        except (InvalidStateError, NotFoundError):
            pass  # it ended meanwhile
        except KontinueError as err:
            self.log.warning("kontinue: could not cancel execution %s: %s", name, err)
        finally:
            hook.close()

    def on_kill(self) -> None:
        """The task is being killed (or timed out) while it waits in the worker: cancel the execution.

        Airflow calls this for ``execution_timeout`` too; past the deadline the execution's
        message then says it timed out, as the deferrable path's does.
        """
        if self.cancel_on_kill:
            deadline = self._deadline()
            timed_out = deadline is not None and time.time() >= deadline
            self._cancel(TIMEOUT_CANCEL_MESSAGE if timed_out else KILL_CANCEL_MESSAGE)
