"""What both clients share: their state, the Go client's accessors, and every operation.

:class:`ClientBase` builds each API call once, as a sans-IO operation (``_spawn``, ``_get``,
``_wait_for_execution`` ...). :class:`~.sync_client.KontinueClient` and
:class:`~.async_client.AsyncKontinueClient` declare each Go method explicitly, with its real
signature, return type and docstring, as one line that runs that shared operation: blocking on
one, awaited on the other. So ``help()``, IDEs, mypy and pyright see ordinary methods, while the
behaviour (validation, retries on conflict, watch resumes) is the same code for both.
"""

from __future__ import annotations

import builtins
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from . import executions, functions, schedules, suspensions
from . import jobs as job_ops
from .connection import Access
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
from .transport import Wire
from .tree import ExecutionTree
from .trees import get_tree
from .validation import validate_namespace
from .wire import impersonation_headers

if TYPE_CHECKING:
    from typing_extensions import Self


class _KubeClient:
    """The ``kubernetes`` ApiClient of a client and those derived from it: given, or made lazily."""

    def __init__(self, given: Any) -> None:
        self.api_client = given
        self.owned = False

    def get(self, access: Access) -> Any:
        if self.api_client is None:
            from kubernetes.client import ApiClient

            self.api_client, self.owned = ApiClient(access.configuration), True
        return self.api_client

    def close(self) -> None:
        """Close the ApiClient if this client made it (never one it was given)."""
        if self.owned:
            self.api_client.close()
            self.api_client, self.owned = None, False


