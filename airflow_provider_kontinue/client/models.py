"""Pydantic models of the kontinue resources: Function, Execution, ArchivedExecution, Suspension,
ScheduledExecution and everything nested in them (spec §3-§7).

Why models rather than dicts: users get attribute access, type checking and the small accessors
they always need (``execution.phase``, ``execution.is_terminal``, ``function.default_arguments()``)
while the wire format stays exactly the server's:

- Field names are snake_case in Python and camelCase on the wire (``alias_generator=to_camel``);
  both spellings are accepted as input.
- Every model keeps fields it does not know (``extra="allow"``), and :meth:`KontinueModel.to_dict`
  writes back only what was present, so ``Execution.model_validate(raw).to_dict() == raw`` for
  any object the server sends, including fields added by a newer kontinue.
- Timestamps are aware UTC ``datetime`` values written back as ``"2025-03-01T10:00:00Z"``;
  durations are ``timedelta`` values written back with their original spelling.
- Phases and other enums are typed ``Enum | str``: known values become the enum member, a value
  from a newer server stays a plain string, so an unknown phase never makes an object unreadable.
  The enums are ``str`` enums, so ``phase == "Completed"`` and ``phase == ExecutionPhase.COMPLETED``
  both work either way.
- Optional fields default to ``None`` (absent) rather than to empty containers: absent and empty
  are different on the wire, and assigning a field (not mutating a default in place) is what marks
  it for writing. Accessors such as :attr:`Resource.labels` give read-only empty views instead.

This module does no I/O; ``ArchivedExecution`` only encodes and decodes its own compressed tree.
"""

from __future__ import annotations

import base64
import binascii
import copy
import json
import zlib
from collections.abc import Mapping
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, ClassVar, NewType

import pydantic
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .constants import (
    ANNOTATION_ARCHIVED,
    ANNOTATION_DESCRIPTION,
    ANNOTATION_DISPLAY_NAME,
    ANNOTATION_HIDDEN,
    API_VERSION,
    ARCHIVE_ENCODING,
    KIND_ARCHIVED_EXECUTION,
    KIND_EXECUTION,
    KIND_FUNCTION,
    KIND_SCHEDULED_EXECUTION,
    KIND_SUSPENSION,
    LABEL_ATTEMPT,
    LABEL_PARENT,
    LABEL_ROOT,
    LABEL_SCHEDULE,
    LABEL_STEP,
    LABEL_WORKER_GROUP,
)
from .durations import Duration
from .enums import (
    TERMINAL_PHASES,
    TERMINAL_SUSPENSION_PHASES,
    ChildPolicy,
    ExecutionPhase,
    NodeKind,
    SuspensionPhase,
    SuspensionType,
)
from .errors import ArchiveDecodeError
from .timestamps import Timestamp

if TYPE_CHECKING:
    from .forms import ChildPolicyInput, DurationInput

__all__ = [
    "ArchivedExecution",
    "ArchivedExecutionSpec",
    "ArchivedExecutionStatus",
    "ArchivedTree",
    "ArgumentSpec",
    "ChildRef",
    "Concurrency",
    "EncodedTree",
    "Execution",
    "ExecutionAttempt",
    "ExecutionDefaults",
    "ExecutionMutex",
    "ExecutionRetry",
    "ExecutionSpec",
    "ExecutionStatus",
    "ExecutionTTL",
    "ExecutionTimeout",
    "Function",
    "FunctionDefaults",
    "FunctionName",
    "FunctionSpec",
    "FunctionStatus",
    "KontinueModel",
    "ObjectMeta",
    "OwnerReference",
    "Progress",
    "Resource",
    "ScheduleHistoryEntry",
    "ScheduledExecution",
    "ScheduledExecutionSpec",
    "ScheduledExecutionStatus",
    "Suspension",
    "SuspensionSpec",
    "SuspensionStatus",
    "TreeCounts",
    "model_for_kind",
]

