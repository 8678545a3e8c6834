"""``KontinueClient``: the blocking kontinue client, on the ``kubernetes`` package."""

from __future__ import annotations

import functools
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

from .connection import ConnectionSettings, sync_api_client
from .context import CallContext
from .errors import KontinueError
from .functions import DEFAULT_FUNCTION_CACHE_TTL, FunctionCache
from .jobs import PodLogOptions, job_logs
from .models import Execution
from .operations import ClientBase
from .options import Options
from .protocol import Op
from .sync_driver import SyncDriver
from .tree import ExecutionTree
from .trees import TreeUpdate, TreeWatchError, watch_tree
from .watch import ChangeStream, R, watch_objects

T = TypeVar("T")


class KontinueClient(ClientBase):
    """The kontinue client (Go's ``client.Client``), blocking and thread-safe.

    Build it from a kubeconfig (``KontinueClient.connect(...)``, ``new()``,
    ``new_with_options(...)``) or around an existing ``kubernetes.client.ApiClient``
    (``from_kube_client``). Every Go method has a snake_case twin; the ``...Namespaced`` variants
    are the ``namespace=`` keyword.
    """

    _driver: SyncDriver

    def __init__(self, api_client: Any, namespace: str, **kwargs: Any) -> None:
        super().__init__(api_client, namespace, **kwargs)
        self._driver = SyncDriver(api_client, self._limiter, self._headers)

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
            sync_api_client(settings),
            namespace or settings.default_namespace(),
            options=options,
            function_cache=FunctionCache(function_cache_ttl),
            owns_api_client=True,
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
        """Wrap an existing ``kubernetes.client.ApiClient`` (Go's ``NewFromKubeClient``); the caller
        keeps ownership of it."""
        return cls(api_client, namespace, **kwargs)

    def _bind(self, build: Callable[..., Op[T]]) -> Callable[..., T]:
        @functools.wraps(build)
        def bound(*args: Any, **kwargs: Any) -> T:
            return self._driver.run(build(self, *args, **kwargs), self._context.start())

        return bound

    def close(self) -> None:
        """Close the connection pool (only when this client created it)."""
        if self._owns_api_client:
            self._api_client.close()

    def __enter__(self) -> KontinueClient:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

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
        options = opts if isinstance(opts, PodLogOptions) else PodLogOptions(**(opts or {}))
        lines = self._driver.iterate(job_logs(self._ns(namespace), job, options), self._context.start())
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
        return ChangeStream(self._driver.iterate(op, self._context.start()))

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
            yield line.decode("utf-8", errors="replace")

    def read(self) -> bytes:
        """Everything until the stream ends (for ``follow``, until the container stops)."""
        return b"".join(line + b"\n" for line in self._lines)

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

    def __init__(self, driver: SyncDriver, op: Op[None], context: CallContext) -> None:
        self._cancel = threading.Event()
        limits = CallContext(timeout=context.timeout, deadline=context.deadline, cancel=self._cancel)
        self._updates: queue.Queue[Any] = queue.Queue()
        self._errors: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(
            target=self._run, args=(driver, op, limits), name="kontinue-watch-tree", daemon=True
        )
        self._thread.start()

    def _run(self, driver: SyncDriver, op: Op[None], limits: CallContext) -> None:
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
