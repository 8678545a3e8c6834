"""Operations on the batch/v1 Jobs that run an execution's work, and their logs."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from .constants import LABEL_JOB_NAME, LABEL_JOB_NAME_LEGACY
from .errors import NotFoundError
from .protocol import Call, Emit, Op, OpenStream, ReadLine, expect
from .resources import JOBS, PODS
from .validation import validate_namespace

FOLLOW_READ_TIMEOUT = 3600.0


class PodLogOptions(BaseModel):
    """Which log lines to read (the Kubernetes ``PodLogOptions`` kontinue passes through)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    follow: bool = False
    """Keep streaming new lines until the container ends."""
    container: str | None = None
    """Container name; needed only for pods with several containers."""
    previous: bool = False
    timestamps: bool = False
    tail_lines: int | None = Field(default=None, ge=0)
    since_seconds: int | None = Field(default=None, ge=1)
    limit_bytes: int | None = Field(default=None, ge=1)

    def query(self) -> dict[str, str]:
        query = {}
        for key, value in (
            ("follow", self.follow),
            ("container", self.container),
            ("previous", self.previous),
            ("timestamps", self.timestamps),
            ("tailLines", self.tail_lines),
            ("sinceSeconds", self.since_seconds),
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
    """Emit ``None`` once the log stream is open, then its lines (``bytes``, no newline)."""
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
    stream = yield OpenStream(log_call, read_timeout=FOLLOW_READ_TIMEOUT if options.follow else None)
    yield Emit(None)
    while True:
        line = yield ReadLine(stream)
        if line is None:
            return
        yield Emit(line)