FunctionName = NewType("FunctionName", str)
"""Name of a registered Function (the Go client's ``FunctionName``); any ``str`` converts."""

_EMPTY: Mapping[str, str] = MappingProxyType({})

# Enum-or-string field types: the enum when the value is known, the plain string otherwise.
ExecutionPhaseValue = Annotated[ExecutionPhase | str, Field(union_mode="left_to_right")]
SuspensionPhaseValue = Annotated[SuspensionPhase | str, Field(union_mode="left_to_right")]
SuspensionTypeValue = Annotated[SuspensionType | str, Field(union_mode="left_to_right")]
ChildPolicyValue = Annotated[ChildPolicy | str, Field(union_mode="left_to_right")]
NodeKindValue = Annotated[NodeKind | str, Field(union_mode="left_to_right")]

_MAX_TREE_BYTES = 64 * 1024 * 1024
"""Refuse to inflate an archive tree beyond this (a gzip bomb guard; real trees are < 20 MiB)."""


class KontinueModel(BaseModel):
    """Base of every kontinue model: camelCase on the wire, unknown fields kept, exact round trip."""

    model_config = ConfigDict(extra="allow", populate_by_name=True, alias_generator=to_camel)

    def to_dict(self) -> dict[str, Any]:
        """The object as the server's JSON: camelCase keys, only the fields that were present.

        "Present" means read from the server, passed in, or assigned, including in place: a default
        sub-object such as ``metadata`` that was filled in after construction is written too.
        """
        _mark_filled_defaults(self)
        return self.model_dump(by_alias=True, exclude_unset=True, mode="json")


def _mark_filled_defaults(model: KontinueModel) -> bool:
    """Count default sub-models that gained content in place as set; return whether ``model`` has any.

    ``exclude_unset`` only sees assignments on the model itself, so without this
    ``Execution(spec=...).metadata.name = "x"`` would be silently left out of :meth:`to_dict`.
    """
    fields_set = model.model_fields_set
    for name in type(model).model_fields:
        value = model.__dict__.get(name)
        if isinstance(value, KontinueModel) and _mark_filled_defaults(value) and name not in fields_set:
            fields_set.add(name)
    return bool(fields_set or model.model_extra)


# --- Metadata -------------------------------------------------------------------------------------


class OwnerReference(KontinueModel):
    """Link from a child to the object that owns it (its parent Execution or ScheduledExecution)."""

    api_version: str | None = None
    kind: str | None = None
    name: str | None = None
    uid: str | None = None
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ObjectMeta(KontinueModel):
    """The subset of Kubernetes ``metadata`` kontinue uses; other keys are kept, except
    ``managedFields``.

    ``managedFields`` (server-side apply's bookkeeping) is dropped on read, as client-go's
    informers drop it (``TransformStripManagedFields``): nothing here reads or writes it, every
    write is a patch of the fields it changes, and it was most of what a waiting trigger held in
    memory (about 10 KiB per execution).
    """

    name: str | None = None
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: Timestamp | None = None
    deletion_timestamp: Timestamp | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = None

    @model_validator(mode="before")
    @classmethod
    def _without_managed_fields(cls, data: Any) -> Any:
        if isinstance(data, dict) and "managedFields" in data:
            return {key: value for key, value in data.items() if key != "managedFields"}
        return data

    def set_label(self, key: str, value: str) -> None:
        """Set one label, creating the map if absent (and marking it for :meth:`to_dict`)."""
        self.labels = {**(self.labels or {}), key: value}

    def set_annotation(self, key: str, value: str) -> None:
        """Set one annotation, creating the map if absent (and marking it for :meth:`to_dict`)."""
        self.annotations = {**(self.annotations or {}), key: value}


