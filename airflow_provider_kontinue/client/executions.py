"""Operations on Executions: spawn, read (with archive fallback), list, cancel, skip, retry, wait.

Each function is a sans-IO operation (see :mod:`.protocol`); the sync and async clients run the
same code. Preconditions are checked on a fresh read, and every read-modify-write carries the
object's ``resourceVersion``: on a 409 Conflict the operation re-reads, re-checks and tries again.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

from .constants import (
    ANNOTATION_ARCHIVED,
    DEFAULT_CANCEL_MESSAGE,
    GENERATE_NAME_PREFIX_MAX,
    LABEL_FUNCTION,
    LABEL_PARENT,
    LABEL_WORKER_GROUP,
    REASON_CANCELED_BY_CLIENT,
    REASON_SKIPPED_BY_CLIENT,
)
from .enums import ExecutionPhase
from .errors import InvalidStateError, NotFoundError, ValidationError
from .functions import FunctionCache, get_function
from .models import ArchivedExecution, Execution
from .options import CancelOptions, ListOptions, RetryOptions, SkipOptions, SpawnOptions
from .pages import Pager
from .protocol import Emit, Op, call, expect, failure
from .resources import ARCHIVED_EXECUTIONS, EXECUTIONS
from .timestamps import format_timestamp, utc_now
from .validation import validate_execution_name, validate_namespace
from .watcher import Expired, Watcher
from .writes import patch_with_retries

MAX_EXECUTION_BYTES = 1024 * 1024
"""Refuse Executions whose JSON exceeds 1 MiB: etcd's object limit is about 1.5 MiB."""
RETRYABLE_PHASES = (ExecutionPhase.FAILED, ExecutionPhase.CANCELED)


def _now() -> str:
    return format_timestamp(utc_now())


# -- reading ---------------------------------------------------------------------------------------


# pragma: no mutate start (make mutation: reads and spawn are for the emulator tiers)
def get_execution(namespace: str, name: str) -> Op[Execution]:
    """The live Execution, else the root reconstructed from its ArchivedExecution."""
    validate_namespace(namespace)
    request = EXECUTIONS.get(namespace, name)
    response = yield from call(request)
    if response.ok:
        return Execution.model_validate(response.body)
    if response.status != 404:
        raise failure(request, response)
    request = ARCHIVED_EXECUTIONS.get(namespace, name)
    archived = yield from call(request)
    if archived.ok:
        return ArchivedExecution.model_validate(archived.body).root_execution()
    if archived.status != 404:
        raise failure(request, archived)
    raise NotFoundError(
        f"execution {name!r} not found in namespace {namespace!r} (neither live nor archived)",
        verb="get",
        resource=EXECUTIONS.resource,
        namespace=namespace,
        name=name,
    )


def _creation_order(execution: Execution) -> tuple[float, str]:
    created = execution.created_at
    return (created.timestamp() if created else 0.0, execution.name)


def list_executions(namespace: str, options: ListOptions) -> Op[list[Execution]]:
    """Live and archived executions matching ``options``, newest first (spec §9.4), read in pages."""
    found: dict[tuple[str, str], Execution] = {}
    live = Pager(EXECUTIONS, namespace, options.label_selector_string())
    while not live.done:
        for item in (yield from live.next()):
            execution = Execution.model_validate(item)
            found[(execution.namespace, execution.name)] = execution
    archives = Pager(ARCHIVED_EXECUTIONS, namespace, options.archive_label_selector_string())
    while not archives.done:
        for execution in _archived_matches((yield from archives.next()), options):
            found.setdefault((execution.namespace, execution.name), execution)
    matching = [e for e in found.values() if options.accepts_phase(e.phase)]
    newest_first = sorted(matching, key=lambda e: e.name)
    newest_first.sort(key=lambda e: _creation_order(e)[0], reverse=True)
    return newest_first


