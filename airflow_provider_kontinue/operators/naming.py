"""Deterministic execution names: the same task instance always spawns the same execution.

``execution_name(dag_id, task_id, run_id, map_index)`` is a valid Kubernetes name (DNS-1123
label, at most 63 characters) made of a readable part (the task id) and a hash of the whole task
instance key, never the try number. A retried task, or one whose worker died, therefore asks
kontinue for the name its first try used; kontinue answers AlreadyExists and the task reattaches
to that execution instead of starting a second one. Only a new generation (``-2``, ``-3``...),
chosen on purpose after a failure, gives a different name, and it is deterministic too.
"""

from __future__ import annotations

import hashlib
import re

MAX_NAME = 63
HASH_LENGTH = 12
GENERATION_ROOM = 4  # "-999"
_NOT_ALLOWED = re.compile(r"[^a-z0-9-]+")
_DASHES = re.compile(r"-{2,}")

ANNOTATION_TI_KEY = "airflow.apache.org/task-instance"
"""Annotation holding ``dag_id/task_id/run_id/map_index`` in full (label values are too short)."""
LABEL_DAG_ID = "airflow.apache.org/dag-id"
LABEL_TASK_ID = "airflow.apache.org/task-id"
LABEL_TI_HASH = "airflow.apache.org/ti-hash"
"""Label with the hash of the task instance key: list every execution of one task instance."""


def slug(text: str, limit: int) -> str:
    """``text`` as lowercase letters, digits and single dashes, at most ``limit`` characters."""
    cleaned = _DASHES.sub("-", _NOT_ALLOWED.sub("-", text.lower().replace("_", "-"))).strip("-")
    return cleaned[:limit].strip("-") or "task"


def ti_key(dag_id: str, task_id: str, run_id: str, map_index: int) -> str:
    """The task instance key as one string (what the hash covers and the annotation records)."""
    return f"{dag_id}/{task_id}/{run_id}/{map_index}"


def ti_hash(dag_id: str, task_id: str, run_id: str, map_index: int) -> str:
    """A short, stable hash of the task instance key (no try number)."""
    key = "\x00".join((dag_id, task_id, run_id, str(map_index)))
    return hashlib.sha256(key.encode()).hexdigest()[:HASH_LENGTH]


def execution_name(
    dag_id: str,
    task_id: str,
    run_id: str,
    map_index: int = -1,
    *,
    prefix: str | None = None,
    generation: int = 1,
) -> str:
    """The execution name of a task instance (generation 1), or of a later generation."""
    readable = slug(prefix or task_id.rsplit(".", 1)[-1], MAX_NAME - HASH_LENGTH - 1 - GENERATION_ROOM)
    name = f"{readable}-{ti_hash(dag_id, task_id, run_id, map_index)}"
    return name if generation <= 1 else f"{name}-{generation}"


def label_value(text: str) -> str:
    """``text`` as a valid label value (63 characters of ``[A-Za-z0-9_.-]``, alphanumeric ends)."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", text)[:MAX_NAME]
    return re.sub(r"^[^A-Za-z0-9]+|[^A-Za-z0-9]+$", "", cleaned)
