"""``AsyncKontinueClient``: the asyncio kontinue client, on ``httpx.AsyncClient``."""

from __future__ import annotations

import asyncio
import builtins
import contextlib
from collections.abc import AsyncIterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .connection import Access, ConnectionSettings, access_from_configuration, load_access
from .errors import KontinueError
from .functions import DEFAULT_FUNCTION_CACHE_TTL, FunctionCache
from .jobs import PodLogOptions, job_logs, log_bytes, log_text
from .models import Execution, Function, ScheduledExecution, Suspension
from .operations import ClientBase
from .options import (
    CancelOptions,
    ListFunctionsOptions,
    ListOptions,
    Options,
    ResumeOptions,
    RetryOptions,
    ScheduleListOptions,
    SkipOptions,
    SpawnOptions,
)
from .protocol import Op
from .transport import AsyncTransport
from .tree import ExecutionTree
from .trees import TreeUpdate, TreeWatchError, watch_tree
from .watch import AsyncChangeStream, R, watch_objects

T = TypeVar("T")


class AsyncKontinueClient(ClientBase):
    """The kontinue client for asyncio code (triggers, services): the same API as
    :class:`~.sync_client.KontinueClient`, every call awaitable, never blocking the event loop."""

    _driver: AsyncTransport

    def __init__(self, access: Access, namespace: str, **kwargs: Any) -> None:
        super().__init__(access, namespace, **kwargs)
        self._driver = AsyncTransport(self._wire)

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
        # Files, perhaps an exec plugin, and the import of the config loaders: off the event loop.
        access = await asyncio.to_thread(load_access, settings)
        if namespace is None:
            namespace = await asyncio.to_thread(settings.default_namespace)
        return cls(access, namespace, options=options, function_cache=FunctionCache(function_cache_ttl))

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
        """A client for the cluster and user of an existing ``kubernetes.client.ApiClient``: its
        configuration's host, TLS files and API key. ``kube_client()`` returns it; the caller keeps
        ownership of it."""
        return cls(
            access_from_configuration(api_client.configuration), namespace, kube_client=api_client, **kwargs
        )

    async def _run(self, op: Op[T]) -> T:
        """Run one shared operation under this client's deadline and cancellation."""
        return await self._driver.run(op, self._context.start())

    def _iterate(self, op: Op[Any]) -> AsyncIterator[Any]:
        """Run one shared operation that emits values (a watch, a log, pages), yielding them."""
        return self._driver.iterate(op, self._context.start())

    async def close(self) -> None:
        """Close this client's connections (and the ``kube_client()`` it made, if any); a client
        derived with ``with_namespace`` / ``with_timeout`` leaves that to its original."""
        if self._owner:
            await self._driver.close()
            self._kube.close()

    async def __aenter__(self) -> AsyncKontinueClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    # -- executions -----------------------------------------------------------------------------------

    async def spawn(
        self, function: str, args: Any = None, opts: SpawnOptions | Mapping[str, Any] | None = None
    ) -> Execution:
        """Start an execution of ``function`` with ``args`` merged over the Function's defaults.

        Validates everything first (function exists, arguments are a JSON object, names, size), so
        bad input never leaves a half-made execution. Raises ``AlreadyExistsError`` when
        ``opts.name`` is taken.
        """
        return await self._run(self._spawn(function, args, opts))

    spawn_execute = spawn

    async def get(self, name: str, *, namespace: str | None = None) -> Execution:
        """The execution ``name``; once archived, its root as recorded in the ArchivedExecution."""
        return await self._run(self._get(name, namespace=namespace))

    get_execution = get

    async def list(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> builtins.list[Execution]:
        """Executions matching ``opts``, archived ones included, newest first.

        ``namespace=""`` lists every namespace (Go's ``ListNamespaced(ctx, "", opts)``).
        """
        return await self._run(self._list(opts, namespace=namespace))

    def iter_executions(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> AsyncIterator[Execution]:
        """The executions ``list(opts)`` returns, read and yielded a page at a time, for
        namespaces too large to hold as one list (no Go twin: Go's ``List`` returns a slice).

        They come in the API server's order (live ones by namespace and name, then archived
        ones), not newest first; the iterator holds one page, never the list. A list that takes
        longer than etcd keeps its snapshot starts again and skips what it yielded.
        """
        return self._iterate(self._iter_executions(opts, namespace=namespace))

    async def get_child_executions(
        self, parent: Execution | str, *, namespace: str | None = None
    ) -> builtins.list[Execution]:
        """The direct children of ``parent`` (every attempt's), oldest first."""
        return await self._run(self._get_child_executions(parent, namespace=namespace))

    async def wait_for_execution(
        self, execution: Execution | str, *, namespace: str | None = None
    ) -> Execution:
        """Wait until the execution is Completed, Failed, Canceled or Skipped, and return it.

        The state returned is at least as new as the live object when the call was made, and a
        terminal phase counts only once the controller has observed the execution's current
        generation: given the object ``retry_execution`` returned, it waits for the retry's
        outcome, not the failure before it. Uses one read and one watch (resumed across server
        timeouts, 410 Gone and dropped connections); a Failed or Canceled outcome is returned, not
        raised (see ``parse_result``).
        """
        return await self._run(self._wait_for_execution(execution, namespace=namespace))

    async def cancel(
        self,
        execution: Execution | str,
        opts: CancelOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Execution:
        """Cancel a running execution (``InvalidStateError`` once it ended); returns it canceled."""
        return await self._run(self._cancel(execution, opts, namespace=namespace))

    async def skip(
        self,
        execution: Execution | str,
        opts: SkipOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Execution:
        """Skip a running execution; a waiting parent receives ``opts.result`` instead."""
        return await self._run(self._skip(execution, opts, namespace=namespace))

    async def retry_execution(
        self,
        execution: Execution | str,
        opts: RetryOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Execution:
        """Run a Failed or Canceled execution again (one more retry), optionally with a child policy.

        Returns the execution as written: still Failed or Canceled until the controller observes
        the new generation; ``wait_for_execution`` on it waits for the new attempt's end.
        """
        return await self._run(self._retry_execution(execution, opts, namespace=namespace))

    async def annotate(
        self,
        execution: Execution | str,
        annotations: Mapping[str, str | None],
        *,
        namespace: str | None = None,
    ) -> Execution:
        """Set annotations of a live execution (``None`` removes one); returns it as written.

        One merge patch of ``metadata.annotations`` (what a Go user does through ``KubeClient()``):
        only the keys given change, so writers of different keys never conflict.
        """
        return await self._run(self._annotate(execution, annotations, namespace=namespace))

    # -- suspensions ----------------------------------------------------------------------------------

    async def get_suspension(self, name: str, *, namespace: str | None = None) -> Suspension:
        """The suspension ``name``."""
        return await self._run(self._get_suspension(name, namespace=namespace))

    async def resume_suspension(self, suspension: Suspension | str, *, namespace: str | None = None) -> bool:
        """Resume a waiting suspension; ``False`` if it had been resumed already."""
        return await self._run(self._resume_suspension(suspension, namespace=namespace))

    async def resume_execution(
        self,
        execution: Execution | str,
        opts: ResumeOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> builtins.list[str]:
        """Resume the execution's waiting suspensions (``recursive``: its whole subtree's); their names."""
        return await self._run(self._resume_execution(execution, opts, namespace=namespace))

    # -- functions ------------------------------------------------------------------------------------

    async def function(self, name: str, *, namespace: str | None = None) -> Function:
        """The Function ``name`` (``NotFoundError`` when no worker registered it)."""
        return await self._run(self._function(name, namespace=namespace))

    async def functions(
        self, opts: ListFunctionsOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> builtins.list[Function]:
        """Functions by name; hidden ones only with ``include_hidden``."""
        return await self._run(self._list_functions(opts, namespace=namespace))

    # -- scheduled executions -------------------------------------------------------------------------

    async def get_scheduled_execution(self, name: str, *, namespace: str | None = None) -> ScheduledExecution:
        """The ScheduledExecution ``name``."""
        return await self._run(self._get_scheduled_execution(name, namespace=namespace))

    async def list_scheduled_executions(
        self, opts: ScheduleListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> builtins.list[ScheduledExecution]:
        """ScheduledExecutions matching ``opts``, by name."""
        return await self._run(self._list_scheduled_executions(opts, namespace=namespace))

    async def suspend_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """Stop a schedule from creating executions (idempotent)."""
        return await self._run(self._suspend_scheduled_execution(schedule, namespace=namespace))

    async def resume_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """Let a suspended schedule create executions again (idempotent)."""
        return await self._run(self._resume_scheduled_execution(schedule, namespace=namespace))

    # -- jobs and trees -------------------------------------------------------------------------------

    async def get_job(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """The batch/v1 Job ``name`` as JSON."""
        return await self._run(self._get_job(name, namespace=namespace))

    async def get_tree(self, execution: Execution | str, *, namespace: str | None = None) -> ExecutionTree:
        """The execution with its child executions, suspensions, jobs and previous attempts.

        Costs the same few requests for any tree size; falls back to the ArchivedExecution.
        """
        return await self._run(self._get_tree(execution, namespace=namespace))

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
        options = PodLogOptions.coerce(opts)
        lines = self._iterate(job_logs(self._ns(namespace), job, options))
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
        items = self._iterate(op)
        await anext(items)  # the "opened" marker: the watch is established
        return AsyncChangeStream(items)

    def watch_tree(self, execution: Execution | str, *, namespace: str | None = None) -> AsyncTreeWatcher:
        """Follow the execution's tree: ``updates()`` yields a full tree after every change,
        ``errors()`` the problems met on the way, ``stop()`` ends it (Go's ``WatchTree``)."""
        op = watch_tree(self._ns(namespace, execution), self._name(execution))
        return AsyncTreeWatcher(self._iterate(op))


class AsyncLogStream:
    """Log lines as they come: ``async for line in stream`` (``str``), or ``await read()``."""

    def __init__(self, lines: AsyncIterator[Any]) -> None:
        self._lines = lines

    async def __aiter__(self) -> AsyncIterator[str]:
        async for line in self._lines:
            yield log_text(line)

    async def read(self) -> bytes:
        """Everything until the stream ends (for ``follow``, until the container stops)."""
        return b"".join([log_bytes(line) async for line in self._lines])

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
