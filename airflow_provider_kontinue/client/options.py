"""Option objects for the client's calls, with the Go client's defaults (seed) and input checks.

Why pydantic: options arrive from Python code, templated Airflow arguments and JSON alike; one
model validates and coerces all of them (``"30s"`` -> ``timedelta``, ``"Failed"`` ->
``ExecutionPhase.FAILED``). As in Go, a zero value means "use the default" (``qps=0``,
``message=""``, ``function=""``). Unknown option names are refused, so a typo is not ignored.

Every problem raises :class:`~airflow_provider_kontinue.client.errors.ValidationError` (also a
``ValueError``) naming the field, e.g. ``ListOptions.function``: values that end up in label
selectors are checked against Kubernetes label syntax so ``"a=b,c!=d"`` cannot change a query.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import pydantic
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator
from pydantic_core import PydanticSerializationError, to_jsonable_python

from .constants import (
    ANNOTATION_ARCHIVED,
    DEFAULT_BURST,
    DEFAULT_CANCEL_MESSAGE,
    DEFAULT_QPS,
    DEFAULT_SKIP_MESSAGE,
    GROUP,
    LABEL_FUNCTION,
    LABEL_PARENT,
    LABEL_ROOT,
    LABEL_SCHEDULE,
    LABEL_WORKER_GROUP,
)
from .enums import ChildPolicy, ExecutionPhase
from .errors import ValidationError
from .models import ExecutionMutex, ExecutionRetry, ExecutionTimeout, ExecutionTTL, KontinueModel

if TYPE_CHECKING:
    from .forms import (
        ChildPolicyInput,
        ExecutionMutexDict,
        ExecutionPhaseInput,
        ExecutionRetryDict,
        ExecutionTimeoutDict,
        ExecutionTTLDict,
    )
from .validation import (
    validate_execution_name,
    validate_label_key,
    validate_label_value,
    validate_labels,
    validate_namespace,
)

__all__ = [
    "CancelOptions",
    "ListFunctionsOptions",
    "ListOptions",
    "Options",
    "ResumeOptions",
    "RetryOptions",
    "ScheduleListOptions",
    "SkipOptions",
    "SpawnOptions",
]

_OptionsT = TypeVar("_OptionsT", bound="_OptionsModel")


class _OptionsModel(BaseModel):
    """Base of the option models: strict about names, errors raised as kontinue ValidationError."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, populate_by_name=True)

    if not TYPE_CHECKING:  # hidden from mypy so the pydantic plugin still types each __init__

        def __init__(self, **data: Any) -> None:
            try:
                super().__init__(**data)
            except pydantic.ValidationError as exc:
                raise _as_validation_error(exc, type(self).__name__) from None

        def __setattr__(self, name: str, value: Any) -> None:
            try:
                super().__setattr__(name, value)
            except pydantic.ValidationError as exc:
                raise _as_validation_error(exc, type(self).__name__) from None

    @classmethod
    def coerce(cls: type[_OptionsT], value: _OptionsT | Mapping[str, Any] | None) -> _OptionsT:
        """Turn ``None`` (defaults), a mapping (e.g. from a templated Airflow argument) or an
        instance into an instance of this class."""
        if value is None:
            return cls()
        if isinstance(value, cls):
            return value
        if isinstance(value, Mapping):
            return cls(**value)
        raise ValidationError(
            f"{cls.__name__}: expected {cls.__name__}, a mapping or None, got {type(value).__name__}",
            field=cls.__name__,
        )


def _as_validation_error(exc: pydantic.ValidationError, model: str) -> ValidationError:
    """The kontinue ValidationError for a pydantic failure: ours if a check raised one."""
    errors = exc.errors()
    for error in errors:
        original = (error.get("ctx") or {}).get("error")
        if isinstance(original, ValidationError):
            return original
    first = errors[0]
    location = ".".join(str(part) for part in first["loc"])
    field = f"{model}.{location}" if location else model
    message = first["msg"]
    if first["type"] == "extra_forbidden":
        message = "unknown option"
    return ValidationError(f"{field}: {message}", field=field)


