"""The closed vocabularies of the kontinue API: phases, suspension types, child policies, node kinds.

Each enum is a ``str`` enum whose *values* are exactly what the server writes, so
``ExecutionPhase.COMPLETED == "Completed"`` and members can be used wherever a string is expected.
Member names follow Python's UPPER_CASE convention; that is also what gives ``ChildPolicy.NONE`` a
clean spelling for the server value ``"None"`` (a member literally named ``None`` is impossible).

Models type phase fields as ``ExecutionPhase | str``: a value from a newer server that this
client does not know stays a plain string instead of failing the whole object (see models.py).
"""

from __future__ import annotations

from enum import Enum


class _StrEnum(str, Enum):
    """``str`` enum that prints as its value (``enum.StrEnum`` needs Python 3.11)."""

    def __str__(self) -> str:
        return str(self.value)

    def __format__(self, format_spec: str) -> str:
        return format(str(self.value), format_spec)


class ExecutionPhase(_StrEnum):
    """Lifecycle phase of an Execution (spec §3.3). An absent phase reads as ``PENDING``."""

    PENDING = "Pending"
    """Created, waiting for a worker, a mutex, a concurrency slot or the next attempt."""
    EXECUTING = "Executing"
    """A worker is running the function."""
    SUSPENDED = "Suspended"
    """Waiting on a child execution, job or suspension; no worker is running it."""
    BACKOFF = "Backoff"
    """An attempt failed and retries remain; waiting ``retry.backoff`` before the next one."""
    COMPLETED = "Completed"
    """The function returned; ``status.result`` holds its value. Terminal."""
    FAILED = "Failed"
    """The function failed and no retry applies. Terminal."""
    CANCELED = "Canceled"
    """Canceled by a client or because an ancestor was canceled. Terminal."""
    SKIPPED = "Skipped"
    """Skipped by a client, which supplied the result a waiting parent receives. Terminal."""


class SuspensionPhase(_StrEnum):
    """Phase of a Suspension (spec §5). An absent phase reads as ``SUSPENDED``."""

    SUSPENDED = "Suspended"
    """Waiting for its time or for a client to resume it."""
    COMPLETED = "Completed"
    """Resumed (timer or client). Terminal."""
    CANCELED = "Canceled"
    """Its owner was canceled. Terminal."""


class SuspensionType(_StrEnum):
    """How a Suspension ends (spec §5)."""

    SLEEP = "Sleep"
    """Ends by itself at ``spec.resumeAt`` (or earlier, when resumed)."""
    MANUAL = "Manual"
    """Waits until a client, the CLI or the UI resumes it."""


class ChildPolicy(_StrEnum):
    """What a retried execution does with the children of its failed attempt (spec §3.6).

    ``NONE`` is the Python name of the server value ``"None"``.
    """

    NONE = "None"
    """Reuse every existing child as it is."""
    RETRY_FAILED = "RetryFailed"
    """Replace children that failed or were canceled; reuse the others."""
    RETRY_ALL = "RetryAll"
    """Replace every child and clear the stored state."""


class NodeKind(_StrEnum):
    """Kind of a node in an :class:`~airflow_provider_kontinue.client.tree.ExecutionTree`."""

    EXECUTION = "Execution"
    SUSPENSION = "Suspension"
    JOB = "Job"
    ATTEMPT = "Attempt"
    """A previous, finished attempt of an execution, grouping that attempt's children."""


class JobPhase(_StrEnum):
    """Phase the tree shows for a batch/v1 Job, derived from its status (spec §8)."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"


TERMINAL_PHASES: frozenset[ExecutionPhase] = frozenset(
    {ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELED, ExecutionPhase.SKIPPED}
)
"""Phases an Execution never leaves by itself; waiting ends here."""

RESULT_PHASES: frozenset[ExecutionPhase] = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED})
"""Terminal phases that hand a usable result to a waiting parent or to ``parse_result``."""

RETRYABLE_PHASES: frozenset[ExecutionPhase] = frozenset({ExecutionPhase.FAILED, ExecutionPhase.CANCELED})
"""Phases from which a client may retry an execution (spec §9.8)."""

TERMINAL_SUSPENSION_PHASES: frozenset[SuspensionPhase] = frozenset(
    {SuspensionPhase.COMPLETED, SuspensionPhase.CANCELED}
)
"""Suspension phases after which the owning execution may continue."""
