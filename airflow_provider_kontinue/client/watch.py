"""``watch``: follow every change of one kontinue kind in a namespace, from now on.

This is the Python form of what a Go program does with ``KubeClient().Watch(...)``: one watch
connection that sees every Execution (or Suspension, or ScheduledExecution) of a namespace change.
It is the building block for waiting on many objects at once (one connection for all of them)
and for following one object through every phase, not only to its end.

The stream starts with an "opened" marker once the watch is established, so that a caller can
subscribe first and read the current state second without missing anything in between. After a
410 Gone the operation lists the kind again and hands over the whole list as one ``RELISTED``
change: objects that changed or vanished in the gap are then known, and the watch continues from
the list's ``resourceVersion``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar

from .constants import KIND_EXECUTION, KIND_SCHEDULED_EXECUTION, KIND_SUSPENSION
from .errors import ServerError, ValidationError
from .models import Execution, Resource, ScheduledExecution, Suspension
from .pages import Pager
from .protocol import Emit, Op, Sleep, TransportError, expect
from .resources import EXECUTIONS, SCHEDULED_EXECUTIONS, SUSPENSIONS, Kind
from .validation import validate_namespace
from .watcher import Expired, Watcher

R = TypeVar("R", bound=Resource)

WATCHABLE: dict[str, Kind] = {
    KIND_EXECUTION: EXECUTIONS,
    KIND_SUSPENSION: SUSPENSIONS,
    KIND_SCHEDULED_EXECUTION: SCHEDULED_EXECUTIONS,
}
RELIST_PAGE = 500

ChangeType = Literal["ADDED", "MODIFIED", "DELETED", "RELISTED"]


@dataclass(frozen=True)
class ObjectChange(Generic[R]):
    """One change seen by :meth:`watch`.

    ``type`` is ADDED, MODIFIED or DELETED with the object in ``object``; or RELISTED after the
    server expired the watch (410 Gone), with ``objects`` holding everything that exists now and
    ``object`` ``None``: whatever is not in that list was deleted (or archived) in the gap.
    """

    type: ChangeType
    object: R | None
    objects: tuple[R, ...] = field(default=())


def kind_of(model: type[Resource]) -> Kind:
    """The API resource of a watchable model class, or a ValidationError naming the choices."""
    kind = WATCHABLE.get(model.KIND)
    if kind is None or model not in (Execution, Suspension, ScheduledExecution):
        raise ValidationError(
            f"watch: cannot watch {getattr(model, '__name__', model)!r}; pass Execution, Suspension or "
            "ScheduledExecution",
            field="model",
        )
    return kind


def _list_all(
    kind: Kind, namespace: str, label_selector: str, field_selector: str
) -> Op[tuple[list[dict[str, Any]], str]]:
    """Every object (paginated) and the resourceVersion the list was read at."""
    items: list[dict[str, Any]] = []
    token: str | None = None
    while True:
        page = yield from expect(
            kind.list(
                namespace,
                label_selector=label_selector,
                field_selector=field_selector,
                limit=RELIST_PAGE,
                continue_token=token,
            )
        )
        items += page.get("items") or []
        metadata = page.get("metadata") or {}
        token = metadata.get("continue") or None
        if not token:
            return items, str(metadata.get("resourceVersion", ""))


def list_named(model: type[R], namespace: str, names: Collection[str]) -> Op[None]:
    """Emit, page by page, the live objects among ``names`` (``{name: object}``), for a batch of
    first reads: pages of :data:`RELIST_PAGE`, each decoded only for the names wanted and handed
    on before the next is read, so a thousand waits starting together in a namespace of ten
    thousand objects hold one page at a time, never the namespace."""
    pager = Pager(kind_of(model), namespace, page=RELIST_PAGE)
    wanted = set(names)
    while not pager.done:
        found: dict[str, R] = {}
        for item in (yield from pager.next()):
            if (item.get("metadata") or {}).get("name") in wanted:
                obj = model.model_validate(item)
                found[obj.name] = obj
        yield Emit(found)


def _relist(
    kind: Kind, namespace: str, label_selector: str, field_selector: str, watcher: Watcher
) -> Op[list[dict[str, Any]]]:
    """List again after a 410, riding out an API server that is still coming back (the usual
    reason for a 410 is that it just restarted): transport and 5xx errors are retried with the
    watcher's backoff."""
    while True:
        try:
            items, version = yield from _list_all(kind, namespace, label_selector, field_selector)
        except (TransportError, ServerError):
            yield Sleep(watcher._backoff())  # the same capped, jittered backoff as its reconnects
            continue
        watcher.restart(version)
        return items


def watch_objects(
    model: type[R], namespace: str, label_selector: str = "", field_selector: str = ""
) -> Op[None]:
    """Emit ``None`` once the watch is established, then an :class:`ObjectChange` per change."""
    kind = kind_of(model)
    validate_namespace(namespace)
    # A list of one item is a consistent read: its resourceVersion is "now", cheaply.
    first = yield from expect(
        kind.list(namespace, label_selector=label_selector, field_selector=field_selector, limit=1)
    )
    version = str((first.get("metadata") or {}).get("resourceVersion", ""))
    watcher = Watcher(kind, namespace, version, label_selector=label_selector, field_selector=field_selector)
    opened = yield from watcher.open()
    if not opened:  # expired already: start from a fresh list
        yield from _relist(kind, namespace, label_selector, field_selector, watcher)
    yield Emit(None)
    while True:
        event = yield from watcher.next_event()
        if isinstance(event, Expired):
            items = yield from _relist(kind, namespace, label_selector, field_selector, watcher)
            objects = tuple(model.model_validate(item) for item in items)
            yield Emit(ObjectChange("RELISTED", None, objects))
            continue
        change: ChangeType = "MODIFIED"
        if event.type in ("ADDED", "DELETED"):
            change = "ADDED" if event.type == "ADDED" else "DELETED"
        yield Emit(ObjectChange(change, model.model_validate(event.object)))


class ChangeStream(Generic[R]):
    """The changes of a blocking :meth:`KontinueClient.watch`: iterate for :class:`ObjectChange`.

    Close it (or use it as a context manager) to end the watch and its connection.
    """

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items
        next(self._items)  # the "opened" marker: errors surface at the call, not at the first read

    def __iter__(self) -> Iterator[ObjectChange[R]]:
        yield from self._items

    def close(self) -> None:
        close = getattr(self._items, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> ChangeStream[R]:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class AsyncChangeStream(Generic[R]):
    """The changes of an awaited :meth:`AsyncKontinueClient.watch`: ``async for change in stream``."""

    def __init__(self, items: AsyncIterator[Any]) -> None:
        self._items = items

    async def __aiter__(self) -> AsyncIterator[ObjectChange[R]]:
        async for item in self._items:
            yield item

    async def aclose(self) -> None:
        close = getattr(self._items, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> AsyncChangeStream[R]:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