class Resource(KontinueModel):
    """A Kubernetes object: ``apiVersion``, ``kind``, ``metadata`` and the accessors every kind shares.

    ``api_version`` and ``kind`` read as the kind's values when absent but are only written by
    :meth:`to_dict` when they were given, so list items without them round-trip unchanged.
    """

    KIND: ClassVar[str] = ""

    api_version: str = API_VERSION
    kind: str = ""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)

    @property
    def name(self) -> str:
        """``metadata.name`` (empty before the server has named a ``generateName`` object)."""
        return self.metadata.name or ""

    @property
    def namespace(self) -> str:
        """``metadata.namespace`` (empty if not set)."""
        return self.metadata.namespace or ""

    @property
    def labels(self) -> Mapping[str, str]:
        """The labels, read-only; empty when absent. Change them through ``metadata``."""
        return MappingProxyType(self.metadata.labels) if self.metadata.labels is not None else _EMPTY

    @property
    def annotations(self) -> Mapping[str, str]:
        """The annotations, read-only; empty when absent. Change them through ``metadata``."""
        annotations = self.metadata.annotations
        return MappingProxyType(annotations) if annotations is not None else _EMPTY

    @property
    def uid(self) -> str | None:
        return self.metadata.uid

    @property
    def resource_version(self) -> str | None:
        """The version to send back on updates (optimistic concurrency)."""
        return self.metadata.resource_version

    @property
    def created_at(self) -> datetime | None:
        return self.metadata.creation_timestamp

    @property
    def display_name(self) -> str | None:
        """The ``kontinue.cloud/display-name`` annotation: the name to show a human."""
        return self.annotations.get(ANNOTATION_DISPLAY_NAME)

    @property
    def description(self) -> str | None:
        """The ``kontinue.cloud/description`` annotation."""
        return self.annotations.get(ANNOTATION_DESCRIPTION)

    @property
    def worker_group(self) -> str | None:
        """The ``kontinue.cloud/worker-group`` label."""
        return self.labels.get(LABEL_WORKER_GROUP)

    @property
    def parent_name(self) -> str | None:
        """Name of the direct parent Execution (``kontinue.cloud/parent``); ``None`` for roots."""
        return self.labels.get(LABEL_PARENT)

    @property
    def root_name(self) -> str | None:
        """Name of the root Execution of this object's tree.

        The ``kontinue.cloud/root`` label for descendants. A root carries no root label, so for an
        Execution without a parent label this is its own name; ``None`` if it cannot be told.
        """
        root = self.labels.get(LABEL_ROOT)
        if root:
            return root
        if self.KIND == KIND_EXECUTION and LABEL_PARENT not in self.labels and self.name:
            return self.name
        return None

    @property
    def step(self) -> str | None:
        """Step key of a child inside its parent (``kontinue.cloud/step``)."""
        return self.labels.get(LABEL_STEP)

    @property
    def parent_attempt(self) -> int | None:
        """The parent's attempt number when this child was created (``kontinue.cloud/attempt``)."""
        value = self.labels.get(LABEL_ATTEMPT)
        return int(value) if value is not None and value.isdigit() else None

    @property
    def is_archived(self) -> bool:
        """True for objects the client reconstructed from an ArchivedExecution (read-only history)."""
        return self.annotations.get(ANNOTATION_ARCHIVED) == "true"


# --- Execution ------------------------------------------------------------------------------------


class ExecutionRetry(KontinueModel):
    """Automatic retries: how many, how long to wait between attempts, what to do with children."""

    retries: int | None = None
    backoff: Duration | None = None
    child_policy: ChildPolicyValue | None = None

    if TYPE_CHECKING:  # the forms a user writes (client/forms.py); the fields hold the parsed values

        def __init__(
            self,
            *,
            retries: int | None = None,
            backoff: DurationInput | None = None,
            child_policy: ChildPolicyInput | None = None,
        ) -> None: ...


class ExecutionTimeout(KontinueModel):
    """Time limits: per attempt (retryable when exceeded) and overall from first start (final)."""

    attempt: Duration | None = None
    overall: Duration | None = None

    if TYPE_CHECKING:

        def __init__(
            self, *, attempt: DurationInput | None = None, overall: DurationInput | None = None
        ) -> None: ...


