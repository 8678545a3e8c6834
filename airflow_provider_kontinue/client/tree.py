"""The shapes ``get_tree`` and ``watch_tree`` return: an execution and everything below it.

A tree is made of :class:`ExecutionTreeNode` values, one per Execution, Suspension and Job, plus
one ``Attempt`` node per previous attempt of an execution (grouping that attempt's children), as
in the Go client. Nodes are plain dataclasses: cheap to build, easy to walk and print.

This module holds the types and the one-object-to-one-node field rules of spec §8/§9.13
(``ExecutionTreeNode.for_execution`` ...). Collecting the objects, linking them and grouping them
under attempts is the client's job.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .enums import TERMINAL_PHASES, TERMINAL_SUSPENSION_PHASES, JobPhase, NodeKind
from .models import Execution, ExecutionAttempt, Suspension
from .timestamps import parse_timestamp

__all__ = ["ExecutionTree", "ExecutionTreeNode", "job_phase"]

NodeResource = Execution | Suspension | ExecutionAttempt | Mapping[str, Any]
"""What a node was made from: the Execution, Suspension, attempt record, or the Job as a JSON dict."""


@dataclass(eq=False, kw_only=True)
class ExecutionTreeNode:
    """One node of an :class:`ExecutionTree` (the Go client's ``ExecutionTreeNode``).

    Attributes:
        name: Object name; for Attempt nodes ``<execution>#<n>``.
        namespace: Object namespace.
        created_at: ``metadata.creationTimestamp`` (an Attempt's start time).
        started_at: When it started running, if it has.
        finished_at: When it reached a final state, if it has.
        kind: Execution, Suspension, Job or Attempt.
        phase: The phase as the server wrote it (Jobs: Pending/Running/Succeeded/Failed).
        message: Status message, empty if none.
        attempt_number: The attempt number of an Attempt node; 0 for other kinds.
        children: Child nodes in display order (attempts first, then by creation time).
    """

    name: str
    namespace: str
    created_at: datetime | None = None
    started_at: datetime | None = None
    finished_at: datetime | None = None
    kind: NodeKind
    phase: str = ""
    message: str = ""
    attempt_number: int = 0
    children: list[ExecutionTreeNode] = field(default_factory=list)
    resource: NodeResource | None = field(default=None, repr=False)
    """The object this node shows; read it through the typed accessors below."""

    def execution(self) -> Execution | None:
        """The Execution, if this is an Execution node."""
        resource = self.resource
        return resource if self.kind is NodeKind.EXECUTION and isinstance(resource, Execution) else None

    def suspension(self) -> Suspension | None:
        """The Suspension, if this is a Suspension node."""
        resource = self.resource
        return resource if self.kind is NodeKind.SUSPENSION and isinstance(resource, Suspension) else None

    def job(self) -> Mapping[str, Any] | None:
        """The batch/v1 Job as a JSON dict, if this is a Job node."""
        resource = self.resource
        return resource if self.kind is NodeKind.JOB and isinstance(resource, Mapping) else None

    def attempt(self) -> ExecutionAttempt | None:
        """The previous-attempt record, if this is an Attempt node."""
        resource = self.resource
        return resource if self.kind is NodeKind.ATTEMPT and isinstance(resource, ExecutionAttempt) else None

    @property
    def is_terminal(self) -> bool:
        """True when this node will not change by itself any more."""
        if self.kind is NodeKind.ATTEMPT:
            return True
        if self.kind is NodeKind.JOB:
            return self.phase in (JobPhase.SUCCEEDED, JobPhase.FAILED)
        if self.kind is NodeKind.SUSPENSION:
            return self.phase in TERMINAL_SUSPENSION_PHASES
        return self.phase in TERMINAL_PHASES

    def walk(self, depth: int = 0) -> Iterator[tuple[ExecutionTreeNode, int]]:
        """This node and all below it, depth first, each with its depth (this node's is ``depth``)."""
        yield self, depth
        for child in self.children:
            yield from child.walk(depth + 1)

    @classmethod
    def for_execution(cls, execution: Execution) -> ExecutionTreeNode:
        """The node showing an Execution (no children yet)."""
        return cls(
            name=execution.name,
            namespace=execution.namespace,
            created_at=execution.created_at,
            started_at=execution.started_at,
            finished_at=execution.finished_at,
            kind=NodeKind.EXECUTION,
            phase=str(execution.phase),
            message=execution.message or "",
            resource=execution,
        )

    @classmethod
    def for_suspension(cls, suspension: Suspension) -> ExecutionTreeNode:
        """The node showing a Suspension: started when created, finished when resumed."""
        return cls(
            name=suspension.name,
            namespace=suspension.namespace,
            created_at=suspension.created_at,
            started_at=suspension.created_at,
            finished_at=suspension.resumed_at,
            kind=NodeKind.SUSPENSION,
            phase=str(suspension.phase),
            message=suspension.message or "",
            resource=suspension,
        )

    @classmethod
    def for_attempt(cls, execution: Execution, attempt: ExecutionAttempt) -> ExecutionTreeNode:
        """The node grouping a previous attempt of ``execution``: ``<name>#<n>``, no children yet."""
        number = attempt.attempt or 0
        return cls(
            name=f"{execution.name}#{number}",
            namespace=execution.namespace,
            created_at=attempt.started_at,
            started_at=attempt.started_at,
            finished_at=attempt.finished_at,
            kind=NodeKind.ATTEMPT,
            phase=str(attempt.phase or ""),
            message=attempt.message or "",
            attempt_number=number,
            resource=attempt,
        )

    @classmethod
    def for_job(cls, job: Mapping[str, Any]) -> ExecutionTreeNode:
        """The node showing a batch/v1 Job given as a JSON dict; phase per :func:`job_phase`."""
        metadata = job.get("metadata") or {}
        status = job.get("status") or {}
        phase, message, failed_at = _job_state(status)
        return cls(
            name=str(metadata.get("name") or ""),
            namespace=str(metadata.get("namespace") or ""),
            created_at=_timestamp(metadata.get("creationTimestamp")),
            started_at=_timestamp(status.get("startTime")),
            finished_at=_timestamp(status.get("completionTime")) or failed_at,
            kind=NodeKind.JOB,
            phase=str(phase),
            message=message,
            resource=job,
        )


@dataclass(eq=False)
class ExecutionTree:
    """An execution and its descendants (the Go client's ``ExecutionTree``)."""

    root_node: ExecutionTreeNode
    archived: bool = False
    """True when built from an ArchivedExecution: history that can no longer change."""

    def root(self) -> ExecutionTreeNode:
        """The top node: the execution the tree was requested for."""
        return self.root_node

    def is_archived(self) -> bool:
        """True if the tree comes from an ArchivedExecution."""
        return self.archived

    def walk(self) -> Iterator[tuple[ExecutionTreeNode, int]]:
        """Every node, depth first from the root, with its depth (root = 0)."""
        return self.root_node.walk()

    def find(self, name: str) -> ExecutionTreeNode | None:
        """The first node (depth first) with this name, or ``None``."""
        return next((node for node, _ in self.walk() if node.name == name), None)


def job_phase(job: Mapping[str, Any]) -> JobPhase:
    """A Job's phase for display (spec §8): Failed / Succeeded by condition, Running if active pods."""
    return _job_state(job.get("status") or {})[0]


def _job_state(status: Mapping[str, Any]) -> tuple[JobPhase, str, datetime | None]:
    """Phase, message of the deciding condition, and the Failed condition's transition time."""
    conditions = [c for c in status.get("conditions") or () if isinstance(c, Mapping)]
    for condition_type, phase in (("Failed", JobPhase.FAILED), ("Complete", JobPhase.SUCCEEDED)):
        for condition in conditions:
            if condition.get("type") == condition_type and condition.get("status") == "True":
                failed_at = (
                    _timestamp(condition.get("lastTransitionTime")) if phase is JobPhase.FAILED else None
                )
                return phase, str(condition.get("message") or ""), failed_at
    if (status.get("active") or 0) > 0:
        return JobPhase.RUNNING, "", None
    return JobPhase.PENDING, "", None


def _timestamp(value: object) -> datetime | None:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str):
        try:
            return parse_timestamp(value)
        except ValueError:
            return None
    return None
