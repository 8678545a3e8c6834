"""One watch per (source, namespace, kind) in an event loop, shared by every waiter.

A process that waits on many objects at once (Airflow's triggerer runs up to a thousand triggers on
one event loop) would otherwise hold one long-lived connection per waiter. An :class:`Informer`
is the shared alternative, as controller-runtime's informers are for Go: the first waiter on an
Execution in namespace ``ns`` through credentials ``source`` opens one watch of all Executions in
``ns`` (the client's ``watch``); later waiters subscribe to it, and each change is handed to the
subscribers of that object's name. The last subscriber to leave closes the watch after a short
linger, so a burst of short waits does not reopen it again and again.

Reading the current state is batched too: a waiter subscribes first, then asks the informer for
the object. Reads that arrive together are served by one list instead of one GET each, so a
process restarting with a thousand waits makes a handful of requests, not a thousand (at the
client's default 5 requests/s a thousand GETs would take over three minutes).

Informers belong to one event loop: the registry is keyed by the loop object itself, weakly, so a
loop that is closed and collected takes its informers' bookkeeping with it, and informers never
cross loops. ``source`` is any string naming the credentials (Airflow's triggers use the
connection id); waiters with the same source share a client.

Usage::

    async with Informer.subscribe("prod", "data", Execution, make_client, frozenset({"etl-1"})) as sub:
        execution = await sub.read("etl-1")  # after subscribing: no change is missed
        change = await sub.next(timeout=60)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .async_client import AsyncKontinueClient
from .constants import KIND_EXECUTION, KIND_SCHEDULED_EXECUTION, KIND_SUSPENSION
from .errors import KontinueError, NotFoundError
from .models import Resource
from .watch import ObjectChange, kind_of, list_named

log = logging.getLogger(__name__)

R = TypeVar("R", bound=Resource)

ClientMaker = Callable[[], Awaitable[AsyncKontinueClient]]
"""Builds the client an informer watches with; awaited once, when the informer opens."""

LINGER_SECONDS = 5.0
"""How long a watch stays open after its last subscriber left."""
BATCH_WINDOW_SECONDS = 0.02
"""Reads requested within this window are served together."""
LIST_THRESHOLD = 8
"""From this many names in one batch on, one paged list serves them all instead of a GET each."""


class InformerClosed(KontinueError):
    """The shared watch ended; subscribers re-subscribe (a new watch) or give up."""


class Mailbox:
    """The changes waiting for one consumer: a list, and a future only while the consumer waits.

    What ``asyncio.Queue`` does for one reader, at a fraction of its memory: a queue holds four
    deques (about 3 KiB) for its whole life, and a triggerer holds one mailbox per waiting trigger
    (``rss_kib_per_wait`` in ``make bench``). Several subscriptions may share one mailbox, as long
    as one coroutine reads it.
    """

    __slots__ = ("_items", "_waiter")

    def __init__(self) -> None:
        self._items: list[Any] | None = None
        self._waiter: asyncio.Future[None] | None = None

    def put(self, item: Any) -> None:
        """Hand ``item`` to the consumer, waking it if it waits."""
        if self._items is None:
            self._items = [item]
        else:
            self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def get(self, timeout: float | None = None) -> Any:
        """The oldest item, waiting for one at most ``timeout`` seconds (then TimeoutError)."""
        if not self._items:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self._waiter, timeout)
            except asyncio.TimeoutError:  # the builtin from Python 3.11 on; made so on 3.10 too
                raise TimeoutError(f"no change within {timeout}s") from None
            finally:
                self._waiter = None
        assert self._items  # put() adds before it wakes the one consumer
        item = self._items.pop(0)
        if not self._items:
            self._items = None
        return item


@dataclass(eq=False, slots=True)
class Subscription(Generic[R]):
    """What one waiter receives: the changes of the names it follows (or of every object)."""

    informer: Informer[R]
    names: frozenset[str] | None
    match: Callable[[R], bool] | None = None
    mailbox: Mailbox = field(default_factory=Mailbox)

    def wants(self, change: ObjectChange[R]) -> bool:
        """Whether this subscriber cares about ``change`` (relists concern everyone)."""
        if change.object is None or self.match is None:
            return True
        return self.match(change.object)

    async def next(self, timeout: float | None = None) -> ObjectChange[R]:
        """The next change; raises what ended the shared watch, or TimeoutError after ``timeout``."""
        item = await self.mailbox.get(timeout)
        if isinstance(item, BaseException):
            raise item
        change: ObjectChange[R] = item
        return change

    async def read(self, name: str) -> R | None:
        """The object now (batched with other readers); ``None`` when it does not exist live."""
        return await self.informer.read(name)

    @property
    def client(self) -> AsyncKontinueClient:
        """The informer's client (for reads that are not of this kind, e.g. a worker's logs)."""
        return self.informer.client


@dataclass(frozen=True)
class InformerKey:
    """What an informer watches: one kind in one namespace through one source's credentials."""

    source: str
    namespace: str
    kind: str


