"""Watches done right, once, for every operation that waits: resume, bookmarks, 410, reconnects.

A :class:`Watcher` follows one kind (optionally one selector) from a ``resourceVersion``. Each
``next_event`` returns the next ADDED/MODIFIED/DELETED event, or :data:`EXPIRED` when the server
answered 410 Gone: the caller then re-reads what it cares about (its "relist") and calls
``restart`` with the fresh ``resourceVersion``. In between, the watcher handles everything else:

- a watch the server ends cleanly (``timeoutSeconds``) is re-opened from the last
  ``resourceVersion`` seen, so nothing is lost and nothing repeats;
- ``BOOKMARK`` events move that ``resourceVersion`` forward without waking the caller;
- a dropped connection, or an API server that is restarting, is retried with capped exponential
  backoff and jitter, resuming from the same ``resourceVersion``.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any, Final

from .errors import GoneError, KontinueError, ServerError, WatchError, error_from_status
from .protocol import CloseStream, Op, OpenStream, ReadAny, ReadLine, Sleep, TransportError
from .resources import WATCH_TIMEOUT_SECONDS, Kind

BACKOFF_INITIAL = 0.2
BACKOFF_MAX = 10.0


@dataclass(frozen=True)
class WatchEvent:
    """One change: ``type`` is ADDED, MODIFIED or DELETED; ``object`` the resource as JSON."""

    type: str
    object: dict[str, Any]

    @property
    def resource_version(self) -> str:
        return str(self.object.get("metadata", {}).get("resourceVersion", ""))


class Expired:
    def __repr__(self) -> str:
        return "EXPIRED"


EXPIRED: Final = Expired()
"""Returned by :meth:`Watcher.next_event` after a 410 Gone: relist, then :meth:`Watcher.restart`."""


def parse_event(line: bytes) -> dict[str, Any] | None:
    """Decode one line of a watch stream (``None`` for a blank keep-alive line)."""
    line = line.strip()
    if not line:
        return None
    try:
        event = json.loads(line)
    except ValueError as err:
        raise WatchError(f"the watch stream sent something that is not JSON: {line[:120]!r}") from err
    if not isinstance(event, dict) or "type" not in event:
        raise WatchError(f"the watch stream sent an unexpected line: {line[:120]!r}")
    return event


class Watcher:
    """A resumable watch of ``kind`` in ``namespace`` matching the selectors."""

    def __init__(
        self,
        kind: Kind,
        namespace: str | None,
        resource_version: str,
        *,
        label_selector: str = "",
        field_selector: str = "",
        timeout_seconds: int = WATCH_TIMEOUT_SECONDS,
    ) -> None:
        self.kind = kind
        self.namespace = namespace
        self.resource_version = resource_version
        self.label_selector = label_selector
        self.field_selector = field_selector
        self.timeout_seconds = timeout_seconds
        self._stream: object | None = None
        self._failures = 0

    def restart(self, resource_version: str) -> None:
        """Continue from ``resource_version`` (after a relist)."""
        self.resource_version = resource_version

    def _backoff(self) -> float:
        delay = min(BACKOFF_MAX, BACKOFF_INITIAL * 2.0**self._failures)
        self._failures += 1
        jitter: float = random.uniform(0.5, 1.0)
        return delay * jitter

    def close(self) -> Op[None]:
        """Close the open stream, if any."""
        if self._stream is not None:
            stream, self._stream = self._stream, None
            yield CloseStream(stream)

    def open(self) -> Op[bool]:
        """Make sure a stream is open; ``False`` means 410 Gone (relist, then :meth:`restart`)."""
        while self._stream is None:
            call = self.kind.watch(
                self.namespace,
                resource_version=self.resource_version,
                label_selector=self.label_selector,
                field_selector=self.field_selector,
                timeout_seconds=self.timeout_seconds,
            )
            try:
                self._stream = yield OpenStream(call, read_timeout=self.timeout_seconds + 30)
            except GoneError:
                return False
            except (TransportError, ServerError):
                yield Sleep(self._backoff())
                continue
        return True

    @property
    def stream(self) -> object | None:
        return self._stream

    def handle(self, item: bytes | Exception | None) -> Op[WatchEvent | Expired | None]:
        """Digest what the stream gave: an event for the caller, EXPIRED, or ``None`` (nothing yet:
        a bookmark, a keep-alive, or a reconnect after the stream ended or broke)."""
        if isinstance(item, Exception):
            if not isinstance(item, TransportError):
                raise item
            yield from self.close()
            yield Sleep(self._backoff())
            return None
        if item is None:  # the server ended this watch: the next open resumes where it stopped
            yield from self.close()
            return None
        event = parse_event(item)
        if event is None:
            return None
        self._failures = 0
        kind, obj = event["type"], event.get("object") or {}
        if kind == "ERROR":
            yield from self.close()
            error: KontinueError = error_from_status(
                None, obj, verb="watch", resource=self.kind.resource, namespace=self.namespace
            )
            if isinstance(error, GoneError):
                return EXPIRED
            if isinstance(error, ServerError):
                yield Sleep(self._backoff())
                return None
            raise error
        watch_event = WatchEvent(kind, obj)
        if watch_event.resource_version:
            self.resource_version = watch_event.resource_version
        return None if kind == "BOOKMARK" else watch_event

    def next_event(self) -> Op[WatchEvent | Expired]:
        """The next change, or :data:`EXPIRED`; reconnects as often as needed to get it."""
        while True:
            if not (yield from self.open()):
                return EXPIRED
            try:
                line: bytes | Exception | None = yield ReadLine(self._stream)
            except TransportError as err:
                line = err
            result = yield from self.handle(line)
            if result is not None:
                return result


def next_of_many(
    watchers: list[Watcher], timeout: float | None = None
) -> Op[tuple[Watcher, WatchEvent | Expired] | None]:
    """The next change on any of ``watchers`` (each resuming on its own), or ``None`` after
    ``timeout`` seconds without one."""
    while True:
        for watcher in watchers:
            if not (yield from watcher.open()):
                return watcher, EXPIRED
        owners = {id(w.stream): w for w in watchers}
        answer = yield ReadAny(tuple(w.stream for w in watchers), timeout)
        if answer is None:
            return None
        stream, item = answer
        watcher = owners[id(stream)]
        result = yield from watcher.handle(item)
        if result is not None:
            return watcher, result
