"""List-and-watch caches of resources, with indexes and change callbacks (a small client-go informer).

Each informer lists its resource once, then watches from the list's resourceVersion with
bookmarks, resuming from the last version it saw whenever the server ends a watch. A ``410 Gone``
(in the stream or as an HTTP status) makes it list again; objects that disappeared in between are
reported as deleted. Connection errors are retried with a capped backoff; nothing here polls.

The emulator's own writes are put into the store as soon as the API server answers
(``Informer.put``), so the next reconcile sees them before the watch event arrives. Change handlers
are driven by the watch alone: every version the watch delivers is reported once, with the
previous version the handler saw, whoever wrote it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Hashable, Iterable
from typing import Any

import aiohttp

from kontinue_sandbox.emulator.kube import ApiError, Kube
from kontinue_sandbox.emulator.names import Resource

log = logging.getLogger(__name__)

Key = tuple[str, str]
ChangeHandler = Callable[[dict[str, Any] | None, dict[str, Any] | None], None]
"""Called with (old, new): new is None on deletion, old is None on creation."""
IndexFunc = Callable[[dict[str, Any]], Iterable[Hashable]]


def key_of(obj: dict[str, Any]) -> Key:
    metadata = obj.get("metadata") or {}
    return (str(metadata.get("namespace") or ""), str(metadata.get("name") or ""))


def resource_version(obj: dict[str, Any] | None) -> str:
    if not obj:
        return ""
    return str((obj.get("metadata") or {}).get("resourceVersion") or "")


def newer(candidate: str, current: str) -> bool:
    """True when resourceVersion ``candidate`` is later than ``current`` (numeric when both are)."""
    if not current:
        return True
    if candidate.isdigit() and current.isdigit():
        return int(candidate) > int(current)
    return candidate != current


class Store:
    """Objects by (namespace, name), plus secondary indexes."""

    def __init__(self) -> None:
        self.objects: dict[Key, dict[str, Any]] = {}
        self._index_funcs: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[Hashable, set[Key]]] = {}
        self._entries: dict[str, dict[Key, tuple[Hashable, ...]]] = {}

    def add_index(self, name: str, func: IndexFunc) -> None:
        self._index_funcs[name] = func
        self._indexes[name] = {}
        self._entries[name] = {}
        for key, obj in self.objects.items():
            self._index(name, key, obj)

    def get(self, namespace: str, name: str) -> dict[str, Any] | None:
        return self.objects.get((namespace, name))

    def items(self) -> list[dict[str, Any]]:
        return list(self.objects.values())

    def by_index(self, name: str, value: Hashable) -> list[dict[str, Any]]:
        keys = self._indexes[name].get(value, ())
        return [self.objects[k] for k in sorted(keys) if k in self.objects]

    def index_values(self, name: str) -> list[Hashable]:
        return list(self._indexes[name])

    def put(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        """Store ``obj`` unless the stored copy is newer; return the replaced object."""
        key = key_of(obj)
        old = self.objects.get(key)
        if old is not None and not newer(resource_version(obj), resource_version(old)):
            return old
        self.objects[key] = obj
        for name in self._index_funcs:
            self._unindex(name, key)
            self._index(name, key, obj)
        return old

    def remove(self, key: Key) -> dict[str, Any] | None:
        old = self.objects.pop(key, None)
        for name in self._index_funcs:
            self._unindex(name, key)
        return old

    def _index(self, name: str, key: Key, obj: dict[str, Any]) -> None:
        values = tuple(self._index_funcs[name](obj))
        self._entries[name][key] = values
        for value in values:
            self._indexes[name].setdefault(value, set()).add(key)

    def _unindex(self, name: str, key: Key) -> None:
        for value in self._entries[name].pop(key, ()):
            bucket = self._indexes[name].get(value)
            if bucket is not None:
                bucket.discard(key)
                if not bucket:
                    del self._indexes[name][value]


class Informer:
    """Keeps ``store`` equal to the server's objects of one resource and reports every change."""

    def __init__(
        self,
        kube: Kube,
        resource: Resource,
        *,
        namespaces: list[str] | None = None,
        on_change: ChangeHandler | None = None,
        transform: Callable[[dict[str, Any]], dict[str, Any]] | None = None,
        field_selector: str | None = None,
        watch_timeout: int = 300,
        watch: bool = True,
    ) -> None:
        self.kube = kube
        self.resource = resource
        self.store = Store()
        self.namespaces = namespaces
        self.on_change = on_change
        self.transform = transform
        self.field_selector = field_selector
        self.watch_timeout = watch_timeout
        self.watch = watch
        self.synced = asyncio.Event()
        self._scopes_synced = 0
        self._seen: dict[Key, dict[str, Any]] = {}
        """The last version of each object the change handler was told about."""
        self.relists = 0

    def put(self, obj: dict[str, Any]) -> None:
        """Record an object the emulator just wrote (handlers hear of it from the watch)."""
        if self.transform is not None:
            obj = self.transform(obj)
        self.store.put(obj)

    async def run(self) -> None:
        scopes: list[str | None] = list(self.namespaces) if self.namespaces else [None]
        await asyncio.gather(*(self._run_scope(scope, len(scopes)) for scope in scopes))

    async def _run_scope(self, namespace: str | None, scope_count: int) -> None:
        path = self.resource.path(namespace)
        query: dict[str, Any] = {}
        if self.field_selector:
            query["fieldSelector"] = self.field_selector
        version = ""
        delay = 0.2
        first = True
        while True:
            try:
                if not version:
                    items, version = await self.kube.list(path, query)
                    self._replace(namespace, items)
                    if first:
                        first = False
                        self._scopes_synced += 1
                        if self._scopes_synced >= scope_count:
                            self.synced.set()
                    else:
                        self.relists += 1
                if not self.watch:
                    await asyncio.Event().wait()  # listed once; from now on only our own writes change it
                watch_query = {
                    **query,
                    "resourceVersion": version,
                    "allowWatchBookmarks": True,
                    "timeoutSeconds": self.watch_timeout,
                }
                async for event in self.kube.watch(path, watch_query, timeout=self.watch_timeout):
                    version = self._apply(event, version)
                    delay = 0.2
            except asyncio.CancelledError:
                raise
            except ApiError as err:
                if err.status == 410:
                    version = ""
                    continue
                log.warning("watch %s failed: %s; retrying in %.1fs", path, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)
            except _Expired:
                version = ""
            except (aiohttp.ClientError, asyncio.TimeoutError, OSError, ValueError) as err:
                log.warning("watch %s interrupted: %r; retrying in %.1fs", path, err, delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 5.0)

    def _apply(self, event: dict[str, Any], version: str) -> str:
        kind = event.get("type")
        obj = event.get("object") or {}
        if kind == "ERROR":
            if obj.get("code") == 410:
                raise _Expired()
            raise ApiError(
                int(obj.get("code") or 500), str(obj.get("reason")), str(obj.get("message")), "WATCH", ""
            )
        new_version = resource_version(obj) or version
        if kind == "BOOKMARK":
            return new_version
        if self.transform is not None:
            obj = self.transform(obj)
        key = key_of(obj)
        if kind == "DELETED":
            self.store.remove(key)
            old = self._seen.pop(key, None)
            self._notify(old or obj, None)
        elif kind in ("ADDED", "MODIFIED"):
            self.store.put(obj)
            old = self._seen.get(key)
            if old is None or newer(resource_version(obj), resource_version(old)):
                self._seen[key] = obj
                self._notify(old, obj)
        return new_version

    def _notify(self, old: dict[str, Any] | None, new: dict[str, Any] | None) -> None:
        if self.on_change is None:
            return
        try:
            self.on_change(old, new)
        except Exception:
            log.exception("change handler of %s failed", self.resource.plural)

    def _replace(self, namespace: str | None, items: list[dict[str, Any]]) -> None:
        seen: set[Key] = set()
        for item in items:
            obj = self.transform(item) if self.transform is not None else item
            key = key_of(obj)
            seen.add(key)
            self.store.put(obj)
            old = self._seen.get(key)
            if old is None or resource_version(old) != resource_version(obj):
                self._seen[key] = obj
                self._notify(old, obj)
        for key in [k for k in self._seen if namespace is None or k[0] == namespace]:
            if key not in seen:
                self.store.remove(key)
                self._notify(self._seen.pop(key), None)


class _Expired(Exception):
    """The watch's resourceVersion is too old (410 in the stream): list again."""