def iter_executions(namespace: str, options: ListOptions) -> Op[None]:
    """Emit the executions ``list_executions`` returns, a page at a time and in the API server's
    order (live ones by namespace and name, then archived ones), holding one page and the keys of
    those emitted (so an archived copy of a live execution is not emitted again), never the list."""
    emitted: set[tuple[str, str]] = set()
    live = Pager(EXECUTIONS, namespace, options.label_selector_string())
    while not live.done:
        for item in (yield from live.next()):
            execution = Execution.model_validate(item)
            emitted.add((execution.namespace, execution.name))
            if options.accepts_phase(execution.phase):
                yield Emit(execution)
    archives = Pager(ARCHIVED_EXECUTIONS, namespace, options.archive_label_selector_string())
    while not archives.done:
        for execution in _archived_matches((yield from archives.next()), options):
            key = (execution.namespace, execution.name)
            if key not in emitted:
                emitted.add(key)
                if options.accepts_phase(execution.phase):
                    yield Emit(execution)


def _archived_matches(items: list[dict[str, Any]], options: ListOptions) -> list[Execution]:
    """The executions of one page of ArchivedExecutions that ``options`` selects (its phase aside)."""
    selector = _matcher(options)
    candidates: list[Execution] = []
    for item in items:
        archive = ArchivedExecution.model_validate(item)
        if options.root:  # the archived tree of that root: its descendants match, the root does not
            if archive.name == options.root:
                candidates += [e for e in archive.executions() if e.root_name == options.root]
        else:
            candidates.append(archive.root_execution())
    return [execution for execution in candidates if selector(execution)]


def _matcher(options: ListOptions) -> Callable[[Execution], bool]:
    """The label filters of ``options`` evaluated locally (for executions decoded from archives)."""
    wanted = dict(options.label_selector)
    for key, value in (
        (LABEL_FUNCTION, options.function),
        (LABEL_WORKER_GROUP, options.worker_group),
        ("kontinue.cloud/schedule", options.schedule),
        ("kontinue.cloud/root", options.root),
    ):
        if value:
            wanted[key] = value

    def matches(execution: Execution) -> bool:
        labels = execution.labels
        if options.only_root and LABEL_PARENT in labels:
            return False
        return all(labels.get(key) == value for key, value in wanted.items())

    return matches


def child_executions(namespace: str, parent: str) -> Op[list[Execution]]:
    """Direct children of ``parent`` (all attempts), oldest first; from the archive once archived."""
    listed = yield from expect(EXECUTIONS.list(namespace, label_selector=f"{LABEL_PARENT}={parent}"))
    children = [Execution.model_validate(item) for item in listed.get("items", [])]
    if not children:
        response = yield from call(EXECUTIONS.get(namespace, parent))
        if response.status == 404:  # the parent may live on only in its root's archive
            children = yield from _archived_children(namespace, parent)
    return sorted(children, key=_creation_order)


def _archived_children(namespace: str, parent: str) -> Op[list[Execution]]:
    archive = yield from call(ARCHIVED_EXECUTIONS.get(namespace, parent))
    if not archive.ok:
        return []
    return [e for e in ArchivedExecution.model_validate(archive.body).executions() if e.parent_name == parent]


# -- spawning --------------------------------------------------------------------------------------


