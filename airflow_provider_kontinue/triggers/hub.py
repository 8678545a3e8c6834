"""One watch per (connection, namespace, kind) in a process, shared by every waiting trigger.

A triggerer runs up to a thousand triggers on one event loop. If each watched its own execution,
a thousand deferred tasks would hold a thousand long-lived connections to the API server. Here
they share: the first trigger that waits on an Execution in namespace ``ns`` through connection
``c`` opens one watch of all Executions in ``ns`` (the client's ``watch``); later triggers
subscribe to it, and each change is handed to the subscribers of that object's name. The last
subscriber to leave closes the watch (after a short linger, so a burst of short waits does not
reopen it again and again).

Reading the current state is batched too: a trigger subscribes first, then asks the hub for the
object. Requests that arrive together are served by one paginated list instead of one GET each,
so a triggerer restarting with a thousand deferred tasks makes a handful of requests, not a
thousand (at the client's default 5 requests/s a thousand GETs would take over three minutes).

The hub is per event loop: ``dag.test()`` and the sync path of the operators run triggers in a
fresh loop, the triggerer in its one loop; hubs never cross loops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    KontinueError,
    NotFoundError,
    ObjectChange,
    Resource,
)
from airflow_provider_kontinue.client.constants import (
    KIND_EXECUTION,
    KIND_SCHEDULED_EXECUTION,
    KIND_SUSPENSION,
)
from airflow_provider_kontinue.client.watches import kind_of

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Resource)

LINGER_SECONDS = 5.0
"""How long a watch stays open after its last subscriber left."""
BATCH_WINDOW_SECONDS = 0.02
"""Reads requested within this window are served together."""
LIST_THRESHOLD = 8
"""From this many names in one batch on, one list serves them all instead of a GET each."""


class HubClosed(KontinueError):
    """The shared watch ended with an error; subscribers re-subscribe (a new watch) or give up."""


@dataclass(eq=False)
class Subscription(Generic[R]):
    """What one waiter receives: the changes of the names it follows (or of every object)."""

    hub: WatchHub[R]
    names: frozenset[str] | None
    match: Callable[[R], bool] | None = None
    queue: asyncio.Queue[Any] = field(default_factory=asyncio.Queue)

    def wants(self, change: ObjectChange[R]) -> bool:
        """Whether this subscriber cares about ``change`` (relists concern everyone)."""
        if change.object is None or self.match is None:
            return True
        return self.match(change.object)

    async def next(self, timeout: float | None = None) -> ObjectChange[R]:
        """The next change; raises what ended the shared watch, or TimeoutError after ``timeout``."""
        item = await asyncio.wait_for(self.queue.get(), timeout)
        if isinstance(item, BaseException):
            raise item
        change: ObjectChange[R] = item
        return change

    async def read(self, name: str) -> R | None:
        """The object now (batched with other readers); ``None`` when it does not exist live."""
        return await self.hub.read(name)


@dataclass(frozen=True)
class HubKey:
    loop: int
    conn_id: str
    namespace: str
    kind: str


class WatchHub(Generic[R]):
    """A shared watch of one kind in one namespace, and its subscribers."""

    _hubs: ClassVar[dict[HubKey, WatchHub[Any]]] = {}
    _making: ClassVar[dict[HubKey, asyncio.Future[Any]]] = {}

    def __init__(self, key: HubKey, model: type[R], client: AsyncKontinueClient) -> None:
        self.key = key
        self.model = model
        self.client = client
        self.by_name: dict[str, set[Subscription[R]]] = {}
        self.everything: set[Subscription[R]] = set()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.changes_seen = 0
        self.relists = 0
        """How often the server expired the watch (410 Gone) and the namespace was listed again."""
        self.peak_subscribers = 0
        """The most subscribers this watch served at once."""
        self._pending_reads: dict[str, list[asyncio.Future[R | None]]] = {}
        self._read_task: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._task = asyncio.ensure_future(self._run())

    # -- registry -------------------------------------------------------------------------------

    @classmethod
    def active(cls) -> list[WatchHub[Any]]:
        """The hubs open in this process (for tests and benchmarks)."""
        return [hub for hub in cls._hubs.values() if not hub.closed]

    @classmethod
    @contextlib.asynccontextmanager
    async def subscribe(
        cls,
        conn_id: str,
        namespace: str,
        model: type[R],
        make_client: Callable[[], Any],
        names: frozenset[str] | None,
        *,
        match: Callable[[R], bool] | None = None,
        queue: asyncio.Queue[Any] | None = None,
    ) -> AsyncIterator[Subscription[R]]:
        """Follow ``names`` (or everything, with ``None``, narrowed by ``match``) of ``model`` in
        ``namespace``. Several subscriptions may share one ``queue`` (one loop waiting on two kinds).

        Opens the shared watch when needed (``make_client`` is awaited for its client) and
        returns once the watch is established, so that a read made after this sees every later
        change in the subscription.
        """
        kind_of(model)
        key = HubKey(id(asyncio.get_running_loop()), conn_id, namespace, model.KIND)
        hub: WatchHub[R] = await cls._open(key, model, make_client)
        subscription: Subscription[R] = Subscription(hub, names, match)
        if queue is not None:
            subscription.queue = queue
        hub._add(subscription)
        try:
            await asyncio.shield(hub.ready)
            yield subscription
        finally:
            hub._remove(subscription)

    @classmethod
    async def _open(cls, key: HubKey, model: type[R], make_client: Callable[[], Any]) -> WatchHub[R]:
        """The open hub for ``key``, made by the first waiter; waiters arriving meanwhile share
        that one making (a thousand triggers starting together build one client, not 1,000)."""
        hub: WatchHub[R] | None = cls._hubs.get(key)
        if hub is not None and not hub.closed:
            return hub
        making = cls._making.get(key)
        if making is not None:
            made: WatchHub[R] = await asyncio.shield(making)
            return made
        making = asyncio.get_running_loop().create_future()
        cls._making[key] = making
        try:
            hub = WatchHub(key, model, await make_client())
        except BaseException as err:
            making.set_exception(err if isinstance(err, Exception) else HubClosed(str(err)))
            making.exception()  # retrieved: the waiters that share it re-raise it
            raise
        finally:
            del cls._making[key]
        cls._hubs[key] = hub
        making.set_result(hub)
        return hub

    def _add(self, subscription: Subscription[R]) -> None:
        if self._linger is not None:
            self._linger.cancel()
            self._linger = None
        if subscription.names is None:
            self.everything.add(subscription)
        else:
            for name in subscription.names:
                self.by_name.setdefault(name, set()).add(subscription)
        self.peak_subscribers = max(self.peak_subscribers, self.subscribers)

    def _remove(self, subscription: Subscription[R]) -> None:
        self.everything.discard(subscription)
        for name in subscription.names or ():
            followers = self.by_name.get(name)
            if followers is not None:
                followers.discard(subscription)
                if not followers:
                    del self.by_name[name]
        if not self.by_name and not self.everything and not self.closed:
            self._linger = asyncio.get_running_loop().call_later(LINGER_SECONDS, self._close_if_idle)

    @property
    def subscribers(self) -> int:
        unique = set(self.everything)
        for followers in self.by_name.values():
            unique |= followers
        return len(unique)

    def _close_if_idle(self) -> None:
        if not self.by_name and not self.everything:
            self.close()

    def close(self) -> None:
        """Stop the watch; subscribers still attached receive HubClosed, the client is closed."""
        if not self.closed:
            self._leave_registry()
            self._task.cancel()
        if self._read_task is not None:
            self._read_task.cancel()

    def _leave_registry(self) -> None:
        self.closed = True
        if self._hubs.get(self.key) is self:
            del self._hubs[self.key]

    @classmethod
    async def shutdown(cls) -> None:
        """Close every hub of the running loop and wait until their connections are closed (for
        code that runs a private loop, such as the operators' sync path)."""
        loop = id(asyncio.get_running_loop())
        hubs = [hub for key, hub in list(cls._hubs.items()) if key.loop == loop]
        for hub in hubs:
            hub.close()
        await asyncio.gather(*(hub._task for hub in hubs), return_exceptions=True)

    # -- the watch ------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            stream = await self.client.watch(self.model, namespace=self.key.namespace)
            self.ready.set_result(None)
            log.debug("kontinue: one watch of %s in %s for this process", self.model.KIND, self.key.namespace)
            async with stream:
                async for change in stream:
                    self.changes_seen += 1
                    self._dispatch(change)
            self._fail(HubClosed(f"the watch of {self.model.KIND} in {self.key.namespace!r} ended"))
        except asyncio.CancelledError:
            self._fail(HubClosed("the shared watch was closed"))
            raise
        except Exception as err:
            self._fail(err)
        finally:
            self._leave_registry()
            await self.client.close()

    def _dispatch(self, change: ObjectChange[R]) -> None:
        if change.type == "RELISTED":
            self.relists += 1
            targets = set(self.everything)
            for followers in self.by_name.values():
                targets |= followers
        else:
            assert change.object is not None
            targets = self.everything | self.by_name.get(change.object.name, set())
        for subscription in targets:
            if subscription.wants(change):
                subscription.queue.put_nowait(change)

    def _fail(self, err: Exception) -> None:
        self._leave_registry()
        if not self.ready.done():
            self.ready.set_exception(err)
            self.ready.exception()  # retrieved: waiters see it through subscribe()
        for subscription in self.everything | {s for f in self.by_name.values() for s in f}:
            subscription.queue.put_nowait(err)

    # -- batched reads --------------------------------------------------------------------------

    async def read(self, name: str) -> R | None:
        """The live object ``name`` (``None`` if it does not exist live), batched with others."""
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._pending_reads.setdefault(name, []).append(future)
        if self._read_task is None or self._read_task.done():
            self._read_task = asyncio.ensure_future(self._serve_reads())
        return await future

    async def _serve_reads(self) -> None:
        await asyncio.sleep(BATCH_WINDOW_SECONDS)
        while self._pending_reads:
            batch, self._pending_reads = self._pending_reads, {}
            try:
                found = await self._read_many(set(batch))
            except Exception as err:
                for futures in batch.values():
                    for future in futures:
                        if not future.done():
                            future.set_exception(err)
                continue
            for name, futures in batch.items():
                for future in futures:
                    if not future.done():
                        future.set_result(found.get(name))

    async def _read_many(self, names: set[str]) -> dict[str, R]:
        """Read ``names``: one list when there are many (and the kind can be listed), else GETs.

        Executions are read with the client's archive fallback, so an execution archived (and
        deleted) by its TTL still reads as its final state.
        """
        client, namespace, kind = self.client, self.key.namespace, self.model.KIND
        found: dict[str, Any] = {}
        if len(names) >= LIST_THRESHOLD and kind in (KIND_EXECUTION, KIND_SCHEDULED_EXECUTION):
            if kind == KIND_EXECUTION:
                listed: list[Any] = await client.list(namespace=namespace)
            else:
                listed = await client.list_scheduled_executions(namespace=namespace)
            found = {obj.name: obj for obj in listed if obj.name in names}
        getter = {
            KIND_EXECUTION: client.get,
            KIND_SUSPENSION: client.get_suspension,
            KIND_SCHEDULED_EXECUTION: client.get_scheduled_execution,
        }[kind]

        async def one(name: str) -> None:
            with contextlib.suppress(NotFoundError):
                found[name] = await getter(name, namespace=namespace)

        await asyncio.gather(*(one(name) for name in names - set(found)))
        return found
