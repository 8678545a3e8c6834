"""The client API, declared once for both clients.

Each public method is an :class:`operation`: a function of the client that returns a sans-IO
operation. Read through a :class:`~.sync_client.KontinueClient` it is a blocking method; through an
:class:`~.async_client.AsyncKontinueClient` a coroutine function. Same name, same signature, same
docstring, same behaviour, because it is the same code.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Coroutine, Mapping
from typing import TYPE_CHECKING, Any, Concatenate, Generic, ParamSpec, TypeVar, overload

from . import executions, functions, schedules, suspensions
from . import jobs as job_ops
from .context import BACKGROUND, CallContext
from .functions import FunctionCache
from .models import Execution, Function, ScheduledExecution, Suspension
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
from .ratelimit import TokenBucket
from .results import parse_result
from .tree import ExecutionTree
from .trees import get_tree
from .validation import validate_namespace
from .wire import impersonation_headers

if TYPE_CHECKING:
    from typing_extensions import Self

P = ParamSpec("P")
T = TypeVar("T")


class AwaitingClient:
    """Marks the async client, whose operations are coroutine functions.

    The descriptor's overloads tell the two clients apart by this base rather than by importing
    the client classes, which import this module (no cycle, not even a type-only one).
    """


class operation(Generic[P, T]):
    """Declares a client method once: blocking on ``KontinueClient``, awaitable on the async one."""

    def __init__(self, build: Callable[Concatenate[Any, P], Op[T]]) -> None:
        self.build = build
        self.__name__ = build.__name__
        self.__doc__ = build.__doc__
        self.__wrapped__ = build

    @overload
    def __get__(self, client: None, owner: type[Any]) -> operation[P, T]: ...
    @overload
    def __get__(self, client: AwaitingClient, owner: type[Any]) -> Callable[P, Coroutine[Any, Any, T]]: ...
    @overload
    def __get__(self, client: ClientBase, owner: type[Any]) -> Callable[P, T]: ...
    def __get__(self, client: ClientBase | AwaitingClient | None, owner: type[Any]) -> Any:
        if client is None:
            return self
        assert isinstance(client, ClientBase), "operations are read through a client"
        return client._bind(self.build)


class ClientBase:
    """What both clients share: connection, default namespace, limits, and the operations."""

    def __init__(
        self,
        api_client: Any,
        namespace: str,
        *,
        options: Options | Mapping[str, Any] | None = None,
        context: CallContext = BACKGROUND,
        function_cache: FunctionCache | None = None,
        limiter: TokenBucket | None = None,
        owns_api_client: bool = False,
    ) -> None:
        self._api_client = api_client
        self._namespace = validate_namespace(namespace)
        self._options = Options.coerce(options)
        self._context = context
        self._functions = function_cache or FunctionCache()
        self._limiter = limiter or TokenBucket(self._options.qps, self._options.burst)
        self._owns_api_client = owns_api_client
        self._headers = impersonation_headers(self._options.impersonate)
        self._driver: Any = None  # set by the subclass: the sync or async driver

    # -- the Go client's accessors ------------------------------------------------------------------

    @property
    def namespace(self) -> str:
        """The default namespace of every call that does not name one."""
        return self._namespace

    @property
    def options(self) -> Options:
        """Impersonation and rate limits of this client."""
        return self._options

    def context(self) -> CallContext:
        """The deadline and cancellation every call of this client runs under."""
        return self._context

    @property
    def requests_sent(self) -> int:
        """How many requests this client (and those derived from it) sent: calls and watch opens."""
        return int(self._driver.requests)

    @property
    def requests_by_verb(self) -> dict[str, int]:
        """Requests sent so far by verb (get, list, watch, create, patch)."""
        return dict(self._driver.requests_by_verb)

    def kube_client(self) -> Any:
        """The underlying Kubernetes ``ApiClient`` (``kubernetes`` or ``kubernetes_asyncio``)."""
        return self._api_client

    def _derive(self, *, namespace: str | None = None, context: CallContext | None = None) -> Self:
        derived = type(self).__new__(type(self))
        derived.__dict__.update(self.__dict__)
        derived._owns_api_client = False  # the original closes the connection
        if namespace is not None:
            derived._namespace = validate_namespace(namespace)
        if context is not None:
            derived._context = context
        return derived

    def with_namespace(self, namespace: str) -> Self:
        """A client with another default namespace (sharing connection, limits and caches)."""
        return self._derive(namespace=namespace)

    def with_context(self, context: CallContext) -> Self:
        """A client whose calls run under ``context`` (deadline, cancellation), like Go's WithContext."""
        return self._derive(context=context)

    def with_timeout(self, seconds: float) -> Self:
        """A client whose every call must finish within ``seconds``."""
        return self._derive(
            context=CallContext(timeout=seconds, deadline=self._context.deadline, cancel=self._context.cancel)
        )

    def _bind(self, build: Callable[..., Op[T]]) -> Callable[..., Any]:
        raise NotImplementedError

    def _ns(self, namespace: str | None, obj: Any = None) -> str:
        if namespace:
            return namespace
        if obj is not None and not isinstance(obj, str) and obj.namespace:
            return str(obj.namespace)
        return self._namespace

    @staticmethod
    def _name(obj: Any) -> str:
        return obj if isinstance(obj, str) else str(obj.name)

    # -- executions ---------------------------------------------------------------------------------

    parse_result = staticmethod(parse_result)

    @operation
    def spawn(
        self, function: str, args: Any = None, opts: SpawnOptions | Mapping[str, Any] | None = None
    ) -> Op[Execution]:
        """Start an execution of ``function`` with ``args`` merged over the Function's defaults.

        Validates everything first (function exists, arguments are a JSON object, names, size), so
        bad input never leaves a half-made execution. Raises ``AlreadyExistsError`` when
        ``opts.name`` is taken.
        """
        return executions.spawn(self._functions, self._namespace, function, args, SpawnOptions.coerce(opts))

    spawn_execute = spawn

    @operation
    def get(self, name: str, *, namespace: str | None = None) -> Op[Execution]:
        """The execution ``name``; once archived, its root as recorded in the ArchivedExecution."""
        return executions.get_execution(self._ns(namespace), name)

    get_execution = get

    @operation
    def list(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[list[Execution]]:
        """Executions matching ``opts``, archived ones included, newest first."""
        return executions.list_executions(self._ns(namespace), ListOptions.coerce(opts))

    @operation
    def get_child_executions(
        self, parent: Execution | str, *, namespace: str | None = None
    ) -> Op[builtins.list[Execution]]:
        """The direct children of ``parent`` (every attempt's), oldest first."""
        return executions.child_executions(self._ns(namespace, parent), self._name(parent))

    @operation
    def wait_for_execution(
        self, execution: Execution | str, *, namespace: str | None = None
    ) -> Op[Execution]:
        """Block until the execution is Completed, Failed, Canceled or Skipped, and return it.

        Uses one watch (resumed across server timeouts, 410 Gone and dropped connections); a Failed
        or Canceled outcome is returned, not raised (see ``parse_result``).
        """
        known = execution if isinstance(execution, Execution) else None
        return executions.wait_for_execution(self._ns(namespace, execution), self._name(execution), known)

    @operation
    def cancel(
        self,
        execution: Execution | str,
        opts: CancelOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[Execution | None]:
        """Cancel a running execution (``InvalidStateError`` once it ended); returns it canceled."""
        return executions.cancel(
            self._ns(namespace, execution), self._name(execution), CancelOptions.coerce(opts)
        )

    @operation
    def skip(
        self,
        execution: Execution | str,
        opts: SkipOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[Execution | None]:
        """Skip a running execution; a waiting parent receives ``opts.result`` instead."""
        return executions.skip(
            self._ns(namespace, execution), self._name(execution), SkipOptions.coerce(opts)
        )

    @operation
    def retry_execution(
        self,
        execution: Execution | str,
        opts: RetryOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[Execution | None]:
        """Run a Failed or Canceled execution again (one more retry), optionally with a child policy."""
        return executions.retry(
            self._ns(namespace, execution), self._name(execution), RetryOptions.coerce(opts)
        )

    # -- suspensions --------------------------------------------------------------------------------

    @operation
    def get_suspension(self, name: str, *, namespace: str | None = None) -> Op[Suspension]:
        """The suspension ``name``."""
        return suspensions.get_suspension(self._ns(namespace), name)

    @operation
    def resume_suspension(self, suspension: Suspension | str, *, namespace: str | None = None) -> Op[bool]:
        """Resume a waiting suspension; ``False`` if it had been resumed already."""
        return suspensions.resume_suspension(self._ns(namespace, suspension), self._name(suspension))

    @operation
    def resume_execution(
        self,
        execution: Execution | str,
        opts: ResumeOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[builtins.list[str]]:
        """Resume the execution's waiting suspensions (``recursive``: its whole subtree's); their names."""
        options = ResumeOptions.coerce(opts)
        return suspensions.resume_execution(
            self._ns(namespace, execution), self._name(execution), options.recursive
        )

    # -- functions ----------------------------------------------------------------------------------

    @operation
    def function(self, name: str, *, namespace: str | None = None) -> Op[Function]:
        """The Function ``name`` (``NotFoundError`` when no worker registered it)."""
        return functions.function(self._ns(namespace), name)

    @operation
    def functions(
        self, opts: ListFunctionsOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[builtins.list[Function]]:
        """Functions by name; hidden ones only with ``include_hidden``."""
        return functions.functions(self._ns(namespace), ListFunctionsOptions.coerce(opts))

    # -- scheduled executions -----------------------------------------------------------------------

    @operation
    def get_scheduled_execution(self, name: str, *, namespace: str | None = None) -> Op[ScheduledExecution]:
        """The ScheduledExecution ``name``."""
        return schedules.get_scheduled_execution(self._ns(namespace), name)

    @operation
    def list_scheduled_executions(
        self, opts: ScheduleListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[builtins.list[ScheduledExecution]]:
        """ScheduledExecutions matching ``opts``, by name."""
        return schedules.list_scheduled_executions(self._ns(namespace), ScheduleListOptions.coerce(opts))

    @operation
    def suspend_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> Op[ScheduledExecution]:
        """Stop a schedule from creating executions (idempotent)."""
        return schedules.set_schedule_suspended(self._ns(namespace, schedule), self._name(schedule), True)

    @operation
    def resume_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> Op[ScheduledExecution]:
        """Let a suspended schedule create executions again (idempotent)."""
        return schedules.set_schedule_suspended(self._ns(namespace, schedule), self._name(schedule), False)

    # -- jobs and trees -----------------------------------------------------------------------------

    @operation
    def get_job(self, name: str, *, namespace: str | None = None) -> Op[dict[str, Any]]:
        """The batch/v1 Job ``name`` as JSON."""
        return job_ops.get_job(self._ns(namespace), name)

    @operation
    def get_tree(self, execution: Execution | str, *, namespace: str | None = None) -> Op[ExecutionTree]:
        """The execution with its child executions, suspensions, jobs and previous attempts.

        Costs the same few requests for any tree size; falls back to the ArchivedExecution.
        """
        return get_tree(self._ns(namespace, execution), self._name(execution))
