"""Realistic kontinue objects, copied from the examples of kontinue-api.md §11.

The root execution also carries the metadata a real API server adds (uid, resourceVersion,
creationTimestamp, managedFields), taken from the same example tree. Tests deep-copy these
objects (``copy.deepcopy``) before changing anything.
"""

from __future__ import annotations

from typing import Any

# §11.1 Root Execution (created by Spawn), mid-run
ROOT_EXECUTION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "Execution",
    "metadata": {
        "name": "deploy-cluster-x7k2p",
        "generateName": "deploy-cluster-",
        "namespace": "infra",
        "uid": "5d0c7a4e-0000-0000-0000-000000000001",
        "resourceVersion": "48213",
        "generation": 1,
        "creationTimestamp": "2025-03-01T09:59:58Z",
        "managedFields": [
            {
                "manager": "kontinue-client",
                "operation": "Update",
                "apiVersion": "kontinue.cloud/v1alpha1",
                "time": "2025-03-01T09:59:58Z",
                "fieldsType": "FieldsV1",
                "fieldsV1": {"f:spec": {".": {}, "f:function": {}}},
            }
        ],
        "labels": {"kontinue.cloud/function": "deploy-cluster", "kontinue.cloud/worker-group": "deployments"},
        "annotations": {"kontinue.cloud/display-name": "Deploy production cluster"},
    },
    "spec": {
        "function": "deploy-cluster",
        "arguments": {"environment": "production", "replicas": 3, "dryRun": False},
        "retry": {"retries": 3, "backoff": "10s", "childPolicy": "RetryFailed"},
        "timeout": {"attempt": "15m", "overall": "2h"},
        "ttl": {"archiveAfter": "1h", "deleteAfter": "720h"},
        "mutex": {"name": "deploy-prod"},
    },
    "status": {
        "phase": "Suspended",
        "reason": "WaitingForChild",
        "message": "sleeping until 2025-03-01T11:06:05Z",
        "observedGeneration": 1,
        "attempt": 2,
        "startedAt": "2025-03-01T10:00:00Z",
        "attemptStartedAt": "2025-03-01T10:05:12Z",
        "lastResumedAt": "2025-03-01T10:06:05Z",
        "resumptions": 3,
        "progress": {"current": 2, "total": 3},
        "state": {"store/0": {"clusterId": "c-123"}},
        "children": [
            {"kind": "Job", "name": "deploy-cluster-x7k2p-a1b2c3d4", "step": "0", "attempt": 2},
            {"kind": "Execution", "name": "deploy-cluster-x7k2p-3f9a01bc", "step": "1", "attempt": 2},
            {"kind": "Suspension", "name": "deploy-cluster-x7k2p-91c0d2e4", "step": "2", "attempt": 2},
        ],
        "attempts": [
            {
                "attempt": 1,
                "phase": "Failed",
                "reason": "Error",
                "message": "helm upgrade failed: timeout",
                "startedAt": "2025-03-01T10:00:00Z",
                "finishedAt": "2025-03-01T10:04:55Z",
            }
        ],
    },
}

