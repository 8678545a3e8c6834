"""The kontinue CRDs shipped with the package, and installing them into a cluster.

The manifests under ``crds/`` are the same files users ``kubectl apply``; the sandbox installs them
on start and waits until the API server serves every kind, so the first request of a test never
races the CRD registration.
"""

from __future__ import annotations

import time
from importlib import resources
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kontinue_sandbox.errors import SandboxError

GROUP = "kontinue.cloud"
VERSION = "v1alpha1"


def manifests() -> list[dict[str, Any]]:
    """Every kontinue CRD manifest shipped in the package, in a stable order."""
    folder = resources.files("kontinue_sandbox") / "crds"
    documents: list[dict[str, Any]] = []
    for entry in sorted(folder.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".yaml"):
            documents.extend(d for d in yaml.safe_load_all(entry.read_text(encoding="utf-8")) if d)
    return documents


def install(api: k8s.ApiClient, *, timeout: float = 60.0) -> list[str]:
    """Create (or update) the kontinue CRDs and wait until all are established and discoverable."""
    extensions = k8s.ApiextensionsV1Api(api)
    names = []
    for manifest in manifests():
        name = manifest["metadata"]["name"]
        names.append(name)
        try:
            extensions.create_custom_resource_definition(manifest)
        except ApiException as err:
            if err.status != 409:
                raise SandboxError(
                    f"installing CRD {name} failed: {err.status} {err.reason}: {err.body}"
                ) from err
            current = extensions.read_custom_resource_definition(name)
            manifest = {
                **manifest,
                "metadata": {**manifest["metadata"], "resourceVersion": current.metadata.resource_version},
            }
            extensions.replace_custom_resource_definition(name, manifest)
    wait_until_served(api, names, timeout=timeout)
    return names


def wait_until_served(api: k8s.ApiClient, names: list[str], *, timeout: float) -> None:
    """Block until each CRD is Established, listed by API discovery, and its objects can be listed."""
    extensions = k8s.ApiextensionsV1Api(api)
    custom = k8s.CustomObjectsApi(api)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            crd = extensions.read_custom_resource_definition(name)
            established = any(
                c.type == "Established" and c.status == "True" for c in (crd.status.conditions or [])
            )
            if established:
                pending.discard(name)
        if pending:
            time.sleep(0.05)
    while time.monotonic() < deadline:
        try:
            served = {r.name for r in custom.get_api_resources(GROUP, VERSION).resources}
        except ApiException as err:  # the group appears in discovery a moment after the CRDs
            if err.status != 404:
                raise
            served = set()
        if all(name.split(".", 1)[0] in served for name in names):
            break
        time.sleep(0.05)
    else:
        raise not_served(timeout, sorted(pending) or names)
    # Served is not yet listable: until each resource's watch cache has loaded, lists answer
    # 429 "storage is (re)initializing", which every client would have to retry.
    unlisted = [name.split(".", 1)[0] for name in names]
    while unlisted and time.monotonic() < deadline:
        try:
            custom.list_cluster_custom_object(GROUP, VERSION, unlisted[0], limit=1)
            unlisted.pop(0)
        except ApiException as err:
            if err.status not in (429, 503):
                raise
            time.sleep(0.05)
    if unlisted:
        raise not_served(timeout, [f"a list of {plural}" for plural in unlisted])


def not_served(timeout: float, waiting_for: list[str]) -> SandboxError:
    return SandboxError(
        f"CRDs not served within {timeout:.0f}s: still waiting for {waiting_for}; "
        "check the API server log for apiextensions errors"
    )
