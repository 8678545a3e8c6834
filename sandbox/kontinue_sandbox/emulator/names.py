"""Names the emulator writes: API paths, label keys (spec §2.1), child names (§3.6), owner references.

Kept here, once, so that the execution controller, the worker, the schedules and the archiver label
and name things identically. (The Python client has its own constants module; the values are the
same strings, fixed by the spec.)
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

GROUP = "kontinue.cloud"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

LABEL_WORKER_GROUP = f"{GROUP}/worker-group"
LABEL_FUNCTION = f"{GROUP}/function"
LABEL_PARENT = f"{GROUP}/parent"
LABEL_ROOT = f"{GROUP}/root"
LABEL_SCHEDULE = f"{GROUP}/schedule"
LABEL_ATTEMPT = f"{GROUP}/attempt"
LABEL_STEP = f"{GROUP}/step"
ANNOTATION_DISPLAY_NAME = f"{GROUP}/display-name"
ANNOTATION_DESCRIPTION = f"{GROUP}/description"

LABEL_JOB_NAME = "batch.kubernetes.io/job-name"
LABEL_JOB_NAME_LEGACY = "job-name"
LABEL_CONTROLLER_UID = "batch.kubernetes.io/controller-uid"
LABEL_CONTROLLER_UID_LEGACY = "controller-uid"

WORKER_STEP = "worker"
"""``kontinue.cloud/step`` of the Job that runs an attempt (script step ids may not use it)."""
WORKER_CONTAINER = "worker"
WORKER_IMAGE = "kontinue.cloud/emulated-worker:latest"
JOB_MANAGED_BY = "kontinue.cloud/emulator"
"""``spec.managedBy`` of worker Jobs: a cluster's own Job controller leaves such Jobs alone."""

TERMINAL_PHASES = frozenset({"Completed", "Failed", "Canceled", "Skipped"})
RESULT_PHASES = frozenset({"Completed", "Skipped"})
TERMINAL_SUSPENSION_PHASES = frozenset({"Completed", "Canceled"})

MAX_NAME = 63
CHILD_PREFIX = 45


@dataclass(frozen=True)
class Resource:
    """A REST resource: builds its paths."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    def path(self, namespace: str | None = None, name: str | None = None, sub: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        if namespace is not None and self.namespaced:
            base += f"/namespaces/{namespace}"
        base += f"/{self.plural}"
        if name is not None:
            base += f"/{name}"
        if sub is not None:
            base += f"/{sub}"
        return base


EXECUTIONS = Resource(GROUP, VERSION, "executions", "Execution")
SUSPENSIONS = Resource(GROUP, VERSION, "suspensions", "Suspension")
FUNCTIONS = Resource(GROUP, VERSION, "functions", "Function")
SCHEDULES = Resource(GROUP, VERSION, "scheduledexecutions", "ScheduledExecution")
ARCHIVES = Resource(GROUP, VERSION, "archivedexecutions", "ArchivedExecution")
JOBS = Resource("batch", "v1", "jobs", "Job")
PODS = Resource("", "v1", "pods", "Pod")
NODES = Resource("", "v1", "nodes", "Node", namespaced=False)
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease")


def child_name(parent: str, kind: str, step: str, attempt: int) -> str:
    """spec §3.6: ``<parent[:45]>-<8 hex of sha256("<parent>/<kind>/<step>/<attempt>")>``."""
    digest = hashlib.sha256(f"{parent}/{kind}/{step}/{attempt}".encode()).hexdigest()[:8]
    return f"{parent[:CHILD_PREFIX].rstrip('-.')}-{digest}"


def worker_job_name(execution: str, attempt: int) -> str:
    """The Job running ``attempt`` of ``execution``: a child named by §3.6 with step ``worker``."""
    return child_name(execution, "Job", WORKER_STEP, attempt)


def worker_pod_name(job: str) -> str:
    """The Job's one Pod: ``<job>-<5 hex>``, deterministic so a restarted emulator finds it."""
    return f"{job}-{hashlib.sha256(job.encode()).hexdigest()[:5]}"


def schedule_execution_name(schedule: str, unix_seconds: int) -> str:
    """spec §6: ``<schedule>-<unix seconds of the scheduled time>``, at most 63 characters."""
    suffix = f"-{unix_seconds}"
    return f"{schedule[: MAX_NAME - len(suffix)].rstrip('-.')}{suffix}"


def meta(obj: dict[str, Any]) -> dict[str, Any]:
    metadata = obj.get("metadata")
    return metadata if isinstance(metadata, dict) else {}


def labels(obj: dict[str, Any]) -> dict[str, str]:
    value = meta(obj).get("labels")
    return value if isinstance(value, dict) else {}


def status(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("status")
    return value if isinstance(value, dict) else {}


def spec(obj: dict[str, Any]) -> dict[str, Any]:
    value = obj.get("spec")
    return value if isinstance(value, dict) else {}


def root_of(execution: dict[str, Any]) -> str:
    """The root of ``execution``'s tree: its root label, or itself when it is a root."""
    return labels(execution).get(LABEL_ROOT) or str(meta(execution).get("name"))


def child_labels(parent: dict[str, Any], step: str, attempt: int, worker_group: str | None) -> dict[str, str]:
    """The §2.1 labels of a child of ``parent`` created by ``step`` in ``attempt``."""
    result = {
        LABEL_PARENT: str(meta(parent).get("name")),
        LABEL_ROOT: root_of(parent),
        LABEL_ATTEMPT: str(attempt),
        LABEL_STEP: step,
    }
    group = worker_group or labels(parent).get(LABEL_WORKER_GROUP)
    if group:
        result[LABEL_WORKER_GROUP] = group
    return result


def owner_reference(owner: dict[str, Any], kind: str, api_version: str = API_VERSION) -> dict[str, Any]:
    """A controller owner reference (§2.3)."""
    metadata = meta(owner)
    return {
        "apiVersion": api_version,
        "kind": kind,
        "name": metadata.get("name"),
        "uid": metadata.get("uid"),
        "controller": True,
        "blockOwnerDeletion": True,
    }


def phase(execution: dict[str, Any]) -> str:
    """An Execution's phase; absent reads as Pending."""
    value = status(execution).get("phase")
    return value if isinstance(value, str) and value else "Pending"


def suspension_phase(suspension: dict[str, Any]) -> str:
    value = status(suspension).get("phase")
    return value if isinstance(value, str) and value else "Suspended"


def is_terminal(execution: dict[str, Any]) -> bool:
    return phase(execution) in TERMINAL_PHASES


def attempt_label(obj: dict[str, Any]) -> int:
    try:
        return int(labels(obj).get(LABEL_ATTEMPT, "0"))
    except ValueError:
        return 0
