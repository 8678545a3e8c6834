"""Read-check-write with optimistic concurrency: the one way the client changes existing objects.

Every change that depends on the current state (cancel only if running, resume only if waiting,
retry only if failed) reads the object fresh, checks, and patches with the ``resourceVersion`` it
read. If someone else wrote in between, the server answers 409 Conflict and the whole step runs
again on a fresh read, so the precondition is always checked against what is really there.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from .errors import ConflictError
from .models import Resource
from .protocol import Op, call, failure
from .resources import Kind

CONFLICT_RETRIES = 5

R = TypeVar("R", bound=Resource)


def patch_with_retries(
    kind: Kind,
    namespace: str,
    name: str,
    action: str,
    read: Callable[[], Op[R]],
    build: Callable[[R], Mapping[str, Any] | None],
    *,
    subresource: str | None = None,
) -> Op[dict[str, Any] | None]:
    """Patch ``name`` with what ``build`` makes of a fresh ``read``; the patched object as JSON.

    ``build`` checks preconditions (raising ``InvalidStateError``) and returns the patch, or
    ``None`` when there is nothing to do (then nothing is written and ``None`` is returned).
    Raises ``ConflictError`` after five conflicts in a row.
    """
    for _ in range(CONFLICT_RETRIES):
        current = yield from read()
        patch = build(current)
        if patch is None:
            return None
        body = {**patch, "metadata": {"resourceVersion": current.resource_version}}
        request = kind.merge_patch(namespace, name, body, subresource=subresource)
        response = yield from call(request)
        if response.status == 409:
            continue
        if not response.ok:
            raise failure(request, response)
        patched: dict[str, Any] = response.body
        return patched
    raise ConflictError(
        f"could not {action} {kind.plural[:-1]} {name!r}: it kept changing under us "
        f"({CONFLICT_RETRIES} conflicts in a row)",
        verb="patch",
        resource=kind.resource,
        namespace=namespace,
        name=name,
    )