class ExecutionTTL(KontinueModel):
    """Cleanup of a finished root: archive after, delete after (counted from ``finishedAt``)."""

    archive_after: Duration | None = None
    delete_after: Duration | None = None

    if TYPE_CHECKING:

        def __init__(
            self, *, archive_after: DurationInput | None = None, delete_after: DurationInput | None = None
        ) -> None: ...


class ExecutionMutex(KontinueModel):
    """Namespace-wide mutex: at most one execution holds a given name at a time."""

    name: str


class ExecutionSpec(KontinueModel):
    """What to run: the function, its arguments and the retry, timeout, TTL and mutex settings."""

    function: str
    arguments: dict[str, Any] | None = None
    retry: ExecutionRetry | None = None
    timeout: ExecutionTimeout | None = None
    ttl: ExecutionTTL | None = None
    mutex: ExecutionMutex | None = None


class ChildRef(KontinueModel):
    """A child (Execution, Suspension or Job) used by the current attempt, in ``status.children``."""

    kind: NodeKindValue | None = None
    name: str | None = None
    step: str | None = None
    attempt: int | None = None


class ExecutionAttempt(KontinueModel):
    """Record of a finished previous attempt (``status.attempts[]``); shown as an Attempt tree node."""

    attempt: int | None = None
    phase: ExecutionPhaseValue | None = None
    reason: str | None = None
    message: str | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None


class Progress(KontinueModel):
    """Progress indicator set by the function: step ``current`` of ``total``."""

    current: int | None = None
    total: int | None = None

    @property
    def fraction(self) -> float | None:
        """``current / total`` in [0, 1], or ``None`` when the total is unknown or zero."""
        if not self.total or self.current is None:
            return None
        return max(0.0, min(1.0, self.current / self.total))


class ExecutionStatus(KontinueModel):
    """What the controller and workers report: phase, result, durable state, children, attempts."""

    phase: ExecutionPhaseValue | None = None
    message: str | None = None
    reason: str | None = None
    result: Any = None
    state: dict[str, Any] | None = None
    children: list[ChildRef] | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    attempt: int | None = None
    attempt_started_at: Timestamp | None = None
    last_resumed_at: Timestamp | None = None
    attempts: list[ExecutionAttempt] | None = None
    next_attempt_at: Timestamp | None = None
    resumptions: int | None = None
    progress: Progress | None = None
    observed_generation: int | None = None
    worker: str | None = None


