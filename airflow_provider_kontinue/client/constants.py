"""Names the kontinue API is addressed by: group, version, kinds, plurals, label and annotation keys.

Every string the client, the CRDs and the emulator must agree on lives here once, so a key that
changes upstream (spec §2 marks most of them "proposed") changes in one place. Nothing here
imports anything: the module is safe to use from any layer.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

# --- API group and version (spec §2) -------------------------------------------------------------

GROUP: Final = "kontinue.cloud"
"""API group of every kontinue custom resource."""

VERSION: Final = "v1alpha1"
"""The one served version of the kontinue API."""

API_VERSION: Final = f"{GROUP}/{VERSION}"
"""``apiVersion`` written on kontinue objects: ``kontinue.cloud/v1alpha1``."""

# --- Kinds ----------------------------------------------------------------------------------------

KIND_EXECUTION: Final = "Execution"
KIND_ARCHIVED_EXECUTION: Final = "ArchivedExecution"
KIND_SUSPENSION: Final = "Suspension"
KIND_SCHEDULED_EXECUTION: Final = "ScheduledExecution"
KIND_FUNCTION: Final = "Function"
KIND_JOB: Final = "Job"

BATCH_API_VERSION: Final = "batch/v1"
"""``apiVersion`` of the Jobs that executions run as children."""

# --- Plurals: the path segment of each resource in the REST API -----------------------------------

PLURAL_EXECUTIONS: Final = "executions"
PLURAL_ARCHIVED_EXECUTIONS: Final = "archivedexecutions"
PLURAL_SUSPENSIONS: Final = "suspensions"
PLURAL_SCHEDULED_EXECUTIONS: Final = "scheduledexecutions"
PLURAL_FUNCTIONS: Final = "functions"
PLURAL_JOBS: Final = "jobs"
PLURAL_PODS: Final = "pods"

PLURALS: Final[Mapping[str, str]] = MappingProxyType(
    {
        KIND_EXECUTION: PLURAL_EXECUTIONS,
        KIND_ARCHIVED_EXECUTION: PLURAL_ARCHIVED_EXECUTIONS,
        KIND_SUSPENSION: PLURAL_SUSPENSIONS,
        KIND_SCHEDULED_EXECUTION: PLURAL_SCHEDULED_EXECUTIONS,
        KIND_FUNCTION: PLURAL_FUNCTIONS,
    }
)
"""Kind -> plural for the kontinue kinds, e.g. to build ``executions.kontinue.cloud`` in messages."""

# --- Labels (spec §2.1) ---------------------------------------------------------------------------

LABEL_WORKER_GROUP: Final = f"{GROUP}/worker-group"
"""Worker group that serves a Function / runs an Execution and its children."""

LABEL_FUNCTION: Final = f"{GROUP}/function"
"""Function name (= ``spec.function``) on every Execution and on archives."""

LABEL_PARENT: Final = f"{GROUP}/parent"
"""Name of the direct parent Execution; absent on roots, so ``!kontinue.cloud/parent`` = roots."""

LABEL_ROOT: Final = f"{GROUP}/root"
"""Name of the root Execution on every descendant (never on the root itself)."""

LABEL_SCHEDULE: Final = f"{GROUP}/schedule"
"""ScheduledExecution that created an Execution."""

LABEL_ATTEMPT: Final = f"{GROUP}/attempt"
"""The parent's attempt number (decimal, 1-based) when a child was created."""

LABEL_STEP: Final = f"{GROUP}/step"
"""Step key of a child inside its parent."""

# --- Annotations (spec §2.2) ----------------------------------------------------------------------

ANNOTATION_DISPLAY_NAME: Final = f"{GROUP}/display-name"
"""Human-readable name shown instead of the resource name."""

ANNOTATION_DESCRIPTION: Final = f"{GROUP}/description"
"""Longer human-readable description."""

ANNOTATION_HIDDEN: Final = f"{GROUP}/hidden"
"""On a Function: hidden from default listings unless the value is ``"false"``."""

ANNOTATION_ARCHIVED: Final = f"{GROUP}/archived"
"""Set to ``"true"`` by the client on Executions reconstructed from an ArchivedExecution."""

# --- Jobs and pods (spec §8) ----------------------------------------------------------------------

LABEL_JOB_NAME: Final = "batch.kubernetes.io/job-name"
"""Label the Job controller puts on a Job's pods."""

LABEL_JOB_NAME_LEGACY: Final = "job-name"
"""Older clusters' spelling of :data:`LABEL_JOB_NAME`."""

# --- Archives (spec §4) ---------------------------------------------------------------------------

ARCHIVE_ENCODING: Final = "gzip+base64"
"""The only ``spec.tree.encoding`` the client reads."""

# --- Names ----------------------------------------------------------------------------------------

MAX_NAME_LENGTH: Final = 253
"""Kubernetes DNS-1123 subdomain limit for object names."""

MAX_EXECUTION_NAME_LENGTH: Final = 63
"""Execution names are also label values (parent/root), so they obey the label-value limit."""

MAX_LABEL_VALUE_LENGTH: Final = 63
"""Kubernetes label-value (and label-name) limit."""

GENERATE_NAME_PREFIX_MAX: Final = 57
"""Function names are cut to this before ``-`` so a generated name stays within 63 characters."""

# --- Client defaults (seed) -----------------------------------------------------------------------

DEFAULT_QPS: Final = 5.0
"""Client-side request rate when none is configured."""

DEFAULT_BURST: Final = 10
"""Client-side burst when none is configured."""

DEFAULT_CANCEL_MESSAGE: Final = "Canceled by client"
DEFAULT_SKIP_MESSAGE: Final = "Skipped by client"
RESUME_MESSAGE: Final = "Resumed by client"
RESUMED_BY_CLIENT: Final = "Client"
"""``status.resumedBy`` the client writes when it resumes a Suspension."""

# --- Status reasons the client writes (spec §3.5) ---------------------------------------------------

REASON_CANCELED_BY_CLIENT: Final = "CanceledByClient"
REASON_SKIPPED_BY_CLIENT: Final = "SkippedByClient"