def spawn(
    functions: FunctionCache,
    namespace: str,
    function: str,
    arguments: Any,
    options: SpawnOptions,
) -> Op[Execution]:
    """Create an Execution of ``function`` with its defaults merged (spec §9.3).

    Everything is validated before the single write: the namespace, the name, that the function
    exists, that the arguments are a JSON object, and that the object fits in etcd.
    """
    namespace = validate_namespace(options.namespace or namespace)
    if not isinstance(function, str) or not function:
        raise ValidationError("function: must be a non-empty function name", field="function")
    given = _arguments_object(arguments)
    fn = yield from get_function(functions, namespace, function)
    merged = {**fn.default_arguments(), **given}
    defaults = fn.spec.defaults
    spec: dict[str, Any] = {"function": function, "arguments": merged}
    for key in ("retry", "ttl", "timeout", "mutex"):
        chosen = getattr(options, key) or (getattr(defaults, key, None) if key != "mutex" else None)
        if chosen is not None:
            spec[key] = chosen.to_dict()
    labels = {**options.labels, LABEL_FUNCTION: function}
    if fn.worker_group:
        labels[LABEL_WORKER_GROUP] = fn.worker_group
    metadata: dict[str, Any] = {"labels": labels}
    if options.annotations:
        metadata["annotations"] = dict(options.annotations)
    if options.name:
        metadata["name"] = validate_execution_name(options.name, "SpawnOptions.name")
    else:
        metadata["generateName"] = function[:GENERATE_NAME_PREFIX_MAX].rstrip("-.") + "-"
    body = {
        "apiVersion": EXECUTIONS.group + "/" + EXECUTIONS.version,
        "kind": "Execution",
        "metadata": metadata,
        "spec": spec,
    }
    size = len(json.dumps(body))
    if size > MAX_EXECUTION_BYTES:
        raise ValidationError(
            f"arguments: the execution would be {size} bytes, over the {MAX_EXECUTION_BYTES}-byte limit "
            "(etcd stores at most about 1.5 MiB per object); pass large data by reference instead",
            field="arguments",
        )
    created = yield from expect(EXECUTIONS.create(namespace, body))
    return Execution.model_validate(created)


def _arguments_object(arguments: Any) -> dict[str, Any]:
    """``arguments`` as a JSON object, or a ValidationError saying what is wrong with it."""
    if arguments is None:
        return {}
    from pydantic_core import PydanticSerializationError, to_jsonable_python

    try:
        plain = to_jsonable_python(arguments)
        text = json.dumps(plain, allow_nan=False)
    except (PydanticSerializationError, TypeError, ValueError) as err:
        raise ValidationError(f"arguments: not JSON-serialisable: {err}", field="arguments") from None
    if not isinstance(plain, dict):
        raise ValidationError(
            f"arguments: must encode to a JSON object, got {type(plain).__name__} ({text[:80]})",
            field="arguments",
        )
    return plain


# -- changing --------------------------------------------------------------------------------------
# pragma: no mutate end


def _fresh_live(namespace: str, name: str, action: str) -> Op[Execution]:
    """A fresh read for a precondition check; archived executions can no longer change."""
    execution = yield from get_execution(namespace, name)
    if execution.annotations.get(ANNOTATION_ARCHIVED) == "true":
        raise InvalidStateError(
            f"cannot {action} execution {name!r}: it is archived (finished and compacted by its TTL)",
            verb="patch",
            resource=EXECUTIONS.resource,
            namespace=namespace,
            name=name,
        )
    return execution


def _patch_with_retries(
    namespace: str,
    name: str,
    action: str,
    build: Callable[[Execution], Mapping[str, Any]],
    *,
    subresource: str | None,
) -> Op[Execution]:
    """``patch_with_retries`` on a live execution (archived ones can no longer change)."""
    patched = yield from patch_with_retries(
        EXECUTIONS,
        namespace,
        name,
        action,
        lambda: _fresh_live(namespace, name, action),
        build,
        subresource=subresource,
    )
    assert patched is not None  # ``build`` always returns a patch (or raises)
    return Execution.model_validate(patched)


def _require_not_terminal(execution: Execution, action: str) -> None:
    if execution.is_terminal:
        raise InvalidStateError(
            f"cannot {action} execution {execution.name!r}: it already ended ({execution.phase})",
            verb="patch",
            resource=EXECUTIONS.resource,
            namespace=execution.namespace,
            name=execution.name,
        )


def cancel(namespace: str, name: str, options: CancelOptions) -> Op[Execution]:
    """Cancel a running execution (refused once it ended); the controller stops its descendants."""

    def build(execution: Execution) -> dict[str, Any]:
        _require_not_terminal(execution, "cancel")
        return {
            "status": {
                "phase": ExecutionPhase.CANCELED.value,
                "reason": REASON_CANCELED_BY_CLIENT,
                "message": options.message or DEFAULT_CANCEL_MESSAGE,
                "finishedAt": _now(),
            }
        }

    return (yield from _patch_with_retries(namespace, name, "cancel", build, subresource="status"))


