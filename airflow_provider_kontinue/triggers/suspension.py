"""``KontinueSuspensionTrigger``: wait until a suspension is reached (an approval is asked for) or
resumed, in the triggerer.

A suspension is named directly (``suspension_name``), or found through the execution that
suspends (``execution_name``: its direct child suspensions), which is what an approval flow
knows: it spawned ``deploy`` and waits until ``deploy`` asks for approval. Waiting through the
execution also notices an execution that ends without ever suspending, so the wait cannot hang.

``until="reached"`` fires once the suspension exists and waits (``Suspended``), or already
passed; ``until="resumed"`` once it is ``Completed`` (resumed). The event payload:
``{"status": "done" | "ended" | "timeout" | "error", "suspension", "phase", "message",
"execution", "execution_phase", "namespace"}``; ``ended`` means the execution ended first.

An execution that does not exist yet is waited for, not an error: a sensor that runs in parallel
with the spawn that creates it (``spawned_by``) may well start first. The wait logs that once,
follows the execution's creation through the shared watch, and its timeout says the execution
never appeared. An execution that existed and is then deleted (live and archived) ends the wait
with an error.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Literal

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_provider_kontinue.client import (
    Execution,
    ExecutionTree,
    NotFoundError,
    Suspension,
    SuspensionPhase,
)
from airflow_provider_kontinue.client.informer import ClientMaker, Informer, Mailbox
from airflow_provider_kontinue.hooks.connection import DEFAULT_CONN_ID
from airflow_provider_kontinue.triggers.resilient import connection_client, resilient

Until = Literal["reached", "resumed"]
UNTIL: tuple[str, ...] = ("reached", "resumed")


@dataclass(frozen=True)
class SuspensionWait:
    """What to wait for: a suspension (by name, or the children of an execution), until reached or
    resumed, before ``deadline`` (epoch seconds)."""

    conn_id: str
    namespace: str
    suspension_name: str | None = None
    execution_name: str | None = None
    until: str = "reached"
    deadline: float | None = None

    def remaining(self) -> float | None:
        return None if self.deadline is None else max(0.0, self.deadline - time.time())

    def payload(self, status: str, **fields: Any) -> dict[str, Any]:
        base: dict[str, Any] = {
            "status": status,
            "namespace": self.namespace,
            "suspension": self.suspension_name,
            "phase": None,
            "message": None,
            "execution": self.execution_name,
            "execution_phase": None,
        }
        base.update(fields)
        return base


def satisfied(wait: SuspensionWait, suspension: Suspension) -> bool:
    """Whether ``suspension`` ends the wait (a Canceled one does too: it will never change)."""
    phase = suspension.phase
    if phase == SuspensionPhase.CANCELED:
        return True
    if wait.until == "resumed":
        return phase == SuspensionPhase.COMPLETED
    return phase in (SuspensionPhase.SUSPENDED, SuspensionPhase.COMPLETED)


def decide(
    wait: SuspensionWait, suspensions: list[Suspension], execution: Execution | None
) -> dict[str, Any] | None:
    """The outcome, if the known state decides it: the first suspension (by creation) that
    satisfies the wait, or the execution's end."""
    ordered = sorted(suspensions, key=lambda s: (s.created_at.timestamp() if s.created_at else 0.0, s.name))
    for suspension in ordered:
        if satisfied(wait, suspension):
            return wait.payload(
                "done",
                suspension=suspension.name,
                phase=str(suspension.phase),
                message=suspension.message,
                execution=suspension.parent_name or wait.execution_name,
                execution_phase=str(execution.phase) if execution and execution.phase else None,
            )
    if execution is not None and (execution.is_terminal or execution.is_archived):
        return wait.payload(
            "ended",
            execution_phase=str(execution.phase),
            message=f"execution {execution.name} ended {execution.phase} before a suspension was "
            f"{wait.until}: {execution.message or ''}".rstrip(": "),
        )
    return None


def not_created_yet(wait: SuspensionWait) -> str:
    """The log line of a wait whose execution does not exist (yet)."""
    return (
        f"execution {wait.execution_name} does not exist yet in namespace {wait.namespace}; waiting "
        "for it to be created (by its spawn) until the sensor's timeout"
    )


@dataclass
class _Progress:
    """What a wait by execution learned, across the reconnects of ``resilient``."""

    seen: bool = False  # the execution existed at some point
    told_missing: bool = False  # the "does not exist yet" line was logged


def suspensions_of(tree: ExecutionTree, execution_name: str) -> list[Suspension]:
    """The direct child suspensions of ``execution_name`` in ``tree``."""
    found = []
    for node, _ in tree.walk():
        suspension = node.suspension()
        if suspension is not None and suspension.parent_name == execution_name:
            found.append(suspension)
    return found


async def wait_for_suspension(wait: SuspensionWait, make_client: ClientMaker, logger: Any) -> dict[str, Any]:
    """Wait as ``wait`` says and return the outcome payload; never raises for a remote problem."""
    what = wait.suspension_name or f"a suspension of {wait.execution_name}"
    progress = _Progress()

    def timed_out() -> dict[str, Any]:
        message = f"the deadline passed waiting for {what}"
        if wait.execution_name and not progress.seen:
            message += f" (execution {wait.execution_name} was never created in namespace {wait.namespace})"
        return wait.payload("timeout", message=message)

    return await resilient(
        lambda: (
            _by_name(wait, make_client)
            if wait.suspension_name
            else _by_execution(wait, make_client, progress, logger)
        ),
        remaining=wait.remaining,
        on_timeout=timed_out,
        on_error=lambda message: wait.payload("error", message=message),
        what=what,
        logger=logger,
    )


