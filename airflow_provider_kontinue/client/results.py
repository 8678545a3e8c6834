"""``parse_result``: an execution's result as the Python type the caller wants (Go's ParseResult[T]),
and the errors for an execution that ended without one (Failed, Canceled)."""

from __future__ import annotations

from typing import Any, TypeVar, overload

import pydantic

from .enums import ExecutionPhase
from .errors import InvalidStateError, KontinueError, ResultDecodeError
from .models import Execution

T = TypeVar("T")


class ExecutionFailedError(KontinueError):
    """``parse_result`` on an execution that ended ``Failed``; the message is its status message.

    Attributes:
        execution: The failed Execution, for its phase, reason, attempts and timestamps.
    """

    category = "execution failed"
    show_status = False

    def __init__(
        self,
        message: str = "",
        *,
        execution: Execution | None = None,
        namespace: str | None = None,
        name: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.execution = execution
        super().__init__(message, resource="executions", namespace=namespace, name=name, reason=reason)


class ExecutionCanceledError(KontinueError):
    """``parse_result`` on an execution that ended ``Canceled``; the message is its status message.

    Attributes:
        execution: The canceled Execution, for its reason, message and timestamps.
    """

    category = "execution canceled"
    show_status = False

    def __init__(
        self,
        message: str = "",
        *,
        execution: Execution | None = None,
        namespace: str | None = None,
        name: str | None = None,
        reason: str | None = None,
    ) -> None:
        self.execution = execution
        super().__init__(message, resource="executions", namespace=namespace, name=name, reason=reason)


@overload
def parse_result(execution: Execution, result_type: None = None) -> Any: ...
@overload
def parse_result(execution: Execution, result_type: type[T]) -> T: ...
def parse_result(execution: Execution, result_type: type[T] | None = None) -> T | Any:
    """The result of a Completed (or Skipped) execution, validated into ``result_type``.

    ``result_type`` may be a pydantic model, a dataclass, a TypedDict or a builtin such as ``int``
    or ``list[str]``; without one the raw JSON value is returned. A missing (null) result gives
    ``None``, or ``result_type()`` when the type can be built without arguments (Go's zero value).

    Raises:
        ExecutionFailedError: the execution Failed (the message is its status message).
        ExecutionCanceledError: it was Canceled.
        InvalidStateError: it has not finished yet.
        ResultDecodeError: the result does not fit ``result_type``.
    """
    phase, name, namespace = execution.phase, execution.name, execution.namespace or None
    message = execution.message or ""
    if phase == ExecutionPhase.FAILED:
        raise ExecutionFailedError(
            message or f"execution {name!r} failed",
            execution=execution,
            namespace=namespace,
            name=name,
            reason=execution.reason,
        )
    if phase == ExecutionPhase.CANCELED:
        raise ExecutionCanceledError(
            message or f"execution {name!r} was canceled",
            execution=execution,
            namespace=namespace,
            name=name,
            reason=execution.reason,
        )
    if phase not in (ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED):
        raise InvalidStateError(
            f"execution {name!r} has not finished: it is {phase}",
            resource="executions",
            namespace=namespace,
            name=name,
        )
    value = execution.result
    if result_type is None:
        return value
    if value is None:
        try:
            return pydantic.TypeAdapter(result_type).validate_python(None)
        except pydantic.ValidationError:
            pass
        try:
            return result_type()
        except TypeError:
            raise ResultDecodeError(
                f"execution {name!r} has no result, and {getattr(result_type, '__name__', result_type)} "
                "has no zero value",
                resource="executions",
                namespace=namespace,
                name=name,
            ) from None
    try:
        return pydantic.TypeAdapter(result_type).validate_python(value)
    except pydantic.ValidationError as err:
        raise ResultDecodeError(
            f"the result of execution {name!r} is not a {getattr(result_type, '__name__', result_type)}: "
            f"{err.error_count()} problem(s), first: {err.errors()[0]['loc']} {err.errors()[0]['msg']}",
            resource="executions",
            namespace=namespace,
            name=name,
        ) from None
