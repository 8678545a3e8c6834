"""``AsyncKontinueClient``: the asyncio kontinue client, on ``kubernetes_asyncio``."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .async_driver import AsyncDriver
from .connection import ConnectionSettings, async_api_client
from .errors import KontinueError
from .functions import DEFAULT_FUNCTION_CACHE_TTL, FunctionCache
from .jobs import PodLogOptions, job_logs
from .models import Execution
from .operations import AwaitingClient, ClientBase
from .options import Options
from .protocol import Op
from .tree import ExecutionTree
from .trees import TreeUpdate, TreeWatchError, watch_tree
from .watch import AsyncChangeStream, R, watch_objects

T = TypeVar("T")


class AsyncKontinueClient(AwaitingClient, ClientBase):
    """The kontinue client for asyncio code (triggers, services): the same API as
    :class:`~.sync_client.KontinueClient`, every call awaitable, never blocking the event loop."""

    _driver: AsyncDriver

    def __init__(self, api_client: Any, namespace: str, **kwargs: Any) -> None:
        super().__init__(api_client, namespace, **kwargs)
        self._driver = AsyncDriver(api_client, self._limiter, self._headers)

    @classmethod
    async def connect(
        cls,
        kubeconfig: str | Path | Mapping[str, Any] | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        in_cluster: bool = False,
        verify_ssl: bool = True,
        options: Options | Mapping[str, Any] | None = None,
        function_cache_ttl: float = DEFAULT_FUNCTION_CACHE_TTL,
    ) -> AsyncKontinueClient:
        """Connect with a kubeconfig (path or dict; default ``$KUBECONFIG``/``~/.kube/config``) or
        in-cluster; the default namespace is the context's unless ``namespace`` is given."""
        settings = ConnectionSettings(kubeconfig, context, in_cluster, verify_ssl)
        if namespace is None:  # reads the kubeconfig file: off the event loop
            namespace = await asyncio.to_thread(settings.default_namespace)
        return cls(
            await async_api_client(settings),
            namespace,
            options=options,
            function_cache=FunctionCache(function_cache_ttl),
            owns_api_client=True,
        )

    @classmethod
    async def new(cls) -> AsyncKontinueClient:
        """The default kubeconfig and its current context's namespace (Go's ``New``)."""
        return await cls.connect()

    @classmethod
    async def new_with_options(cls, options: Options | Mapping[str, Any]) -> AsyncKontinueClient:
        """Like ``new`` with impersonation and rate limits (Go's ``NewWithOptions``)."""
        return await cls.connect(options=options)

    @classmethod
    def from_kube_client(cls, api_client: Any, namespace: str, **kwargs: Any) -> AsyncKontinueClient:
        """Wrap an existing ``kubernetes_asyncio.client.ApiClient``; the caller keeps ownership."""
        return cls(api_client, namespace, **kwargs)

    def _bind(self, build: Callable[..., Op[T]]) -> Callable[..., Coroutine[Any, Any, T]]:
        @functools.wraps(build)
        async def bound(*args: Any, **kwargs: Any) -> T:
            return await self._driver.run(build(self, *args, **kwargs), self._context.start())

        return bound

    async def close(self) -> None:
        """Close the connection pool (only when this client created it)."""
        if self._owns_api_client:
            await self._api_client.close()

    async def __aenter__(self) -> AsyncKontinueClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- streams --------------------------------------------------------------------------------------

    async def get_job_logs(
        self,
        job: str,
        opts: PodLogOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> AsyncLogStream:
        """The logs of the Job's first pod, as an async stream of lines (``follow=True`` keeps it
        open). Errors (no pods, forbidden) are raised here, not on the first read."""
        options = opts if isinstance(opts, PodLogOptions) else PodLogOptions(**(opts or {}))
        lines = self._driver.iterate(job_logs(self._ns(namespace), job, options), self._context.start())
        await anext(lines)  # the "opened" marker
        return AsyncLogStream(lines)

    async def watch(
        self,
        model: type[R],
        *,
        label_selector: str = "",
        field_selector: str = "",
        namespace: str | None = None,
    ) -> AsyncChangeStream[R]:
        """Every change of ``model`` (Execution, Suspension or ScheduledExecution) in the namespace
        from now on, over one resumable watch (Go: ``KubeClient().Watch``). After a 410 Gone the
        stream hands over a fresh list as one ``RELISTED`` change. Errors (forbidden, unknown kind)
        are raised here; close the stream with ``aclose``, or use it as an async context manager."""
        op = watch_objects(model, self._ns(namespace), label_selector, field_selector)
        items = self._driver.iterate(op, self._context.start())
        await anext(items)  # the "opened" marker: the watch is established
        return AsyncChangeStream(items)

    def watch_tree(self, execution: Execution | str, *, namespace: str | None = None) -> AsyncTreeWatcher:
        """Follow the execution's tree: ``updates()`` yields a full tree after every change,
        ``errors()`` the problems met on the way, ``stop()`` ends it (Go's ``WatchTree``)."""
        op = watch_tree(self._ns(namespace, execution), self._name(execution))
        return AsyncTreeWatcher(self._driver.iterate(op, self._context.start()))


class AsyncLogStream:
    """Log lines as they come: ``async for line in stream`` (``str``), or ``await read()``."""

    def __init__(self, lines: AsyncIterator[Any]) -> None:
        self._lines = lines

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            yield line.decode("utf-8", errors="replace")

    async def read(self) -> bytes:
        """Everything until the stream ends (for ``follow``, until the container stops)."""
        return b"".join([line + b"\n" async for line in self._lines])

    async def aclose(self) -> None:
        close = getattr(self._lines, "aclose", None)
        if close is not None:
            await close()

    async def __aenter__(self) -> AsyncLogStream:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


_DONE = object()


class AsyncTreeWatcher:
    """A running ``watch_tree`` (Go's ``TreeWatcher``), fed by a background task."""

    def __init__(self, items: AsyncIterator[Any]) -> None:
        self._updates: asyncio.Queue[Any] = asyncio.Queue()
        self._errors: asyncio.Queue[Any] = asyncio.Queue()
        self._task = asyncio.ensure_future(self._run(items))

    async def _run(self, items: AsyncIterator[Any]) -> None:
        try:
            async for item in items:
                if isinstance(item, TreeUpdate):
                    self._updates.put_nowait(item.tree)
                elif isinstance(item, TreeWatchError):
                    self._errors.put_nowait(item.error)
        except KontinueError as err:
            self._errors.put_nowait(err)
        finally:
            close = getattr(items, "aclose", None)
            if close is not None:
                with contextlib.suppress(Exception):
                    await close()
            self._updates.put_nowait(_DONE)
            self._errors.put_nowait(_DONE)

    @staticmethod
    async def _drain(source: asyncio.Queue[Any], timeout: float | None) -> AsyncIterator[Any]:
        while True:
            try:
                item = await asyncio.wait_for(source.get(), timeout)
            except asyncio.TimeoutError:
                return
            if item is _DONE:
                source.put_nowait(_DONE)
                return
            yield item

    def updates(self, timeout: float | None = None) -> AsyncIterator[ExecutionTree]:
        """Trees as they change; ends after ``stop()``, when the tree is archived, or after
        ``timeout`` seconds without an update."""
        return self._drain(self._updates, timeout)

    def errors(self, timeout: float | None = None) -> AsyncIterator[KontinueError]:
        """Problems met while watching (the watch goes on after each)."""
        return self._drain(self._errors, timeout)

    def stop(self) -> None:
        """Stop watching; both channels end."""
        self._task.cancel()

    async def aclose(self) -> None:
        """Stop watching and wait until the watch connections are closed."""
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    def __aiter__(self) -> AsyncIterator[ExecutionTree]:
        return self.updates()

    async def __aenter__(self) -> AsyncTreeWatcher:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()