class ClientBase:
    """What both clients share: connection, default namespace, limits, and the operations."""

    def __init__(
        self,
        access: Access,
        namespace: str,
        *,
        options: Options | Mapping[str, Any] | None = None,
        context: CallContext = BACKGROUND,
        function_cache: FunctionCache | None = None,
        limiter: TokenBucket | None = None,
        kube_client: Any = None,
    ) -> None:
        self._access = access
        self._namespace = validate_namespace(namespace)
        self._options = Options.coerce(options)
        self._context = context
        self._functions = function_cache or FunctionCache()
        self._limiter = limiter or TokenBucket(self._options.qps, self._options.burst)
        self._owner = True
        """Whether ``close`` closes the connections (a derived client leaves that to its original)."""
        self._kube = _KubeClient(kube_client)
        self._headers = impersonation_headers(self._options.impersonate)
        self._wire = Wire(access, self._limiter, self._headers)
        self._driver: Any = None  # set by the subclass: the sync or async transport

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
        return self._wire.requests

    @property
    def requests_by_verb(self) -> dict[str, int]:
        """Requests sent so far by verb (get, list, watch, create, patch)."""
        return dict(self._wire.requests_by_verb)

    def kube_client(self) -> Any:
        """A ``kubernetes.client.ApiClient`` for the same cluster and user, for calls this client
        does not make (Go's ``KubeClient()``): the one given to ``from_kube_client``, else one made
        on first use from the loaded configuration (its token follows this client's renewals) and
        closed with this client."""
        return self._kube.get(self._access)

    def _derive(self, *, namespace: str | None = None, context: CallContext | None = None) -> Self:
        derived = type(self).__new__(type(self))
        derived.__dict__.update(self.__dict__)
        derived._owner = False  # the original closes the connections
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

    def _spawn(
        self, function: str, args: Any = None, opts: SpawnOptions | Mapping[str, Any] | None = None
    ) -> Op[Execution]:
        return executions.spawn(self._functions, self._namespace, function, args, SpawnOptions.coerce(opts))

    def _get(self, name: str, *, namespace: str | None = None) -> Op[Execution]:
        return executions.get_execution(self._ns(namespace), name)

    def _list(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[list[Execution]]:
        return executions.list_executions(self._ns(namespace), ListOptions.coerce(opts))

    def _iter_executions(
        self, opts: ListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[None]:
        return executions.iter_executions(self._ns(namespace), ListOptions.coerce(opts))

    def _get_child_executions(
        self, parent: Execution | str, *, namespace: str | None = None
    ) -> Op[builtins.list[Execution]]:
        return executions.child_executions(self._ns(namespace, parent), self._name(parent))

    def _wait_for_execution(
        self, execution: Execution | str, *, namespace: str | None = None
    ) -> Op[Execution]:
        return executions.wait_for_execution(self._ns(namespace, execution), self._name(execution))

    def _cancel(
        self,
        execution: Execution | str,
        opts: CancelOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[Execution]:
        return executions.cancel(
            self._ns(namespace, execution), self._name(execution), CancelOptions.coerce(opts)
        )

    def _skip(
        self,
        execution: Execution | str,
        opts: SkipOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[Execution]:
        return executions.skip(
            self._ns(namespace, execution), self._name(execution), SkipOptions.coerce(opts)
        )

    def _retry_execution(
        self,
        execution: Execution | str,
        opts: RetryOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[Execution]:
        return executions.retry(
            self._ns(namespace, execution), self._name(execution), RetryOptions.coerce(opts)
        )

    def _annotate(
        self,
        execution: Execution | str,
        annotations: Mapping[str, str | None],
        *,
        namespace: str | None = None,
    ) -> Op[Execution]:
        return executions.annotate(self._ns(namespace, execution), self._name(execution), annotations)

    # -- suspensions --------------------------------------------------------------------------------

    def _get_suspension(self, name: str, *, namespace: str | None = None) -> Op[Suspension]:
        return suspensions.get_suspension(self._ns(namespace), name)

    def _resume_suspension(self, suspension: Suspension | str, *, namespace: str | None = None) -> Op[bool]:
        return suspensions.resume_suspension(self._ns(namespace, suspension), self._name(suspension))

    def _resume_execution(
        self,
        execution: Execution | str,
        opts: ResumeOptions | Mapping[str, Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> Op[builtins.list[str]]:
        options = ResumeOptions.coerce(opts)
        return suspensions.resume_execution(
            self._ns(namespace, execution), self._name(execution), options.recursive
        )

    # -- functions ----------------------------------------------------------------------------------

    def _function(self, name: str, *, namespace: str | None = None) -> Op[Function]:
        return functions.function(self._ns(namespace), name)

    def _list_functions(
        self, opts: ListFunctionsOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[builtins.list[Function]]:
        return functions.functions(self._ns(namespace), ListFunctionsOptions.coerce(opts))

    # -- scheduled executions -----------------------------------------------------------------------

    def _get_scheduled_execution(self, name: str, *, namespace: str | None = None) -> Op[ScheduledExecution]:
        return schedules.get_scheduled_execution(self._ns(namespace), name)

    def _list_scheduled_executions(
        self, opts: ScheduleListOptions | Mapping[str, Any] | None = None, *, namespace: str | None = None
    ) -> Op[builtins.list[ScheduledExecution]]:
        return schedules.list_scheduled_executions(self._ns(namespace), ScheduleListOptions.coerce(opts))

    def _suspend_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> Op[ScheduledExecution]:
        return schedules.set_schedule_suspended(self._ns(namespace, schedule), self._name(schedule), True)

    def _resume_scheduled_execution(
        self, schedule: ScheduledExecution | str, *, namespace: str | None = None
    ) -> Op[ScheduledExecution]:
        return schedules.set_schedule_suspended(self._ns(namespace, schedule), self._name(schedule), False)

    # -- jobs and trees -----------------------------------------------------------------------------

    def _get_job(self, name: str, *, namespace: str | None = None) -> Op[dict[str, Any]]:
        return job_ops.get_job(self._ns(namespace), name)

    def _get_tree(self, execution: Execution | str, *, namespace: str | None = None) -> Op[ExecutionTree]:
        return get_tree(self._ns(namespace, execution), self._name(execution))