class Execution(Resource):
    """One run of a Function: ``spec`` says what to run, ``status`` how it is going."""

    KIND: ClassVar[str] = KIND_EXECUTION

    kind: str = KIND_EXECUTION
    spec: ExecutionSpec
    status: ExecutionStatus | None = None

    @property
    def function(self) -> str:
        """The function this execution runs (``spec.function``)."""
        return self.spec.function

    @property
    def phase(self) -> ExecutionPhase | str:
        """The lifecycle phase; ``PENDING`` while the controller has not written one yet."""
        if self.status is None or not self.status.phase:
            return ExecutionPhase.PENDING
        return self.status.phase

    @property
    def is_terminal(self) -> bool:
        """True once Completed, Failed, Canceled or Skipped: it will not change by itself."""
        return self.phase in TERMINAL_PHASES

    @property
    def is_observed(self) -> bool:
        """True once the controller has processed the current spec (``status.observedGeneration``
        is at least ``metadata.generation``, or no controller wrote one). After a retry the
        execution still reads Failed or Canceled until then: that phase is the attempt before."""
        observed = self.status.observed_generation if self.status else None
        generation = self.metadata.generation
        return observed is None or generation is None or observed >= generation

    @property
    def has_ended(self) -> bool:
        """True for an outcome a wait may return: terminal and observed, or archived history."""
        return (self.is_terminal and self.is_observed) or self.is_archived

    @property
    def is_root(self) -> bool:
        """True for a root execution (no ``kontinue.cloud/parent`` label)."""
        return LABEL_PARENT not in self.labels

    @property
    def schedule_name(self) -> str | None:
        """The ScheduledExecution that created this execution, if any."""
        return self.labels.get(LABEL_SCHEDULE)

    @property
    def arguments(self) -> dict[str, Any]:
        """``spec.arguments`` (empty when absent)."""
        return self.spec.arguments if self.spec.arguments is not None else {}

    @property
    def result(self) -> Any:
        """``status.result`` as raw JSON (``None`` when absent); see ``parse_result`` for typing."""
        return self.status.result if self.status is not None else None

    @property
    def message(self) -> str | None:
        """``status.message``: progress text, or the error of a failed execution."""
        return self.status.message if self.status is not None else None

    @property
    def reason(self) -> str | None:
        """``status.reason``: machine-readable cause of the phase (treat unknown ones as opaque)."""
        return self.status.reason if self.status is not None else None

    @property
    def attempt(self) -> int:
        """The current attempt number (1 before the controller has written one)."""
        return self.status.attempt if self.status is not None and self.status.attempt else 1

    @property
    def attempts(self) -> list[ExecutionAttempt]:
        """Records of previous attempts, oldest first (empty when there were none)."""
        return list(self.status.attempts or ()) if self.status is not None else []

    @property
    def children(self) -> list[ChildRef]:
        """Children used by the current attempt (empty when none are recorded)."""
        return list(self.status.children or ()) if self.status is not None else []

    @property
    def started_at(self) -> datetime | None:
        return self.status.started_at if self.status is not None else None

    @property
    def finished_at(self) -> datetime | None:
        return self.status.finished_at if self.status is not None else None

    @property
    def progress(self) -> Progress | None:
        return self.status.progress if self.status is not None else None


# --- ArchivedExecution ----------------------------------------------------------------------------


class TreeCounts(KontinueModel):
    """How many objects an archive holds, readable without decoding the tree."""

    executions: int | None = None
    suspensions: int | None = None
    jobs: int | None = None


class EncodedTree(KontinueModel):
    """``spec.tree``: the whole tree as gzip-compressed, base64-encoded JSON (spec §4)."""

    encoding: str | None = None
    data: str | None = None
    counts: TreeCounts | None = None


class ArchivedTree(KontinueModel):
    """The decoded tree document of an archive: every object of the tree at archiving time."""

    version: int | None = None
    root: str | None = None
    executions: list[Execution] = Field(default_factory=list)
    suspensions: list[Suspension] = Field(default_factory=list)
    jobs: list[dict[str, Any]] = Field(default_factory=list)


class ArchivedExecutionSpec(KontinueModel):
    """When the tree was archived, an uncompressed copy of the root, and the compressed tree."""

    archived_at: Timestamp | None = None
    execution: Execution | None = None
    tree: EncodedTree | None = None


class ArchivedExecutionStatus(KontinueModel):
    delete_at: Timestamp | None = None
    """When the archive itself will be deleted (``finishedAt + deleteAfter``), if ever."""


