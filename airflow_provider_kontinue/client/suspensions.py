"""Operations on Suspensions: read one, resume one, resume an execution's (or a whole subtree's)."""

from __future__ import annotations

from collections import deque
from typing import Any

from .constants import LABEL_PARENT, LABEL_ROOT, RESUME_MESSAGE, RESUMED_BY_CLIENT
from .enums import SuspensionPhase
from .errors import InvalidStateError
from .executions import get_execution
from .models import Execution, Suspension
from .protocol import Op, expect
from .resources import EXECUTIONS, SUSPENSIONS
from .timestamps import format_timestamp, utc_now
from .validation import validate_namespace
from .writes import patch_with_retries


def get_suspension(namespace: str, name: str) -> Op[Suspension]:
    validate_namespace(namespace)
    body = yield from expect(SUSPENSIONS.get(namespace, name))
    return Suspension.model_validate(body)


def resume_suspension(namespace: str, name: str) -> Op[bool]:
    """Resume a waiting suspension (phase Completed); ``False`` if it was already resumed.

    A canceled suspension cannot be resumed (InvalidStateError); a resume that races another is
    retried on a fresh read, so exactly one caller resumes it and the other sees ``False``.
    """

    def build(suspension: Suspension) -> dict[str, Any] | None:
        if suspension.phase == SuspensionPhase.COMPLETED:
            return None
        if suspension.phase != SuspensionPhase.SUSPENDED:
            raise InvalidStateError(
                f"cannot resume suspension {name!r}: it is {suspension.phase}",
                verb="patch",
                resource=SUSPENSIONS.resource,
                namespace=namespace,
                name=name,
            )
        return {
            "status": {
                "phase": SuspensionPhase.COMPLETED.value,
                "resumedAt": format_timestamp(utc_now()),
                "resumedBy": RESUMED_BY_CLIENT,
                "message": RESUME_MESSAGE,
            }
        }

    patched = yield from patch_with_retries(
        SUSPENSIONS,
        namespace,
        name,
        "resume",
        lambda: get_suspension(namespace, name),
        build,
        subresource="status",
    )
    return patched is not None


def resume_execution(namespace: str, name: str, recursive: bool) -> Op[list[str]]:
    """Resume the waiting suspensions of an execution (or of its whole subtree); their names.

    Recursive resumes read the tree with two list calls (executions and suspensions of the root)
    and walk it in memory, however deep it is.
    """
    execution = yield from get_execution(namespace, name)
    if recursive:
        root = execution.root_name or execution.name
        selector = f"{LABEL_ROOT}={root}"
        listed = yield from expect(EXECUTIONS.list(namespace, label_selector=selector))
        children: dict[str, list[str]] = {}
        for item in listed.get("items", []):
            child = Execution.model_validate(item)
            if child.parent_name:
                children.setdefault(child.parent_name, []).append(child.name)
        subtree, queue = {name}, deque([name])
        while queue:
            for child_name in children.get(queue.popleft(), []):
                if child_name not in subtree:
                    subtree.add(child_name)
                    queue.append(child_name)
    else:
        selector, subtree = f"{LABEL_PARENT}={name}", {name}
    listed = yield from expect(SUSPENSIONS.list(namespace, label_selector=selector))
    waiting = sorted(
        suspension.name
        for suspension in (Suspension.model_validate(item) for item in listed.get("items", []))
        if suspension.parent_name in subtree and suspension.phase == SuspensionPhase.SUSPENDED
    )
    resumed = []
    for suspension_name in waiting:
        if (yield from resume_suspension(namespace, suspension_name)):
            resumed.append(suspension_name)
    return resumed
