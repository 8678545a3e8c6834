"""Mutexes and function concurrency limits (spec §3.8): who may start now, and who waits, FIFO.

An execution *holds* its mutex (and its function's concurrency slot) while it is not terminal and
``status.startedAt`` is set: from its first start, through Suspended, Backoff and the Pending gap
between automatic attempts. A Pending execution that has never started may start only when

- its mutex (``spec.mutex.name``, per namespace) has no holder and it is the first of that mutex's
  waiters, and
- its function (per namespace) has fewer holders than ``spec.concurrency.limit`` and it is among
  the first ``limit - holders`` waiters of that function,

waiters being ordered by ``creationTimestamp``, then name. Decisions are made from the execution
cache plus in-memory reservations for starts that are being written, so two reconciles running at
once can never both take the last slot.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.informer import Key, Store, key_of

INDEX_MUTEX = "mutex"
INDEX_FUNCTION = "function"


def mutex_of(execution: dict[str, Any]) -> str | None:
    mutex = names.spec(execution).get("mutex")
    name = mutex.get("name") if isinstance(mutex, dict) else None
    return name if isinstance(name, str) and name else None


def function_of(execution: dict[str, Any]) -> str:
    return str(names.spec(execution).get("function") or "")


def holds(execution: dict[str, Any]) -> bool:
    return not names.is_terminal(execution) and bool(names.status(execution).get("startedAt"))


def waiting(execution: dict[str, Any]) -> bool:
    """Queued for a first start: Pending, never started, not deleted."""
    return (
        names.phase(execution) == "Pending"
        and not names.status(execution).get("startedAt")
        and not names.meta(execution).get("deletionTimestamp")
        and names.status(execution).get("reason") != "FunctionNotFound"
    )


def _order(execution: dict[str, Any]) -> tuple[str, str]:
    metadata = names.meta(execution)
    return (str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or ""))


def register_indexes(store: Store) -> None:
    store.add_index(INDEX_MUTEX, lambda e: [(key_of(e)[0], m)] if (m := mutex_of(e)) else [])
    store.add_index(INDEX_FUNCTION, lambda e: [(key_of(e)[0], function_of(e))])


class Scheduler:
    def __init__(self, executions: Store, limit_of: Callable[[str, str], int | None]) -> None:
        self.executions = executions
        self.limit_of = limit_of
        self._reserved: dict[Key, dict[str, Any]] = {}

    def decide(self, execution: dict[str, Any]) -> tuple[bool, str, str]:
        """(may start, reason if not, message if not); reserves the slot when it may."""
        key = key_of(execution)
        namespace = key[0]
        if names.status(execution).get("startedAt"):
            return True, "", ""  # it already holds its slots (the Pending gap between attempts)
        mutex = mutex_of(execution)
        if mutex is not None:
            group = self.executions.by_index(INDEX_MUTEX, (namespace, mutex))
            if any(holds(e) and key_of(e) != key for e in group) or any(
                k != key and mutex_of(e) == mutex and k[0] == namespace for k, e in self._reserved.items()
            ):
                return False, "WaitingForMutex", f"waiting for mutex {mutex}"
            queue = sorted((e for e in group if waiting(e)), key=_order)
            if queue and key_of(queue[0]) != key and _order(queue[0]) < _order(execution):
                return (
                    False,
                    "WaitingForMutex",
                    f"waiting for mutex {mutex} (queued behind {key_of(queue[0])[1]})",
                )
        function = function_of(execution)
        limit = self.limit_of(namespace, function)
        if limit is not None:
            group = self.executions.by_index(INDEX_FUNCTION, (namespace, function))
            busy = sum(1 for e in group if holds(e) and key_of(e) != key)
            busy += sum(
                1
                for k, e in self._reserved.items()
                if k != key and k[0] == namespace and function_of(e) == function
            )
            free = limit - busy
            queue = sorted((e for e in group if waiting(e) and key_of(e) not in self._reserved), key=_order)
            ahead = [e for e in queue if _order(e) < _order(execution) and key_of(e) != key]
            if free <= 0 or len(ahead) >= free:
                return (
                    False,
                    "WaitingForConcurrency",
                    f"waiting for a concurrency slot of function {function} (limit {limit})",
                )
        if mutex is not None or limit is not None:
            self._reserved[key] = execution
        return True, "", ""

    def release(self, key: Key) -> None:
        """The start was written (the cache now shows the holder) or abandoned."""
        self._reserved.pop(key, None)

    def waiters(self, execution: dict[str, Any]) -> list[Key]:
        """Executions that may be able to start now that ``execution`` changed."""
        namespace = key_of(execution)[0]
        keys: list[Key] = []
        mutex = mutex_of(execution)
        if mutex is not None:
            keys += [
                key_of(e) for e in self.executions.by_index(INDEX_MUTEX, (namespace, mutex)) if waiting(e)
            ]
        function = function_of(execution)
        if self.limit_of(namespace, function) is not None:
            group = self.executions.by_index(INDEX_FUNCTION, (namespace, function))
            keys += [key_of(e) for e in group if waiting(e)]
        return keys