class ArchivedExecution(Resource):
    """A finished root execution tree, compacted into one read-only object by TTL archiving.

    The client reads archives transparently: :meth:`root_execution` gives back the root Execution
    and :meth:`executions` every Execution of the tree, each marked with the annotation
    ``kontinue.cloud/archived: "true"``. kontinue's controller writes archives; the client only
    reads them.
    """

    KIND: ClassVar[str] = KIND_ARCHIVED_EXECUTION

    kind: str = KIND_ARCHIVED_EXECUTION
    spec: ArchivedExecutionSpec = Field(default_factory=ArchivedExecutionSpec)
    status: ArchivedExecutionStatus | None = None

    @property
    def archived_at(self) -> datetime | None:
        return self.spec.archived_at

    @property
    def phase(self) -> ExecutionPhase | str:
        """The archived root's final phase."""
        execution = self.spec.execution
        return execution.phase if execution is not None else ExecutionPhase.PENDING

    def decode_tree(self) -> ArchivedTree:
        """Decode ``spec.tree.data`` into the tree document.

        Raises:
            ArchiveDecodeError: the tree is missing, in an unknown encoding, or corrupt.
        """
        tree = self.spec.tree
        context: dict[str, Any] = {
            "resource": "archivedexecutions",
            "namespace": self.namespace or None,
            "name": self.name,
        }
        if tree is None or not tree.data:
            raise ArchiveDecodeError("archive has no spec.tree.data", **context)
        if tree.encoding not in (None, ARCHIVE_ENCODING):
            raise ArchiveDecodeError(
                f"unsupported tree encoding {tree.encoding!r} (expected {ARCHIVE_ENCODING!r})", **context
            )
        try:
            document = json.loads(_gunzip(base64.b64decode(tree.data, validate=True)))
        except (binascii.Error, OSError, EOFError, zlib.error, ValueError) as exc:
            raise ArchiveDecodeError(f"corrupt spec.tree.data: {exc}", **context) from exc
        try:
            return ArchivedTree.model_validate(document)
        except pydantic.ValidationError as exc:
            raise ArchiveDecodeError(f"unreadable tree document: {exc}", **context) from exc

    def root_execution(self) -> Execution:
        """The archived root Execution, marked archived (spec §4).

        Taken from the tree document; if the tree cannot be decoded or lacks the root, from the
        uncompressed ``spec.execution`` copy. ``apiVersion``/``kind`` are set and the annotation
        ``kontinue.cloud/archived: "true"`` added, so callers can tell it is history.

        Raises:
            ArchiveDecodeError: neither the tree nor ``spec.execution`` holds the root.
        """
        root_name = self.name
        candidate: Execution | None = None
        try:
            tree = self.decode_tree()
        except ArchiveDecodeError:
            tree = None
        if tree is not None:
            root_name = tree.root or root_name
            candidate = next((e for e in tree.executions if e.name == root_name), None)
        if candidate is None:
            candidate = self.spec.execution
        if candidate is None:
            raise ArchiveDecodeError(
                "archive holds neither a readable tree nor spec.execution",
                resource="archivedexecutions",
                namespace=self.namespace or None,
                name=self.name,
            )
        return _mark_archived(candidate, self.namespace)

    def executions(self) -> list[Execution]:
        """Every Execution of the archived tree (root first), each marked archived.

        Falls back to just the root (:meth:`root_execution`) when the tree cannot be decoded.
        """
        try:
            tree = self.decode_tree()
        except ArchiveDecodeError:
            return [self.root_execution()]
        marked = [_mark_archived(execution, self.namespace) for execution in tree.executions]
        root_name = tree.root or self.name
        if not any(execution.name == root_name for execution in marked):
            marked.insert(0, self.root_execution())
        return marked


def _gunzip(data: bytes) -> bytes:
    """Inflate gzip data, refusing output beyond :data:`_MAX_TREE_BYTES`."""
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    out = inflater.decompress(data, _MAX_TREE_BYTES)
    if inflater.unconsumed_tail:
        raise ValueError(f"tree inflates beyond {_MAX_TREE_BYTES} bytes")
    if not inflater.eof:
        raise EOFError("truncated gzip stream")
    return out


def _mark_archived(execution: Execution, namespace: str) -> Execution:
    """Copy of ``execution`` with apiVersion/kind set and ``kontinue.cloud/archived: "true"``."""
    marked = execution.model_copy(deep=True)
    marked.api_version = API_VERSION
    marked.kind = KIND_EXECUTION
    if not marked.metadata.namespace and namespace:
        marked.metadata.namespace = namespace
    marked.metadata.set_annotation(ANNOTATION_ARCHIVED, "true")
    return marked


# --- Suspension -----------------------------------------------------------------------------------


class SuspensionSpec(KontinueModel):
    """Why and until when an execution pauses: a timed sleep or a wait for a manual resume."""

    type: SuspensionTypeValue | None = None
    resume_at: Timestamp | None = None
    message: str | None = None