@dataclass
class _Registry:
    """The informers of one event loop, and the ones being opened right now."""

    open: dict[InformerKey, Informer[Any]] = field(default_factory=dict)
    opening: dict[InformerKey, asyncio.Future[Any]] = field(default_factory=dict)


_registries: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Registry] = weakref.WeakKeyDictionary()


def _registry(loop: asyncio.AbstractEventLoop | None = None) -> _Registry:
    loop = loop or asyncio.get_running_loop()
    registry = _registries.get(loop)
    if registry is None:
        registry = _registries[loop] = _Registry()
    return registry


class Informer(Generic[R]):
    """A shared watch of one kind in one namespace, and its subscribers."""

    def __init__(self, key: InformerKey, model: type[R], client: AsyncKontinueClient) -> None:
        self.key = key
        self.model = model
        self.client = client
        self.by_name: dict[str, set[Subscription[R]]] = {}
        self.everything: set[Subscription[R]] = set()
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.closed = False
        self.relists = 0
        """How often the server expired the watch (410 Gone) and the namespace was listed again."""
        self.peak_subscribers = 0
        """The most subscribers this watch served at once."""
        self._registry = _registry()
        self._pending_reads: dict[str, list[asyncio.Future[R | None]]] = {}
        self._read_task: asyncio.Task[None] | None = None
        self._linger: asyncio.TimerHandle | None = None
        self._client_closed = False
        self._task = asyncio.ensure_future(self._run())

    # -- the public API -------------------------------------------------------------------------

    @staticmethod
    def active(loop: asyncio.AbstractEventLoop | None = None) -> list[Informer[Any]]:
        """The informers open in ``loop`` (default: the running loop)."""
        return [informer for informer in _registry(loop).open.values() if not informer.closed]

    @classmethod
    @contextlib.asynccontextmanager
    async def subscribe(
        cls,
        source: str,
        namespace: str,
        model: type[R],
        make_client: ClientMaker,
        names: frozenset[str] | None,
        *,
        match: Callable[[R], bool] | None = None,
        mailbox: Mailbox | None = None,
    ) -> AsyncIterator[Subscription[R]]:
        """Follow ``names`` (or everything, with ``None``, narrowed by ``match``) of ``model`` in
        ``namespace``. Several subscriptions may share one ``mailbox`` (one waiter on two kinds).

        Opens the shared watch when needed (``make_client`` is awaited for its client) and
        returns once the watch is established, so that a read made after this sees every later
        change in the subscription.
        """
        kind_of(model)
        key = InformerKey(source, namespace, model.KIND)
        informer: Informer[R] = await cls._open(key, model, make_client)
        subscription: Subscription[R] = Subscription(informer, names, match)
        if mailbox is not None:
            subscription.mailbox = mailbox
        informer._add(subscription)
        try:
            await asyncio.shield(informer.ready)
            yield subscription
        finally:
            informer._remove(subscription)
            if informer._task.done() and not informer.subscribers:
                await informer._close_client()

    @staticmethod
    async def shutdown() -> None:
        """Close every informer of the running loop and wait until their connections are closed
        (for code that runs a private loop, such as the operators' sync path)."""
        informers = list(_registry().open.values())
        for informer in informers:
            informer.close()
        await asyncio.gather(*(informer._task for informer in informers), return_exceptions=True)

    @property
    def subscribers(self) -> int:
        """How many subscriptions this informer serves now."""
        unique = set(self.everything)
        for followers in self.by_name.values():
            unique |= followers
        return len(unique)

    def close(self) -> None:
        """Stop the watch; subscribers still attached receive InformerClosed, and the client is
        closed once the last of them has left."""
        if not self.closed:
            self._leave_registry()
            self._task.cancel()
        if self._read_task is not None:
            self._read_task.cancel()

    async def read(self, name: str) -> R | None:
        """The live object ``name`` (``None`` if it does not exist live), batched with others."""
        future: asyncio.Future[R | None] = asyncio.get_running_loop().create_future()
        self._pending_reads.setdefault(name, []).append(future)
        if self._read_task is None or self._read_task.done():
            self._read_task = asyncio.ensure_future(self._serve_reads())
        return await future

    # -- opening and subscribers ----------------------------------------------------------------

    @classmethod
    async def _open(cls, key: InformerKey, model: type[R], make_client: ClientMaker) -> Informer[R]:
        """The open informer for ``key``, made by the first waiter; waiters arriving meanwhile share
        that one making (a thousand waiters starting together build one client, not 1,000)."""
        registry = _registry()
        informer: Informer[R] | None = registry.open.get(key)
        if informer is not None and not informer.closed:
            return informer
        opening = registry.opening.get(key)
        if opening is not None:
            made: Informer[R] = await asyncio.shield(opening)
            return made
        opening = asyncio.get_running_loop().create_future()
        registry.opening[key] = opening
        try:
            informer = Informer(key, model, await make_client())
        except BaseException as err:
            opening.set_exception(err if isinstance(err, Exception) else InformerClosed(str(err)))
            opening.exception()  # retrieved: the waiters that share it re-raise it
            raise
        finally:
            del registry.opening[key]
        registry.open[key] = informer
        opening.set_result(informer)
        return informer

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

    def _close_if_idle(self) -> None:
        if not self.by_name and not self.everything:
            self.close()

    def _leave_registry(self) -> None:
        self.closed = True
        if self._registry.open.get(self.key) is self:
            del self._registry.open[self.key]

    # -- the watch ------------------------------------------------------------------------------

    async def _run(self) -> None:
        try:
            stream = await self.client.watch(self.model, namespace=self.key.namespace)
            self.ready.set_result(None)
            log.debug("kontinue: one watch of %s in %s for this loop", self.model.KIND, self.key.namespace)
            async with stream:
                async for change in stream:
                    self._dispatch(change)
            self._fail(InformerClosed(f"the watch of {self.model.KIND} in {self.key.namespace!r} ended"))
        except asyncio.CancelledError:
            self._fail(InformerClosed("the shared watch was closed"))
            raise
        except Exception as err:
            self._fail(err)
        finally:
            self._leave_registry()
            if not self.subscribers:
                await self._close_client()

    async def _close_client(self) -> None:
        """Close the client once the watch has ended and no subscriber is left.

        A subscriber may still write through the client after the watch ends: a trigger canceled
        with the whole loop (a triggerer that stops) writes its log cursor as it ends, while the
        same cancel ends the watch; the last of the two to finish closes it.
        """
        if not self._client_closed:
            self._client_closed = True
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
                subscription.mailbox.put(change)

    def _fail(self, err: Exception) -> None:
        self._leave_registry()
        if not self.ready.done():
            self.ready.set_exception(err)
            self.ready.exception()  # retrieved: waiters see it through subscribe()
        for subscription in self.everything | {s for f in self.by_name.values() for s in f}:
            subscription.mailbox.put(err)

    # -- batched reads --------------------------------------------------------------------------

    async def _serve_reads(self) -> None:
        await asyncio.sleep(BATCH_WINDOW_SECONDS)
        while self._pending_reads:
            batch, self._pending_reads = self._pending_reads, {}
            try:
                await self._read_many(batch)
            except Exception as err:
                for futures in batch.values():  # the names not answered yet
                    for future in futures:
                        if not future.done():
                            future.set_exception(err)

    async def _read_many(self, batch: dict[str, list[asyncio.Future[R | None]]]) -> None:
        """Answer every reader in ``batch`` (removing each name once answered): one paged list when
        there are many names, each page answered before the next is read, then a GET for each
        name not found (``None`` if it does not exist live).

        Executions are read with the client's archive fallback, so an execution archived (and
        deleted) by its TTL still reads as its final state.
        """
        client, namespace = self.client, self.key.namespace

        def answer(name: str, obj: R | None) -> None:
            for future in batch.pop(name, ()):
                if not future.done():
                    future.set_result(obj)

        if len(batch) >= LIST_THRESHOLD:
            op = list_named(self.model, namespace, set(batch))
            async for page in client._iterate(op):
                for name, obj in page.items():  # answered while the next page is read
                    answer(name, obj)
                del page
        getter: Callable[..., Awaitable[Any]] = {
            KIND_EXECUTION: client.get,
            KIND_SUSPENSION: client.get_suspension,
            KIND_SCHEDULED_EXECUTION: client.get_scheduled_execution,
        }[self.model.KIND]

        async def one(name: str) -> None:
            found: R | None = None
            with contextlib.suppress(NotFoundError):
                found = await getter(name, namespace=namespace)
            answer(name, found)

        await asyncio.gather(*(one(name) for name in list(batch)))