def _empty_to_none(value: Any) -> Any:
    """Go-style zero value: an empty string means "not set"."""
    return None if value == "" else value


def _check_no_unknown_fields(model: KontinueModel | None, field: str) -> None:
    """Refuse unknown keys inside nested spec objects given as options (``retires`` for ``retries``).

    The resource models keep unknown fields so server data survives; options are user input,
    where an unknown key is almost always a typo that would otherwise be dropped silently.
    """
    if model is None:
        return
    for key in model.model_extra or {}:
        raise ValidationError(f"{field}.{key}: unknown field", field=f"{field}.{key}")
    for name, value in model:
        if isinstance(value, KontinueModel):
            _check_no_unknown_fields(value, f"{field}.{name}")


def _join_selector(terms: Iterable[str]) -> str:
    """AND the terms in order, dropping exact duplicates."""
    return ",".join(dict.fromkeys(terms))


def _equality_terms(labels: Mapping[str, str]) -> list[str]:
    return [f"{key}={value}" for key, value in sorted(labels.items())]


class Options(_OptionsModel):
    """How the client talks to the API server (the Go client's ``Options``).

    Attributes:
        impersonate: User to impersonate on every request (``Impersonate-User``), if any.
        qps: Client-side request rate limit; 0 means the default, 5.
        burst: Requests allowed in a burst above ``qps``; 0 means the default, 10.
    """

    impersonate: str | None = None
    qps: float = DEFAULT_QPS
    burst: int = DEFAULT_BURST

    @field_validator("impersonate", mode="before")
    @classmethod
    def _impersonate_empty_is_none(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("qps", "burst", mode="before")
    @classmethod
    def _zero_means_default(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None or value == 0:
            return DEFAULT_QPS if info.field_name == "qps" else DEFAULT_BURST
        return value

    @field_validator("qps", "burst")
    @classmethod
    def _positive(cls, value: float, info: ValidationInfo) -> float:
        if value < 0:
            field = f"{cls.__name__}.{info.field_name}"
            raise ValidationError(
                f"{field}: must be positive (0 means the default), got {value}", field=field
            )
        return value


class SpawnOptions(_OptionsModel):
    """Options of ``spawn``: explicit name and namespace, retry/TTL/timeout/mutex, labels.

    Unset spec settings fall back to the Function's defaults. ``labels`` and ``annotations`` are
    Python extensions: they are added to the new Execution (``kontinue.cloud/`` labels and the
    ``archived`` annotation are reserved to kontinue and refused).
    """

    name: str | None = None
    """Explicit Execution name (at most 63 characters); generated from the function name if unset."""
    namespace: str | None = None
    """Namespace to create in, instead of the client's default."""
    retry: ExecutionRetry | None = None
    ttl: ExecutionTTL | None = None
    timeout: ExecutionTimeout | None = None
    mutex: ExecutionMutex | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)

    if TYPE_CHECKING:  # the forms a user writes (client/forms.py); the fields hold the parsed values

        def __init__(
            self,
            *,
            name: str | None = None,
            namespace: str | None = None,
            retry: ExecutionRetry | ExecutionRetryDict | None = None,
            ttl: ExecutionTTL | ExecutionTTLDict | None = None,
            timeout: ExecutionTimeout | ExecutionTimeoutDict | None = None,
            mutex: ExecutionMutex | ExecutionMutexDict | None = None,
            labels: Mapping[str, str] = ...,
            annotations: Mapping[str, str] = ...,
        ) -> None: ...

    @field_validator("name", "namespace", mode="before")
    @classmethod
    def _name_empty_is_none(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str | None) -> str | None:
        return None if value is None else validate_execution_name(value, f"{cls.__name__}.name")

    @field_validator("namespace")
    @classmethod
    def _valid_namespace(cls, value: str | None) -> str | None:
        return None if value is None else validate_namespace(value, f"{cls.__name__}.namespace")

    @field_validator("retry", "ttl", "timeout", "mutex")
    @classmethod
    def _no_unknown_fields(cls, value: KontinueModel | None, info: ValidationInfo) -> KontinueModel | None:
        _check_no_unknown_fields(value, f"{cls.__name__}.{info.field_name}")
        return value

    @field_validator("labels")
    @classmethod
    def _valid_labels(cls, value: dict[str, str]) -> dict[str, str]:
        field = f"{cls.__name__}.labels"
        for key in value:
            if key.startswith(f"{GROUP}/"):
                raise ValidationError(
                    f"{field}[{key!r}]: labels under {GROUP}/ are set by kontinue, not by callers",
                    field=f"{field}[{key!r}]",
                )
        return validate_labels(value, field)

    @field_validator("annotations")
    @classmethod
    def _valid_annotations(cls, value: dict[str, str]) -> dict[str, str]:
        field = f"{cls.__name__}.annotations"
        for key in value:
            validate_label_key(key, f"{field}[{key!r}]")
            if key == ANNOTATION_ARCHIVED:
                raise ValidationError(
                    f"{field}[{key!r}]: reserved for executions read from an archive",
                    field=f"{field}[{key!r}]",
                )
        return value


class ListOptions(_OptionsModel):
    """Filters of ``list`` (the Go client's ``ListOptions``); all given filters must hold.

    Everything except ``phases`` becomes a server-side label selector (spec §9.4); ``phases`` is
    applied by the client because the phase is status, not a label. An empty ``phases`` list
    means any phase.
    """

    label_selector: dict[str, str] = Field(default_factory=dict)
    """Extra ``key=value`` label equalities."""
    function: str | None = None
    """Only executions of this function."""
    root: str | None = None
    """Only the descendants of this root execution (not the root itself)."""
    schedule: str | None = None
    """Only executions created by this ScheduledExecution."""
    worker_group: str | None = None
    """Only executions of this worker group."""
    phases: list[ExecutionPhase] = Field(default_factory=list)
    """Only executions in one of these phases (checked client-side)."""
    only_root: bool = False
    """Only root executions (no ``kontinue.cloud/parent`` label)."""

    if TYPE_CHECKING:

        def __init__(
            self,
            *,
            label_selector: Mapping[str, str] = ...,
            function: str | None = None,
            root: str | None = None,
            schedule: str | None = None,
            worker_group: str | None = None,
            phases: Sequence[ExecutionPhaseInput] | ExecutionPhaseInput = ...,
            only_root: bool = False,
        ) -> None: ...

    @field_validator("function", "root", "schedule", "worker_group", mode="before")
    @classmethod
    def _filter_empty_is_none(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("function", "root", "schedule", "worker_group")
    @classmethod
    def _valid_label_value(cls, value: str | None, info: ValidationInfo) -> str | None:
        return None if value is None else validate_label_value(value, f"{cls.__name__}.{info.field_name}")

    @field_validator("label_selector")
    @classmethod
    def _valid_selector(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_labels(value, f"{cls.__name__}.label_selector")

    @field_validator("phases", mode="before")
    @classmethod
    def _single_phase_is_a_list(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value

    def label_selector_string(self) -> str:
        """The server-side selector for Executions, e.g.
        ``kontinue.cloud/function=deploy,!kontinue.cloud/parent,team=a`` (empty: select all)."""
        return _join_selector(self._selector_terms(include_root=True))

    def archive_label_selector_string(self) -> str:
        """The selector for ArchivedExecutions: the same without the ``root`` term (archives are roots)."""
        return _join_selector(self._selector_terms(include_root=False))

    def _selector_terms(self, *, include_root: bool) -> list[str]:
        terms = []
        if self.function:
            terms.append(f"{LABEL_FUNCTION}={self.function}")
        if self.root and include_root:
            terms.append(f"{LABEL_ROOT}={self.root}")
        if self.schedule:
            terms.append(f"{LABEL_SCHEDULE}={self.schedule}")
        if self.worker_group:
            terms.append(f"{LABEL_WORKER_GROUP}={self.worker_group}")
        if self.only_root:
            terms.append(f"!{LABEL_PARENT}")
        return terms + _equality_terms(self.label_selector)

    def accepts_phase(self, phase: ExecutionPhase | str) -> bool:
        """True if ``phase`` passes the ``phases`` filter (always, when the filter is empty)."""
        return not self.phases or phase in self.phases


class CancelOptions(_OptionsModel):
    """Options of ``cancel``: the message recorded on the canceled execution."""

    message: str = DEFAULT_CANCEL_MESSAGE

    @field_validator("message", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return DEFAULT_CANCEL_MESSAGE if value in (None, "") else value


class SkipOptions(_OptionsModel):
    """Options of ``skip``: the message, and the result a waiting parent receives instead.

    ``result`` may be anything JSON-serialisable, including pydantic models and dataclasses;
    ``None`` means no result (the parent decodes null, i.e. its zero value).
    """

    message: str = DEFAULT_SKIP_MESSAGE
    result: Any = None

    @field_validator("message", mode="before")
    @classmethod
    def _empty_is_default(cls, value: Any) -> Any:
        return DEFAULT_SKIP_MESSAGE if value in (None, "") else value

    @field_validator("result")
    @classmethod
    def _json_serialisable(cls, value: Any) -> Any:
        _result_json(value, f"{cls.__name__}.result")
        return value

    def result_json(self) -> Any:
        """``result`` as plain JSON values (dicts, lists, strings, numbers, booleans, ``None``)."""
        return _result_json(self.result, f"{type(self).__name__}.result")


def _result_json(value: Any, field: str) -> Any:
    try:
        plain = to_jsonable_python(value)
        json.dumps(plain, allow_nan=False)
    except (PydanticSerializationError, TypeError, ValueError) as exc:
        raise ValidationError(f"{field}: not JSON-serialisable: {exc}", field=field) from None
    return plain


class RetryOptions(_OptionsModel):
    """Options of ``retry_execution``: a child policy for the retry (``None`` keeps the current one)."""

    child_policy: ChildPolicy | None = None

    if TYPE_CHECKING:

        def __init__(self, *, child_policy: ChildPolicyInput | None = None) -> None: ...

    @field_validator("child_policy", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _empty_to_none(value)


class ResumeOptions(_OptionsModel):
    """Options of ``resume_execution``: resume only direct suspensions, or the whole tree's."""

    recursive: bool = False


class ListFunctionsOptions(_OptionsModel):
    """Options of ``functions``: include hidden functions, restrict to a worker group."""

    include_hidden: bool = False
    worker_group: str | None = None

    @field_validator("worker_group", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("worker_group")
    @classmethod
    def _valid_label_value(cls, value: str | None) -> str | None:
        return None if value is None else validate_label_value(value, f"{cls.__name__}.worker_group")

    def label_selector_string(self) -> str:
        """``kontinue.cloud/worker-group=<group>``, or empty for every group."""
        return f"{LABEL_WORKER_GROUP}={self.worker_group}" if self.worker_group else ""


class ScheduleListOptions(_OptionsModel):
    """Options of ``list_scheduled_executions``: label equalities (server-side) and a function
    (matched client-side against ``spec.function``)."""

    function: str | None = None
    label_selector: dict[str, str] = Field(default_factory=dict)

    @field_validator("function", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return _empty_to_none(value)

    @field_validator("label_selector")
    @classmethod
    def _valid_selector(cls, value: dict[str, str]) -> dict[str, str]:
        return validate_labels(value, f"{cls.__name__}.label_selector")

    def label_selector_string(self) -> str:
        """The server-side selector built from ``label_selector`` (empty: select all)."""
        return _join_selector(_equality_terms(self.label_selector))