class SuspensionStatus(KontinueModel):
    phase: SuspensionPhaseValue | None = None
    message: str | None = None
    resumed_at: Timestamp | None = None
    resumed_by: str | None = None
    """``Timer``, ``Client`` or a user name."""


class Suspension(Resource):
    """A durable pause of an execution (``kontinue.Sleep`` or ``kontinue.Suspend``)."""

    KIND: ClassVar[str] = KIND_SUSPENSION

    kind: str = KIND_SUSPENSION
    spec: SuspensionSpec = Field(default_factory=SuspensionSpec)
    status: SuspensionStatus | None = None

    @property
    def phase(self) -> SuspensionPhase | str:
        """The phase; ``SUSPENDED`` while the controller has not written one yet."""
        if self.status is None or not self.status.phase:
            return SuspensionPhase.SUSPENDED
        return self.status.phase

    @property
    def is_terminal(self) -> bool:
        """True once resumed (Completed) or canceled: the owner may continue."""
        return self.phase in TERMINAL_SUSPENSION_PHASES

    @property
    def suspension_type(self) -> SuspensionType | str | None:
        return self.spec.type

    @property
    def resume_at(self) -> datetime | None:
        """For a Sleep: when it completes by itself."""
        return self.spec.resume_at

    @property
    def resumed_at(self) -> datetime | None:
        return self.status.resumed_at if self.status is not None else None

    @property
    def message(self) -> str | None:
        """The status message, else the spec's reason for waiting."""
        if self.status is not None and self.status.message:
            return self.status.message
        return self.spec.message


# --- ScheduledExecution ---------------------------------------------------------------------------


class ExecutionDefaults(KontinueModel):
    """Settings a ScheduledExecution gives each Execution it creates."""

    retry: ExecutionRetry | None = None
    timeout: ExecutionTimeout | None = None
    ttl: ExecutionTTL | None = None
    mutex: ExecutionMutex | None = None


class ScheduleHistoryEntry(KontinueModel):
    """One past run of a schedule (``status.history[]``, newest first)."""

    name: str | None = None
    phase: ExecutionPhaseValue | None = None
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None


class ScheduledExecutionSpec(KontinueModel):
    """Cron schedule, function, arguments and defaults for the Executions it creates."""

    schedule: str
    function: str
    arguments: dict[str, Any] | None = None
    history_limit: int | None = None
    suspend: bool | None = None
    execution_defaults: ExecutionDefaults | None = None
    time_zone: str | None = None


class ScheduledExecutionStatus(KontinueModel):
    last_schedule_time: Timestamp | None = None
    next_schedule_time: Timestamp | None = None
    active: list[str] | None = None
    history: list[ScheduleHistoryEntry] | None = None


class ScheduledExecution(Resource):
    """Creates Executions of a function on a cron schedule, like a CronJob creates Jobs."""

    KIND: ClassVar[str] = KIND_SCHEDULED_EXECUTION

    kind: str = KIND_SCHEDULED_EXECUTION
    spec: ScheduledExecutionSpec
    status: ScheduledExecutionStatus | None = None

    @property
    def function(self) -> str:
        return self.spec.function

    @property
    def schedule(self) -> str:
        """The cron expression."""
        return self.spec.schedule

    @property
    def is_suspended(self) -> bool:
        """True when no new Executions will be created (``spec.suspend``)."""
        return bool(self.spec.suspend)

    @property
    def last_schedule_time(self) -> datetime | None:
        return self.status.last_schedule_time if self.status is not None else None

    @property
    def next_schedule_time(self) -> datetime | None:
        return self.status.next_schedule_time if self.status is not None else None

    @property
    def active(self) -> list[str]:
        """Names of the non-terminal Executions it created."""
        return list(self.status.active or ()) if self.status is not None else []


# --- Function -------------------------------------------------------------------------------------


