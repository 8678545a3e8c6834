"""The kontinue controller's part, played with raw Kubernetes API calls.

``Cluster`` writes Functions, executions, children, suspensions, Jobs, status and archives the way
kontinue would, so the client's tests see real objects from the real API server without the
emulator deciding anything.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from kubernetes import client as k8s

from airflow_provider_kontinue.client.timestamps import format_timestamp, utc_now
from kontinue_sandbox.emulator.archive import build_archive

GROUP, VERSION = "kontinue.cloud", "v1alpha1"


def lineage_labels(parent: str, root: str, attempt: int) -> dict[str, str]:
    """The labels kontinue puts on everything an execution's attempt creates."""
    return {
        "kontinue.cloud/parent": parent,
        "kontinue.cloud/root": root,
        "kontinue.cloud/attempt": str(attempt),
    }


class Cluster:
    """Plays kontinue's controller and workers with raw API calls, in one namespace."""

    def __init__(self, api: k8s.ApiClient, namespace: str) -> None:
        self.custom = k8s.CustomObjectsApi(api)
        self.api = api
        self.namespace = namespace

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", **body}
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, body
        )
        return created

    def get(self, plural: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, name
        )
        return found

    def list(self, plural: str) -> list[dict[str, Any]]:
        return list(
            self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)["items"]
        )

    def delete(self, plural: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def function(self, name: str, **spec: Any) -> dict[str, Any]:
        labels = {"kontinue.cloud/worker-group": spec["workerGroup"]} if "workerGroup" in spec else {}
        annotations = spec.pop("annotations", {})
        return self.create(
            "functions",
            {
                "kind": "Function",
                "metadata": {"name": name, "labels": labels, "annotations": annotations},
                "spec": {"name": name, **spec},
            },
        )

    def execution(
        self,
        name: str,
        function: str = "work",
        *,
        labels: dict[str, str] | None = None,
        status: dict[str, Any] | None = None,
        **spec: Any,
    ) -> dict[str, Any]:
        created = self.create(
            "executions",
            {
                "kind": "Execution",
                "metadata": {"name": name, "labels": {"kontinue.cloud/function": function, **(labels or {})}},
                "spec": {"function": function, **spec},
            },
        )
        if status is not None:
            created = self.set_status("executions", name, status)
        return created

    def child(self, name: str, parent: str, root: str, *, attempt: int = 1, **kwargs: Any) -> dict[str, Any]:
        labels = {**lineage_labels(parent, root, attempt), **kwargs.pop("labels", {})}
        return self.execution(name, labels=labels, **kwargs)

    def suspension(
        self, name: str, parent: str, root: str, *, phase: str | None = "Suspended", attempt: int = 1
    ) -> dict[str, Any]:
        created = self.create(
            "suspensions",
            {
                "kind": "Suspension",
                "metadata": {
                    "name": name,
                    "labels": lineage_labels(parent, root, attempt),
                },
                "spec": {"type": "Manual", "message": "approve?"},
            },
        )
        if phase is not None:
            created = self.set_status("suspensions", name, {"phase": phase})
        return created

    def set_status(self, plural: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, plural, name, {"status": status}
        )
        return patched

    def finish(self, name: str, phase: str = "Completed", **status: Any) -> dict[str, Any]:
        return self.set_status("executions", name, {"phase": phase, "finishedAt": _now(), **status})

    def archive(self, root: dict[str, Any], descendants: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """Archive ``root`` and ``descendants`` as kontinue's TTL does: archive first, then delete."""
        archive, _ = build_archive(root, descendants, [], [], archived_at=utc_now(), delete_at=None)
        created = self.create("archivedexecutions", archive)
        for obj in [root, *descendants]:
            self.delete("executions", obj["metadata"]["name"])
        return created

    def job(self, name: str, parent: str, root: str, *, attempt: int = 1) -> dict[str, Any]:
        body = {
            "metadata": {
                "name": name,
                "labels": lineage_labels(parent, root, attempt),
            },
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
                }
            },
        }
        job: dict[str, Any] = k8s.BatchV1Api(self.api).create_namespaced_job(self.namespace, body).to_dict()
        return job


def _now() -> str:
    return format_timestamp(utc_now())


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"


def create_namespace(api: k8s.ApiClient, stem: str) -> str:
    """Create a fresh namespace named ``<stem>-<random>``; returns its name."""
    name = unique(stem)
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
    return name