# §11.2 Child Execution
CHILD_EXECUTION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "Execution",
    "metadata": {
        "name": "deploy-cluster-x7k2p-3f9a01bc",
        "namespace": "infra",
        "labels": {
            "kontinue.cloud/function": "run-smoke-tests",
            "kontinue.cloud/worker-group": "deployments",
            "kontinue.cloud/parent": "deploy-cluster-x7k2p",
            "kontinue.cloud/root": "deploy-cluster-x7k2p",
            "kontinue.cloud/attempt": "2",
            "kontinue.cloud/step": "1",
        },
        "ownerReferences": [
            {
                "apiVersion": "kontinue.cloud/v1alpha1",
                "kind": "Execution",
                "name": "deploy-cluster-x7k2p",
                "uid": "5d0c7a4e-0000-0000-0000-000000000001",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {"function": "run-smoke-tests", "arguments": {"cluster": "c-123"}},
    "status": {
        "phase": "Completed",
        "reason": "Succeeded",
        "attempt": 1,
        "startedAt": "2025-03-01T10:05:20Z",
        "finishedAt": "2025-03-01T10:06:02Z",
        "result": {"passed": 42, "failed": 0},
    },
}

# §11.3 Suspensions
SLEEP_SUSPENSION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "Suspension",
    "metadata": {
        "name": "deploy-cluster-x7k2p-91c0d2e4",
        "namespace": "infra",
        "labels": {
            "kontinue.cloud/parent": "deploy-cluster-x7k2p",
            "kontinue.cloud/root": "deploy-cluster-x7k2p",
            "kontinue.cloud/worker-group": "deployments",
            "kontinue.cloud/attempt": "2",
            "kontinue.cloud/step": "2",
        },
        "ownerReferences": [
            {
                "apiVersion": "kontinue.cloud/v1alpha1",
                "kind": "Execution",
                "name": "deploy-cluster-x7k2p",
                "uid": "5d0c7a4e-0000-0000-0000-000000000001",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {"type": "Sleep", "resumeAt": "2025-03-01T11:06:05Z"},
    "status": {"phase": "Suspended"},
}

# §11.3 Suspensions
MANUAL_SUSPENSION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "Suspension",
    "metadata": {
        "name": "approve-change-4kq9z-0b1d77aa",
        "namespace": "infra",
        "labels": {
            "kontinue.cloud/parent": "approve-change-4kq9z",
            "kontinue.cloud/root": "approve-change-4kq9z",
            "kontinue.cloud/worker-group": "default",
            "kontinue.cloud/attempt": "1",
            "kontinue.cloud/step": "0",
        },
        "annotations": {"kontinue.cloud/display-name": "Wait for approval"},
    },
    "spec": {"type": "Manual", "message": "waiting for manual approval"},
    "status": {
        "phase": "Completed",
        "resumedAt": "2025-03-02T09:00:00Z",
        "resumedBy": "Client",
        "message": "Resumed by client",
    },
}

# §11.4 ScheduledExecution
SCHEDULED_EXECUTION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "ScheduledExecution",
    "metadata": {"name": "nightly-tests", "namespace": "qa"},
    "spec": {
        "schedule": "0 2 * * *",
        "timeZone": "UTC",
        "function": "run-integration-tests",
        "arguments": {"environment": "staging", "suite": "full"},
        "historyLimit": 10,
        "suspend": False,
        "executionDefaults": {"retry": {"retries": 2, "backoff": "30s"}, "ttl": {"deleteAfter": "24h"}},
    },
    "status": {
        "lastScheduleTime": "2025-03-02T02:00:00Z",
        "nextScheduleTime": "2025-03-03T02:00:00Z",
        "active": ["nightly-tests-1740880800"],
        "history": [
            {
                "name": "nightly-tests-1740794400",
                "phase": "Completed",
                "startedAt": "2025-03-01T02:00:03Z",
                "finishedAt": "2025-03-01T02:41:10Z",
            }
        ],
    },
}

# §11.5 Function
FUNCTION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "Function",
    "metadata": {
        "name": "deploy",
        "namespace": "infra",
        "labels": {"kontinue.cloud/worker-group": "deployments"},
        "annotations": {
            "kontinue.cloud/display-name": "Deploy Application",
            "kontinue.cloud/description": "Deploys the application to the specified environment",
        },
    },
    "spec": {
        "name": "deploy",
        "workerGroup": "deployments",
        "displayName": "Deploy Application",
        "description": "Deploys the application to the specified environment",
        "arguments": [
            {
                "name": "environment",
                "type": "string",
                "description": "Target environment",
                "default": "staging",
                "enum": ["staging", "production"],
            },
            {"name": "version", "type": "string", "description": "Version to deploy", "required": True},
            {
                "name": "dryRun",
                "type": "boolean",
                "description": "Preview changes without applying",
                "default": False,
            },
            {"name": "replicas", "type": "integer", "description": "Number of replicas", "default": 3},
        ],
        "defaults": {
            "retry": {"retries": 3, "backoff": "30s", "childPolicy": "RetryFailed"},
            "timeout": {"attempt": "15m", "overall": "2h"},
        },
        "concurrency": {"limit": 5},
    },
    "status": {"lastRegisteredAt": "2025-03-01T08:00:00Z"},
}

# §11.6 ArchivedExecution
ARCHIVED_EXECUTION: dict[str, Any] = {
    "apiVersion": "kontinue.cloud/v1alpha1",
    "kind": "ArchivedExecution",
    "metadata": {
        "name": "deploy-cluster-x7k2p",
        "namespace": "infra",
        "labels": {"kontinue.cloud/function": "deploy-cluster", "kontinue.cloud/worker-group": "deployments"},
        "annotations": {"kontinue.cloud/display-name": "Deploy production cluster"},
    },
    "spec": {
        "archivedAt": "2025-03-01T12:10:00Z",
        "execution": {
            "metadata": {
                "name": "deploy-cluster-x7k2p",
                "namespace": "infra",
                "uid": "5d0c7a4e-0000-0000-0000-000000000001",
                "creationTimestamp": "2025-03-01T09:59:58Z",
                "labels": {
                    "kontinue.cloud/function": "deploy-cluster",
                    "kontinue.cloud/worker-group": "deployments",
                },
            },
            "spec": {
                "function": "deploy-cluster",
                "arguments": {"environment": "production"},
                "ttl": {"archiveAfter": "1h", "deleteAfter": "720h"},
            },
            "status": {
                "phase": "Completed",
                "reason": "Succeeded",
                "attempt": 2,
                "startedAt": "2025-03-01T10:00:00Z",
                "finishedAt": "2025-03-01T11:10:00Z",
                "result": {"endpoint": "https://c-123.example"},
            },
        },
        "tree": {
            "encoding": "gzip+base64",
            "data": (
                "H4sIAAAAAAACA6tWKkstKs7Mz1OyMtRRKsrPL1GyUkpJLcjJr9RNziktLkkt0q0wzzYqUNJRSq1ITS4tAaotVrKK"
                "jtVRKi4tLkjNK0YIZOUngVm1AG0NPQ1WAAAA"
            ),
            "counts": {"executions": 4, "suspensions": 1, "jobs": 1},
        },
    },
    "status": {"deleteAt": "2025-03-31T11:10:00Z"},
}

# §11.7 Job created by an execution
FAILED_JOB: dict[str, Any] = {
    "apiVersion": "batch/v1",
    "kind": "Job",
    "metadata": {
        "name": "deploy-cluster-x7k2p-5e6f7a8b",
        "namespace": "infra",
        "labels": {
            "kontinue.cloud/parent": "deploy-cluster-x7k2p",
            "kontinue.cloud/root": "deploy-cluster-x7k2p",
            "kontinue.cloud/worker-group": "deployments",
            "kontinue.cloud/attempt": "1",
            "kontinue.cloud/step": "0",
        },
        "annotations": {"kontinue.cloud/display-name": "helm upgrade"},
        "ownerReferences": [
            {
                "apiVersion": "kontinue.cloud/v1alpha1",
                "kind": "Execution",
                "name": "deploy-cluster-x7k2p",
                "uid": "5d0c7a4e-0000-0000-0000-000000000001",
                "controller": True,
                "blockOwnerDeletion": True,
            }
        ],
    },
    "spec": {
        "backoffLimit": 0,
        "template": {
            "spec": {
                "restartPolicy": "Never",
                "containers": [
                    {
                        "name": "helm",
                        "image": "alpine/helm:3.14",
                        "command": ["helm"],
                        "args": ["upgrade", "--install", "app", "./chart"],
                    }
                ],
            }
        },
    },
    "status": {
        "startTime": "2025-03-01T10:00:02Z",
        "failed": 1,
        "conditions": [
            {
                "type": "Failed",
                "status": "True",
                "reason": "BackoffLimitExceeded",
                "message": "Job has reached the specified backoff limit",
                "lastTransitionTime": "2025-03-01T10:04:50Z",
            }
        ],
    },
}