class ArgumentSpec(KontinueModel):
    """One declared argument of a Function: JSON name, type, description, default, allowed values."""

    name: str
    type: str | None = None
    description: str | None = None
    default: Any = None
    enum: list[Any] | None = None
    required: bool | None = None

    @property
    def has_default(self) -> bool:
        """True when a default was declared (a declared ``null`` default counts)."""
        return "default" in self.model_fields_set


class FunctionDefaults(KontinueModel):
    """Execution defaults of a Function: arguments, retry, timeout and TTL (spec §7.1)."""

    arguments: dict[str, Any] | None = None
    retry: ExecutionRetry | None = None
    timeout: ExecutionTimeout | None = None
    ttl: ExecutionTTL | None = None


class Concurrency(KontinueModel):
    """Most executions of a function that may run at once in its worker group."""

    limit: int | None = None


class FunctionSpec(KontinueModel):
    """What a worker published about a function: names, arguments, defaults, concurrency."""

    name: str | None = None
    worker_group: str | None = None
    display_name: str | None = None
    description: str | None = None
    arguments: list[ArgumentSpec] | None = None
    defaults: FunctionDefaults | None = None
    concurrency: Concurrency | None = None


class FunctionStatus(KontinueModel):
    last_registered_at: Timestamp | None = None
    workers: int | None = None


class Function(Resource):
    """A workflow registered by a worker; Executions run it by name."""

    KIND: ClassVar[str] = KIND_FUNCTION

    kind: str = KIND_FUNCTION
    spec: FunctionSpec = Field(default_factory=FunctionSpec)
    status: FunctionStatus | None = None

    @property
    def worker_group(self) -> str | None:
        """``spec.workerGroup``, else the ``kontinue.cloud/worker-group`` label."""
        return self.spec.worker_group or self.labels.get(LABEL_WORKER_GROUP)

    @property
    def display_name(self) -> str | None:
        """``spec.displayName``, else the display-name annotation."""
        return self.spec.display_name or self.annotations.get(ANNOTATION_DISPLAY_NAME)

    @property
    def description(self) -> str | None:
        """``spec.description``, else the description annotation."""
        return self.spec.description or self.annotations.get(ANNOTATION_DESCRIPTION)

    @property
    def is_hidden(self) -> bool:
        """Hidden from default listings: annotation present and not ``"false"`` (any case)."""
        value = self.annotations.get(ANNOTATION_HIDDEN)
        return value is not None and value.lower() != "false"

    @property
    def arguments(self) -> list[ArgumentSpec]:
        """Declared arguments (empty when none were declared)."""
        return list(self.spec.arguments or ())

    def default_arguments(self) -> dict[str, Any]:
        """The arguments an Execution gets when the caller gives none (spec §7.1).

        Each declared argument's ``default``, overlaid key by key by ``spec.defaults.arguments``.
        Caller arguments then override these top-level keys. The result is a fresh deep copy.
        """
        merged: dict[str, Any] = {arg.name: arg.default for arg in self.arguments if arg.has_default}
        if self.spec.defaults is not None and self.spec.defaults.arguments:
            merged.update(self.spec.defaults.arguments)
        return copy.deepcopy(merged)


_MODELS_BY_KIND: Mapping[str, type[Resource]] = MappingProxyType(
    {
        KIND_EXECUTION: Execution,
        KIND_ARCHIVED_EXECUTION: ArchivedExecution,
        KIND_SUSPENSION: Suspension,
        KIND_SCHEDULED_EXECUTION: ScheduledExecution,
        KIND_FUNCTION: Function,
    }
)


def model_for_kind(kind: str) -> type[Resource]:
    """The model class for a kontinue kind, e.g. to parse watch events of any kind.

    Raises:
        KeyError: ``kind`` is not a kontinue kind.
    """
    try:
        return _MODELS_BY_KIND[kind]
    except KeyError:
        raise KeyError(f"not a kontinue kind: {kind!r} (known: {', '.join(_MODELS_BY_KIND)})") from None


ArchivedTree.model_rebuild()
