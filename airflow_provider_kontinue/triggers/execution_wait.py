"""Waiting for an execution to reach a phase: the one implementation behind every wait.

The deferrable trigger runs it in the triggerer; the operators' sync path runs the same coroutine
on a private event loop in the worker. It subscribes to the loop's shared watch (the client's
:class:`~airflow_provider_kontinue.client.informer.Informer`), then reads the execution, so no
change between the two is lost, and returns a plain JSON outcome: ``{"status": "done" |
"timeout" | "error", "phase", "message", "reason", "result", "name", "namespace",
"attempt"}``. ``done`` means the execution reached one of the wanted phases, or ended in another
(it will not change again); what that means for the task is the caller's decision.

The wait survives what a long wait meets: the watch's reconnects and 410 relists happen in the
client; an execution archived and deleted by its TTL is read from its ArchivedExecution; a watch
that fails for another reason (API server restarted, network gone) is re-subscribed with backoff
and the execution read again. Permission and configuration errors end the wait at once.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_kontinue.client import TERMINAL_PHASES, AsyncKontinueClient, Execution, KontinueError
from airflow_provider_kontinue.client.informer import ClientMaker, Informer, Subscription
from airflow_provider_kontinue.triggers.logs import LogForwarder
from airflow_provider_kontinue.triggers.resilient import resilient


@dataclass(frozen=True)
class ExecutionWait:
    """What to wait for: an execution, until one of ``phases`` (or any end), before ``deadline``.

    ``min_generation``: ignore states the controller wrote before it saw this ``metadata.generation``
    (after a retry the execution still reads Failed until the controller picks the retry up).
    """

    conn_id: str
    namespace: str
    name: str
    phases: frozenset[str] = field(default_factory=lambda: frozenset(p.value for p in TERMINAL_PHASES))
    deadline: float | None = None
    min_generation: int | None = None
    stream_logs: bool = True
    log_reader: str | None = None
    """Who forwards the worker log (a trigger's task instance and try): keeps a log cursor."""

    def reached(self, execution: Execution) -> bool:
        """Whether ``execution`` ends the wait: a wanted phase, or an end it will not leave."""
        if execution.is_archived:
            return True
        observed = (execution.status.observed_generation if execution.status else None) or 0
        if not execution.is_observed or (self.min_generation is not None and observed < self.min_generation):
            return False  # the phase answers an older spec (a retry not yet picked up)
        return str(execution.phase) in self.phases or execution.is_terminal

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.time())


def outcome(
    wait: ExecutionWait, status: str, execution: Execution | None = None, error: str = ""
) -> dict[str, Any]:
    """The plain-JSON event payload for ``wait``'s end."""
    payload: dict[str, Any] = {
        "status": status,
        "name": wait.name,
        "namespace": wait.namespace,
        "phase": None,
        "message": error or None,
        "reason": None,
        "result": None,
        "attempt": None,
    }
    if execution is not None:
        payload.update(
            phase=str(execution.phase) if execution.phase else None,
            message=error or execution.message,
            reason=execution.reason,
            result=execution.result,
            attempt=execution.attempt,
        )
    return payload


def _timed_out(wait: ExecutionWait) -> dict[str, Any]:
    return outcome(wait, "timeout", error=f"the deadline passed while waiting for execution {wait.name!r}")


def payload_for(wait: ExecutionWait, execution: Execution) -> dict[str, Any]:
    return outcome(wait, "done", execution)


async def wait_for_execution(wait: ExecutionWait, make_client: ClientMaker, logger: Any) -> dict[str, Any]:
    """Wait as ``wait`` says and return the outcome payload; never raises for a remote problem."""
    return await resilient(
        lambda: _wait_once(wait, make_client, logger),
        remaining=wait.remaining,
        on_timeout=lambda: _timed_out(wait),
        on_error=lambda message: outcome(wait, "error", error=message),
        what=f"execution {wait.name}",
        logger=logger,
    )


async def _wait_once(wait: ExecutionWait, make_client: ClientMaker, logger: Any) -> dict[str, Any]:
    names = frozenset({wait.name})
    async with Informer.subscribe(wait.conn_id, wait.namespace, Execution, make_client, names) as sub:
        forwarder = (
            LogForwarder(sub.client, wait.namespace, logger, reader=wait.log_reader)
            if wait.stream_logs
            else None
        )
        finished = False
        try:
            execution = await sub.read(wait.name)
            if execution is None:
                return outcome(
                    wait,
                    "error",
                    error=f"execution {wait.name!r} not found in namespace {wait.namespace!r} "
                    "(neither live nor archived)",
                )
            while True:
                if forwarder is not None:
                    forwarder.update(execution)
                if wait.reached(execution):
                    finished = True
                    return payload_for(wait, execution)
                del execution  # not held while waiting: about 4 KiB per waiting trigger
                current = await _next_state(sub, wait.name, wait.remaining())
                if current is None:
                    return outcome(wait, "error", error=f"execution {wait.name!r} was deleted")
                execution = current
        finally:
            if forwarder is not None:
                await forwarder.finish() if finished else await forwarder.finish(0.0)


async def _next_state(sub: Subscription[Execution], name: str, timeout: float | None) -> Execution | None:
    """The execution's next state from the shared watch; ``None`` once it is gone for good.

    A deletion is its TTL archiving it (read again: the ArchivedExecution answers) or its end."""
    change = await sub.next(timeout=timeout)
    if change.object is not None and change.type != "DELETED":
        return change.object
    current = None
    if change.type == "RELISTED":
        current = next((e for e in change.objects if e.name == name), None)
    return current if current is not None else await sub.read(name)


async def poll_for_execution(
    wait: ExecutionWait, client: AsyncKontinueClient, interval: float
) -> dict[str, Any]:
    """The anchors' way, kept for comparison (benchmarks) and for clusters that refuse watches:
    read the execution every ``interval`` seconds."""
    while True:
        try:
            execution = await client.get(wait.name, namespace=wait.namespace)
        except KontinueError as err:
            return outcome(wait, "error", error=str(err))
        if wait.reached(execution):
            return payload_for(wait, execution)
        remaining = wait.remaining()
        if remaining is not None and remaining <= 0:
            return _timed_out(wait)
        await asyncio.sleep(interval if remaining is None else min(interval, remaining))