async def _by_name(wait: SuspensionWait, make_client: ClientMaker) -> dict[str, Any]:
    name = wait.suspension_name
    assert name is not None
    async with Informer.subscribe(
        wait.conn_id, wait.namespace, Suspension, make_client, frozenset({name})
    ) as sub:
        suspension = await sub.read(name)
        while True:
            if suspension is None:
                return wait.payload(
                    "error", message=f"suspension {name!r} not found in namespace {wait.namespace!r}"
                )
            outcome = decide(wait, [suspension], None)
            if outcome is not None:
                return outcome
            change = await sub.next(timeout=wait.remaining())
            if change.type == "RELISTED":
                suspension = next((s for s in change.objects if s.name == name), None)
            elif change.type == "DELETED":
                suspension = None
            else:
                suspension = change.object


async def _by_execution(
    wait: SuspensionWait, make_client: ClientMaker, progress: _Progress, logger: Any
) -> dict[str, Any]:
    parent = wait.execution_name
    assert parent is not None
    mailbox = Mailbox()  # one for both kinds

    def child(suspension: Suspension) -> bool:
        return suspension.parent_name == parent

    async with (
        Informer.subscribe(
            wait.conn_id, wait.namespace, Suspension, make_client, None, match=child, mailbox=mailbox
        ) as sub,
        Informer.subscribe(
            wait.conn_id, wait.namespace, Execution, make_client, frozenset({parent}), mailbox=mailbox
        ),
    ):
        suspensions: dict[str, Suspension] = {}
        execution: Execution | None = None

        async def reread() -> bool:
            """Read the execution's tree; ``False``: the execution does not exist (yet)."""
            nonlocal execution
            try:
                tree = await sub.client.get_tree(parent, namespace=wait.namespace)
            except NotFoundError:
                if progress.seen:  # it existed: deleted, live and archived
                    raise NotFoundError(
                        f"execution {parent!r} not found in namespace {wait.namespace!r} (it was deleted)",
                        resource="executions",
                        namespace=wait.namespace,
                        name=parent,
                    ) from None
                if not progress.told_missing:
                    progress.told_missing = True
                    logger.info("kontinue: %s", not_created_yet(wait))
                suspensions.clear()
                execution = None
                return False
            if not progress.seen and progress.told_missing:
                logger.info("kontinue: execution %s now exists; waiting for its suspension", parent)
            progress.seen = True
            suspensions.clear()
            suspensions.update({s.name: s for s in suspensions_of(tree, parent)})
            node = tree.find(parent)
            execution = node.execution() if node is not None else None
            return True

        try:
            exists = await reread()
        except NotFoundError as err:
            return wait.payload("error", message=str(err))
        while True:
            outcome = decide(wait, list(suspensions.values()), execution)
            if outcome is not None:
                return outcome
            change = await sub.next(timeout=wait.remaining())  # the shared mailbox: both kinds
            changed: Any = change.object  # a Suspension or an Execution
            if (
                change.type == "RELISTED"
                or (isinstance(changed, Execution) and change.type == "DELETED")
                or (isinstance(changed, Execution) and not exists)  # created: read its tree once
            ):
                try:
                    exists = await reread()
                except NotFoundError as err:
                    return wait.payload("error", message=str(err))
            elif isinstance(changed, Execution):
                execution = changed
            elif isinstance(changed, Suspension):
                if change.type == "DELETED":
                    suspensions.pop(changed.name, None)
                else:
                    suspensions[changed.name] = changed


class KontinueSuspensionTrigger(BaseTrigger):
    """Fires once when a suspension is reached (or resumed); plain-JSON kwargs, no secrets.

    :param namespace: The namespace (resolved by the sensor).
    :param suspension_name: The suspension. Or:
    :param execution_name: The execution whose (direct child) suspension to wait for.
    :param until: ``"reached"`` or ``"resumed"``.
    :param deadline: Absolute time (epoch seconds) after which the trigger fires ``timeout``.
    :param kontinue_conn_id: The ``kontinue`` connection.
    """

    def __init__(
        self,
        namespace: str,
        suspension_name: str | None = None,
        execution_name: str | None = None,
        until: str = "reached",
        deadline: float | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
    ) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.namespace = namespace
        self.suspension_name = suspension_name
        self.execution_name = execution_name
        self.until = until
        self.deadline = float(deadline) if deadline is not None else None
        self.kontinue_conn_id = kontinue_conn_id

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "namespace": self.namespace,
                "suspension_name": self.suspension_name,
                "execution_name": self.execution_name,
                "until": self.until,
                "deadline": self.deadline,
                "kontinue_conn_id": self.kontinue_conn_id,
            },
        )

    def wait(self) -> SuspensionWait:
        return SuspensionWait(
            conn_id=self.kontinue_conn_id,
            namespace=self.namespace,
            suspension_name=self.suspension_name,
            execution_name=self.execution_name,
            until=self.until,
            deadline=self.deadline,
        )

    async def run(self) -> AsyncIterator[TriggerEvent]:
        make_client = connection_client(self.kontinue_conn_id, self.namespace)
        payload = await wait_for_suspension(self.wait(), make_client, self.log)
        self.log.info("kontinue: suspension wait ended: %s %s", payload["status"], payload.get("suspension"))
        yield TriggerEvent(payload)  # type: ignore[no-untyped-call]
