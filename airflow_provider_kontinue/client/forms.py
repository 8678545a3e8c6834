"""The forms a user may write an option in, as static types: what mypy and pyright accept.

The option and spec models validate more than one form at run time: ``SpawnOptions(retry={"retries":
3})`` (a mapping, in snake_case or the server's camelCase), ``ExecutionTTL(delete_after="24h")`` (a Go
duration string) and ``RetryOptions(child_policy="RetryFailed")`` (an enum's value). Their fields
still hold one type (``ExecutionRetry``, ``timedelta``, ``ChildPolicy``), which is what reading them
gives. The models' constructors are declared for type checkers with the input forms below, so the
documented forms type-check without the pydantic plugin and wrong value types (``retries="three"``,
``retry=3``, ``delete_after=24``) are flagged by mypy and pyright alike. ``tests/typing`` holds the
user code both checkers are run over.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal, TypedDict

from .enums import ChildPolicy, ExecutionPhase

DurationInput = timedelta | str
"""A ``timedelta`` or a Go duration string (``"30s"``, ``"1h30m"``, ``"7d"``); never a bare number."""

ChildPolicyInput = ChildPolicy | Literal["None", "RetryFailed", "RetryAll"]
"""A :class:`~.enums.ChildPolicy` or its server value."""

ExecutionPhaseInput = (
    ExecutionPhase
    | Literal["Pending", "Executing", "Suspended", "Backoff", "Completed", "Failed", "Canceled", "Skipped"]
)
"""An :class:`~.enums.ExecutionPhase` or its server value."""


class ExecutionRetryDict(TypedDict, total=False):
    """``spec.retry`` as a mapping (both spellings of ``child_policy``)."""

    retries: int
    backoff: DurationInput
    child_policy: ChildPolicyInput
    childPolicy: ChildPolicyInput


class ExecutionTimeoutDict(TypedDict, total=False):
    """``spec.timeout`` as a mapping."""

    attempt: DurationInput
    overall: DurationInput


class ExecutionTTLDict(TypedDict, total=False):
    """``spec.ttl`` as a mapping (both spellings of each field)."""

    archive_after: DurationInput
    archiveAfter: DurationInput
    delete_after: DurationInput
    deleteAfter: DurationInput


class ExecutionMutexDict(TypedDict):
    """``spec.mutex`` as a mapping."""

    name: str
