"""What every part of the emulator shares: the API, the caches, the clock, the queue and the workers."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.functions import ScriptCache, concurrency_limit
from kontinue_sandbox.emulator.informer import Informer, key_of
from kontinue_sandbox.emulator.kube import ApiError, Kube
from kontinue_sandbox.emulator.scheduler import Scheduler, register_indexes
from kontinue_sandbox.emulator.times import Clock, Speed
from kontinue_sandbox.emulator.worker import Workers
from kontinue_sandbox.emulator.workqueue import WorkQueue

log = logging.getLogger(__name__)

INDEX_PARENT = "parent"
INDEX_CHILD_STEP = "child-step"
INDEX_SCHEDULE = "schedule"
INDEX_FUNCTION = "function"


def _parent_index(obj: dict[str, Any]) -> list[tuple[str, str]]:
    parent = names.labels(obj).get(names.LABEL_PARENT)
    return [(key_of(obj)[0], parent)] if parent else []


def _child_step_index(obj: dict[str, Any]) -> list[tuple[str, str, str]]:
    labels = names.labels(obj)
    parent, step = labels.get(names.LABEL_PARENT), labels.get(names.LABEL_STEP)
    return [(key_of(obj)[0], parent, step)] if parent and step else []


def _schedule_index(obj: dict[str, Any]) -> list[tuple[str, str]]:
    schedule = names.labels(obj).get(names.LABEL_SCHEDULE)
    return [(key_of(obj)[0], schedule)] if schedule else []


@dataclass
class Context:
    kube: Kube
    clock: Clock
    speed: Speed
    queue: WorkQueue
    executions: Informer
    suspensions: Informer
    functions: Informer
    schedules: Informer
    archives: Informer
    pods: Informer
    workers: Workers
    scripts: ScriptCache = field(default_factory=ScriptCache)
    scheduler: Scheduler = field(init=False)

    def __post_init__(self) -> None:
        register_indexes(self.executions.store)
        for store in (self.executions.store, self.suspensions.store):
            store.add_index(INDEX_PARENT, _parent_index)
            store.add_index(INDEX_CHILD_STEP, _child_step_index)
        self.executions.store.add_index(INDEX_SCHEDULE, _schedule_index)
        self.schedules.store.add_index(
            INDEX_FUNCTION, lambda s: [(key_of(s)[0], str(names.spec(s).get("function") or ""))]
        )
        self.scheduler = Scheduler(self.executions.store, self.limit_of)

    def function(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.functions.store.get(namespace, name)

    def limit_of(self, namespace: str, function: str) -> int | None:
        return concurrency_limit(self.function(namespace, function))

    def speed_for(self, function: dict[str, Any] | None) -> Speed:
        """The Function's own ``spec.emulator.speed`` if it declares one, else the global speed."""
        own = self.scripts.speed(function)
        return Speed(own) if own else self.speed

    async def write_status(
        self, informer: Informer, obj: dict[str, Any], status: dict[str, Any]
    ) -> dict[str, Any] | None:
        """PUT ``status`` on ``obj``'s /status with its resourceVersion as precondition.

        Returns the updated object (also stored in the cache), or None when the object changed
        or vanished meanwhile; then the cache holds the fresh version and the caller re-reads.
        """
        metadata = names.meta(obj)
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        path = informer.resource.path(namespace, name, "status")
        body = {
            "apiVersion": informer.resource.api_version,
            "kind": informer.resource.kind,
            "metadata": metadata,
            "spec": obj.get("spec", {}),
            "status": status,
        }
        try:
            updated = await self.kube.replace(path, body)
        except ApiError as err:
            if err.conflict or err.not_found:
                await self.refresh(informer, namespace, name)
                return None
            raise
        informer.put(updated)
        return updated

    async def write_object(self, informer: Informer, obj: dict[str, Any]) -> dict[str, Any] | None:
        """PUT the main resource (spec and metadata) with its resourceVersion; None on conflict."""
        metadata = names.meta(obj)
        namespace, name = str(metadata.get("namespace")), str(metadata.get("name"))
        try:
            updated = await self.kube.replace(informer.resource.path(namespace, name), obj)
        except ApiError as err:
            if err.conflict or err.not_found:
                await self.refresh(informer, namespace, name)
                return None
            raise
        informer.put(updated)
        return updated

    async def refresh(self, informer: Informer, namespace: str, name: str) -> dict[str, Any] | None:
        fresh = await self.kube.get(informer.resource.path(namespace, name))
        if fresh is None:
            informer.store.remove((namespace, name))
        else:
            informer.put(fresh)
        self.queue.add((informer.resource.kind, namespace, name))
        return fresh


def clone(value: Any) -> Any:
    """A deep copy of a JSON value (a JSON round trip: several times faster than deepcopy)."""
    return json.loads(json.dumps(value))


def without_managed_fields(obj: dict[str, Any]) -> dict[str, Any]:
    """Informer transform: ``metadata.managedFields`` is never read and costs memory and bytes.

    Updates sent without it keep the server's own record of field managers.
    """
    metadata = obj.get("metadata")
    if isinstance(metadata, dict) and "managedFields" in metadata:
        obj = {**obj, "metadata": {k: v for k, v in metadata.items() if k != "managedFields"}}
    return obj
