"""Operations on the batch/v1 Jobs that run an execution's work, and their logs."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel

from .constants import LABEL_JOB_NAME, LABEL_JOB_NAME_LEGACY
from .errors import NotFoundError, ValidationError
from .options import _OptionsModel
from .protocol import Call, Emit, LinePiece, Op, OpenStream, ReadLine, expect
from .resources import JOBS, PODS
from .timestamps import format_timestamp
from .validation import validate_namespace

FOLLOW_READ_TIMEOUT = 3600.0
MAX_LOG_LINE = 64 * 1024
"""Longest log line (bytes) handed on whole; a longer one comes as :class:`LogPiece` parts, so a
worker line without a newline (50 MiB) never sits in memory whole."""


class LogPiece(str):
    """A part of a log line longer than :data:`MAX_LOG_LINE` bytes: the next line continues it.

    The cut falls between UTF-8 characters; the line's last part is a plain ``str``.
    """


def log_text(line: bytes) -> str:
    """A log line as text (bytes that are not UTF-8 become U+FFFD), a part as :class:`LogPiece`."""
    text = line.decode("utf-8", errors="replace")
    return LogPiece(text) if isinstance(line, LinePiece) else text


def log_bytes(line: bytes) -> bytes:
    """A log line as ``read()`` joins it: with its newline, unless a part of the line follows."""
    return line if isinstance(line, LinePiece) else line + b"\n"


class PodLogOptions(_OptionsModel):
    """Which log lines to read (the Kubernetes ``PodLogOptions`` kontinue passes through).

    Fields go by their Python names or by the Kubernetes ones (``tail_lines`` or ``tailLines``);
    a wrong name or value raises :class:`~airflow_provider_kontinue.client.errors.ValidationError`
    naming the field, before any request is sent.
    """

    model_config = ConfigDict(frozen=True, alias_generator=to_camel)

    follow: bool = False
    """Keep streaming new lines until the container ends."""
    container: str | None = None
    """Container name; needed only for pods with several containers."""
    previous: bool = False
    """The previous container's log (after a restart)."""
    timestamps: bool = False
    """Prefix each line with its RFC 3339 time, as the kubelet records it."""
    tail_lines: int | None = Field(default=None, ge=0)
    """Only the last N lines."""
    since_seconds: int | None = Field(default=None, ge=1)
    """Only lines newer than this many seconds."""
    since_time: datetime | None = None
    """Only lines at or after this time (a naive datetime is UTC); not with ``since_seconds``."""
    limit_bytes: int | None = Field(default=None, ge=1)
    """Stop after this many bytes."""

    @model_validator(mode="after")
    def _one_since(self) -> PodLogOptions:
        if self.since_seconds is not None and self.since_time is not None:
            raise ValidationError(
                "PodLogOptions.since_time: give since_time or since_seconds, not both",
                field="PodLogOptions.since_time",
            )
        return self

    def query(self) -> dict[str, str]:
        query = {}
        since_time = None if self.since_time is None else format_timestamp(self.since_time)
        for key, value in (
            ("follow", self.follow),
            ("container", self.container),
            ("previous", self.previous),
            ("timestamps", self.timestamps),
            ("tailLines", self.tail_lines),
            ("sinceSeconds", self.since_seconds),
            ("sinceTime", since_time),
            ("limitBytes", self.limit_bytes),
        ):
            if value not in (None, False):
                query[key] = "true" if value is True else str(value)
        return query


def get_job(namespace: str, name: str) -> Op[dict[str, Any]]:
    """The Job as JSON (``metadata``, ``spec``, ``status``), like ``kubectl get job -o json``."""
    validate_namespace(namespace)
    body: dict[str, Any] = yield from expect(JOBS.get(namespace, name))
    return body


def first_pod(namespace: str, job: str) -> Op[str]:
    """The name of the Job's first pod: oldest by creation, then by name."""
    validate_namespace(namespace)
    for label in (LABEL_JOB_NAME, LABEL_JOB_NAME_LEGACY):
        listed = yield from expect(PODS.list(namespace, label_selector=f"{label}={job}"))
        pods = listed.get("items", [])
        if pods:
            oldest = min(
                pods, key=lambda p: (p["metadata"].get("creationTimestamp", ""), p["metadata"]["name"])
            )
            name: str = oldest["metadata"]["name"]
            return name
    raise NotFoundError(
        f"no pods found for job {job!r} in namespace {namespace!r} (not started yet, or cleaned up)",
        verb="list",
        resource="pods",
        namespace=namespace,
        name=job,
    )


def job_logs(namespace: str, job: str, options: PodLogOptions) -> Op[None]:
    """Emit ``None`` once the log stream is open, then its lines (``bytes``, no newline; a line
    longer than :data:`MAX_LOG_LINE` as :class:`~.protocol.LinePiece` parts)."""
    pod = yield from first_pod(namespace, job)
    log_call = Call(
        "GET",
        PODS.path(namespace, pod, "log"),
        options.query(),
        verb="get",
        resource="pods/log",
        namespace=namespace,
        name=pod,
    )
    stream = yield OpenStream(
        log_call,
        read_timeout=FOLLOW_READ_TIMEOUT if options.follow else None,
        max_line=MAX_LOG_LINE,
        multiplex=True,
    )
    yield Emit(None)
    while True:
        line = yield ReadLine(stream)
        if line is None:
            return
        yield Emit(line)