def skip(namespace: str, name: str, options: SkipOptions) -> Op[Execution]:
    """Skip a running execution, handing ``options.result`` to a waiting parent."""
    result = options.result_json()

    def build(execution: Execution) -> dict[str, Any]:
        _require_not_terminal(execution, "skip")
        return {
            "status": {
                "phase": ExecutionPhase.SKIPPED.value,
                "reason": REASON_SKIPPED_BY_CLIENT,
                "message": options.message,
                "result": result,
                "finishedAt": _now(),
            }
        }

    return (yield from _patch_with_retries(namespace, name, "skip", build, subresource="status"))


def retry(namespace: str, name: str, options: RetryOptions) -> Op[Execution]:
    """Retry a Failed or Canceled execution: one more allowed retry (spec §3.6, §9.8)."""

    def build(execution: Execution) -> dict[str, Any]:
        if execution.phase not in RETRYABLE_PHASES:
            raise InvalidStateError(
                f"cannot retry execution {execution.name!r}: it is {execution.phase}; only Failed or "
                "Canceled executions can be retried",
                verb="patch",
                resource=EXECUTIONS.resource,
                namespace=namespace,
                name=execution.name,
            )
        current = execution.spec.retry
        retry_spec: dict[str, Any] = {"retries": (current.retries or 0) + 1 if current else 1}
        if options.child_policy is not None:
            retry_spec["childPolicy"] = options.child_policy.value
        return {"spec": {"retry": retry_spec}}

    return (yield from _patch_with_retries(namespace, name, "retry", build, subresource=None))


# -- waiting ---------------------------------------------------------------------------------------


# pragma: no mutate start (make mutation: the emulator tiers guard the wait)
def annotate(namespace: str, name: str, annotations: Mapping[str, str | None]) -> Op[Execution]:
    """Set annotations of a live execution (``None`` removes one) with one merge patch.

    No read and no ``resourceVersion``: a merge patch changes only the keys it names, so writers
    of different keys never conflict. For tools that keep a little state of their own on the
    execution, such as the Airflow provider's log cursor.
    """
    if not annotations:
        raise ValidationError("annotate: give at least one annotation", field="annotations")
    for key, value in annotations.items():
        if not isinstance(key, str) or not key or (value is not None and not isinstance(value, str)):
            raise ValidationError(
                f"annotate: annotation {key!r} must be a non-empty string key with a string value "
                "(or None to remove it)",
                field="annotations",
            )
    request = EXECUTIONS.merge_patch(namespace, name, {"metadata": {"annotations": dict(annotations)}})
    body = yield from expect(request)
    return Execution.model_validate(body)


def wait_for_execution(namespace: str, name: str) -> Op[Execution]:
    """Return the execution once it has ended: Completed, Failed, Canceled or Skipped as the
    controller's answer to its current spec, or archived (spec §9.5).

    Reads the live object first, so the outcome is never older than what the cluster held when
    the wait began (an object the caller kept may predate a retry and its new attempt), then
    watches that one object from the read's resourceVersion: a single read and a single watch
    while nothing changes. A Failed or Canceled phase the controller wrote before it observed
    the latest generation (``retry_execution`` has just asked for another attempt) does not end
    the wait.
    """
    execution = yield from get_execution(namespace, name)
    while not execution.has_ended:
        watcher = Watcher(
            EXECUTIONS, namespace, execution.resource_version or "0", field_selector=f"metadata.name={name}"
        )
        while True:
            event = yield from watcher.next_event()
            if isinstance(event, Expired) or event.type == "DELETED":
                yield from watcher.close()
                execution = yield from get_execution(namespace, name)
                break
            execution = Execution.model_validate(event.object)
            if execution.has_ended:
                yield from watcher.close()
                return execution
    return execution


# pragma: no mutate end
