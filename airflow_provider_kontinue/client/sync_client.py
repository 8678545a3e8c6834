"""``KontinueClient``: the blocking kontinue client, on ``httpx.Client``."""

from __future__ import annotations

import builtins
import queue
import threading
from collections.abc import Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .connection import Access, ConnectionSettings, access_from_configuration, load_access
from .context import CallContext
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
from .transport import SyncTransport
from .tree import ExecutionTree
from .trees import TreeUpdate, TreeWatchError, watch_tree
from .watch import ChangeStream, R, watch_objects

T = TypeVar("T")


class KontinueClient(ClientBase):
    """The kontinue client (Go's ``client.Client``), blocking and thread-safe.

    Build it from a kubeconfig (``KontinueClient.connect(...)``, ``new()``,
    ``new_with_options(...)``) or from the configuration of an existing
    ``kubernetes.client.ApiClient`` (``from_kube_client``). Every Go method has a snake_case twin;
    the ``...Namespaced`` variants are the ``namespace=`` keyword. Close it (or use it as a context
    manager) to close its connections.
    """

    _driver: SyncTransport

    def __init__(self, access: Access, namespace: str, **kwargs: Any) -> None:
        super().__init__(access, namespace, **kwargs)
        self._driver = SyncTransport(self._wire)

    @classmethod
    def connect(
        cls,
        kubeconfig: str | Path | Mapping[str, Any] | None = None,
        *,
        context: str | None = None,
        namespace: str | None = None,
        in_cluster: bool = False,
        verify_ssl: bool = True,
        options: Options | Mapping[str, Any] | None = None,
        function_cache_ttl: float = DEFAULT_FUNCTION_CACHE_TTL,
    ) -> KontinueClient:
        """Connect with a kubeconfig (path or dict; default ``$KUBECONFIG``/``~/.kube/config``) or
        in-cluster; the default namespace is the context's unless ``namespace`` is given."""
        settings = ConnectionSettings(kubeconfig, context, in_cluster, verify_ssl)
        return cls(
            load_access(settings),
            namespace or settings.default_namespace(),
            options=options,
            function_cache=FunctionCache(function_cache_ttl),
        )

    @classmethod
    def new(cls) -> KontinueClient:
        """The default kubeconfig and its current context's namespace (Go's ``New``)."""
        return cls.connect()

    @classmethod
    def new_with_options(cls, options: Options | Mapping[str, Any]) -> KontinueClient:
        """Like ``new`` with impersonation and rate limits (Go's ``NewWithOptions``)."""
        return cls.connect(options=options)

    @classmethod
    def from_kube_client(cls, api_client: Any, namespace: str, **kwargs: Any) -> KontinueClient:
        """A client for the cluster and user of an existing ``kubernetes.client.ApiClient`` (Go's
        ``NewFromKubeClient``): its configuration's host, TLS files and API key (renewed through its
        refresh hook). ``kube_client()`` returns it; the caller keeps ownership of it."""
        return cls(
            access_from_configuration(api_client.configuration), namespace, kube_client=api_client, **kwargs
        )

    def _run(self, op: Op[T]) -> T:
        """Run one shared operation under this client's deadline and cancellation."""
        return self._driver.run(op, self._context.start())

    def _iterate(self, op: Op[Any]) -> Iterator[Any]:
        """Run one shared operation that emits values (a watch, a log), yielding them."""
        return self._driver.iterate(op, self._context.start())

    def close(self) -> None:
        """Close this client's connections (and the ``kube_client()`` it made, if any); a client
        derived with ``with_namespace`` / ``with_timeout`` leaves that to its original."""
        if self._owner:
            self._driver.close()
            self._kube.close()

    def __enter__(self) -> KontinueClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    # -- executions -----------------------------------------------------------------------------------

    def spawn(
        self, function: str, args: Any = None, opts: SpawnOptions | Mapping[str, Any] | None = None
    ) -> Execution:
        """Start an execution of ``function`` with ``args`` merged over the Function's defaults.

        Validates everything first (function exists, arguments are a JSON object, names, size), so
        bad input never leaves a half-made execution. Raises ``AlreadyExistsError`` when
        ``opts.name`` is taken.
        """
        return self._run(self._spawn(function, args, opts))

    spawn_execute = spawn

    def get(self, name: str, *, namespace: str | None = None) -> Execution:
        """The execution ``name``; once archived, its root as recorded in the ArchivedExecution."""
        return self._run(self._get(name, namespace=namespace))

    get_execution = get

    def list(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> builtins.list[Execution]:
        """Executions matching ``opts``, archived ones included, newest first.

        ``namespace=""`` lists every namespace (Go's ``ListNamespaced(ctx, "", opts)``).
        """
        return self._run(self._list(opts, namespace=namespace))

    def iter_executions(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Iterator[Execution]:
        """The executions ``list(opts)`` returns, read and yielded a page at a time, for
        namespaces too large to hold as one list (no Go twin: Go's ``List`` returns a slice).

        They come in the API server's order (live ones by namespace and name, then archived
        ones), not newest first; the iterator holds one page, never the list. A list that takes
        longer than etcd keeps its snapshot starts again and skips what it yielded.
        """
        return self._iterate(self._iter_executions(opts, namespace=namespace))

    def get_child_executions(
        self, parent: Execution | str, *, namespace: str | None = None
    ) -> builtins.list[Execution]:
        """The direct children of ``parent`` (every attempt's), oldest first."""
        return self._run(self._get_child_executions(parent, namespace=namespace))

    def wait_for_execution(self, execution: Execution | str, *, namespace: str | None = None) -> Execution:
        """Wait until the execution is Completed, Failed, Canceled or Skipped, and return it.

        The state returned is at least as new as the live object when the call was made, and a
        terminal phase counts only once the controller has observed the execution's current
        generation: given the object ``retry_execution`` returned, it waits for the retry's
        outcome, not the failure before it. Uses one read and one watch (resumed across server
        timeouts, 410 Gone and dropped connections); a Failed or Canceled outcome is returned, not
        raised (see ``parse_result``).
        """
        return self._run(self._wait_for_execution(execution, namespace=namespace))

    def cancel(
        self,
        execution: Execution | str,
        opts: CancelOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Execution:
        """Cancel a running execution (``InvalidStateError`` once it ended); returns it canceled."""
        return self._run(self._cancel(execution, opts, namespace=namespace))

    def skip(
        self,
        execution: Execution | str,
        opts: SkipOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Execution:
        """Skip a running execution; a waiting parent receives ``opts.result`` instead."""
        return self._run(self._skip(execution, opts, namespace=namespace))

    def retry_execution(
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
        return self._run(self._retry_execution(execution, opts, namespace=namespace))

    def annotate(
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
        return self._run(self._annotate(execution, annotations, namespace=namespace))

    # -- suspensions ----------------------------------------------------------------------------------

    def get_suspension(self, name: str, *, namespace: str | None = None) -> Suspension:
        """The suspension ``name``."""
        return self._run(self._get_suspension(name, namespace=namespace))

    def resume_suspension(self, suspension: Suspension | str, *, namespace: str | None = None) -> bool:
        """Resume a waiting suspension; ``False`` if it had been resumed already."""
        return self._run(self._resume_suspension(suspension, namespace=namespace))

    def resume_execution(
        self,
        execution: Execution | str,
        opts: ResumeOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> builtins.list[str]:
        """Resume the execution's waiting suspensions (``recursive``: its whole subtree's); their names."""
        return self._run(self._resume_execution(execution, opts, namespace=namespace))

    # -- functions ------------------------------------------------------------------------------------

    def function(self, name: str, *, namespace: str | None = None) -> Function:
        """The Function ``name`` (``NotFoundError`` when no worker registered it)."""
        return self._run(self._function(name, namespace=namespace))

    def functions(
        self, opts: ListFunctionsOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> builtins.list[Function]:
        """Functions by name; hidden ones only with ``include_hidden``."""
        return self._run(self._list_functions(opts, namespace=namespace))

    # -- scheduled executions -------------------------------------------------------------------------

    def get_scheduled_execution(self, name: str, *, namespace: str | None = None) -> ScheduledExecution:
        """The ScheduledExecution ``name``."""
        return self._run(self._get_scheduled_execution(name, namespace=namespace))

    def list_scheduled_executions(
        self, opts: ScheduleListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> builtins.list[ScheduledExecution]:
        """ScheduledExecutions matching ``opts``, by name."""
        return self._run(self._list_scheduled_executions(opts, namespace=namespace))

    def suspend_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """Stop a schedule from creating executions (idempotent)."""
        return self._run(self._suspend_scheduled_execution(schedule, namespace=namespace))

    def resume_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> ScheduledExecution:
        """Let a suspended schedule create executions again (idempotent)."""
        return self._run(self._resume_scheduled_execution(schedule, namespace=namespace))

    # -- jobs and trees -------------------------------------------------------------------------------

    def get_job(self, name: str, *, namespace: str | None = None) -> dict[str, Any]:
        """The batch/v1 Job ``name`` as JSON."""
        return self._run(self._get_job(name, namespace=namespace))

    def get_tree(self, execution: Execution | str, *, namespace: str | None = None) -> ExecutionTree:
        """The execution with its child executions, suspensions, jobs and previous attempts.

        Costs the same few requests for any tree size; falls back to the ArchivedExecution.
        """
        return self._run(self._get_tree(execution, namespace=namespace))

    # -- streams --------------------------------------------------------------------------------------

    def get_job_logs(
        self,
        job: str,
        opts: PodLogOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> LogStream:
        """The logs of the Job's first pod, as a stream of lines (``follow=True`` keeps it open).

        Errors (no pods, forbidden) are raised here, not on the first read. Close the stream, or use
        it as a context manager.
        """
        options = PodLogOptions.coerce(opts)
        lines = self._iterate(job_logs(self._ns(namespace), job, options))
        return LogStream(lines)

    def watch(
        self,
        model: type[R],
        *,
        label_selector: str = "",
        field_selector: str = "",
        namespace: str | None = None,
    ) -> ChangeStream[R]:
        """Every change of ``model`` (Execution, Suspension or ScheduledExecution) in the namespace
        from now on, over one resumable watch (Go: ``KubeClient().Watch``). After a 410 Gone the
        stream hands over a fresh list as one ``RELISTED`` change. Errors (forbidden, unknown kind)
        are raised here; close the stream, or use it as a context manager."""
        op = watch_objects(model, self._ns(namespace), label_selector, field_selector)
        return ChangeStream(self._iterate(op))

    def watch_tree(self, execution: Execution | str, *, namespace: str | None = None) -> TreeWatcher:
        """Follow the execution's tree: ``updates()`` yields a full tree after every change,
        ``errors()`` the problems met on the way, ``stop()`` ends it (Go's ``WatchTree``)."""
        op = watch_tree(self._ns(namespace, execution), self._name(execution))
        return TreeWatcher(self._driver, op, self._context)


class LogStream:
    """Log lines as they come (Go's ``io.ReadCloser``): iterate for ``str`` lines, or ``read()``."""

    def __init__(self, lines: Iterator[Any]) -> None:
        self._lines = lines
        next(self._lines)  # the "opened" marker: errors surface at the call, not at the first read

    def __iter__(self) -> Iterator[str]:
        for line in self._lines:
            yield log_text(line)

    def read(self) -> bytes:
        """Everything until the stream ends (for ``follow``, until the container stops)."""
        return b"".join(log_bytes(line) for line in self._lines)

    def close(self) -> None:
        close = getattr(self._lines, "close", None)
        if close is not None:
            close()

    def __enter__(self) -> LogStream:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_DONE = object()


class TreeWatcher:
    """A running ``watch_tree`` (Go's ``TreeWatcher``), fed by a background thread."""

    def __init__(self, driver: SyncTransport, op: Op[None], context: CallContext) -> None:
        self._cancel = threading.Event()
        limits = CallContext(timeout=context.timeout, deadline=context.deadline, cancel=self._cancel)
        self._updates: queue.Queue[Any] = queue.Queue()
        self._errors: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, args=(driver, op, limits), name="kontinue-watch-tree", daemon=True
        )
        self._thread.start()

    def _run(self, driver: SyncTransport, op: Op[None], limits: CallContext) -> None:
        try:
            for item in driver.iterate(op, limits.start()):
                if isinstance(item, TreeUpdate):
                    self._updates.put(item.tree)
                elif isinstance(item, TreeWatchError):
                    self._errors.put(item.error)
        except KontinueError as err:
            if not self._cancel.is_set():
                self._errors.put(err)
        finally:
            self._updates.put(_DONE)
            self._errors.put(_DONE)

    @staticmethod
    def _drain(source: queue.Queue[Any], timeout: float | None) -> Iterator[Any]:
        while True:
            try:
                item = source.get(timeout=timeout)
            except queue.Empty:
                return
            if item is _DONE:
                source.put(_DONE)
                return
            yield item

    def updates(self, timeout: float | None = None) -> Iterator[ExecutionTree]:
        """Trees as they change; ends after ``stop()``, when the tree is archived, or after
        ``timeout`` seconds without an update."""
        return self._drain(self._updates, timeout)

    def errors(self, timeout: float | None = None) -> Iterator[KontinueError]:
        """Problems met while watching (the watch goes on after each)."""
        return self._drain(self._errors, timeout)

    def stop(self) -> None:
        """Stop watching and close both channels."""
        self._cancel.set()
        self._thread.join(timeout=10)

    def __iter__(self) -> Iterator[ExecutionTree]:
        return self.updates()

    def __enter__(self) -> TreeWatcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
