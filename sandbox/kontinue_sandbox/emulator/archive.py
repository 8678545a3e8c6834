"""TTL of finished root trees (spec §3.9): archive into an ArchivedExecution (spec §4), delete.

Archiving lists the whole tree from the API server (the root plus every Execution, Suspension and
Job labelled ``kontinue.cloud/root=<root>``), writes the ArchivedExecution named after the root,
then deletes the originals, descendants first, each with ``propagationPolicy: Background``. Worker
Pods (not archived, spec §4) and their log files go too: nothing garbage-collects them in the
sandbox. Every step is idempotent, so an emulator killed halfway finishes the job on restart.

The tree document follows the spec (§4), built here from plain JSON and nothing of the
provider's client: canonical JSON with sorted keys, gzip without a timestamp, base64, so the same
tree always yields the same ``spec.tree.data``. The client's tests read what this writes, so the
two implementations check each other.
"""

from __future__ import annotations

import asyncio
import base64
import copy
import gzip
import json
import logging
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.context import Context
from kontinue_sandbox.emulator.kube import ApiError
from kontinue_sandbox.emulator.podlogs import PodLogs
from kontinue_sandbox.emulator.times import format_timestamp, maybe_timestamp

log = logging.getLogger(__name__)


ENCODING = "gzip+base64"
TREE_VERSION = 1
MAX_BYTES = 1024 * 1024
"""The largest ``spec.tree.data`` kontinue stores (spec §4); bigger trees are shrunk, then refused."""
ANNOTATION_ARCHIVED = f"{names.GROUP}/archived"


def _typed(obj: Mapping[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """A deep copy of ``obj`` with its apiVersion and kind (list items of built-in kinds come
    without them) and without ``metadata.managedFields``."""
    doc: dict[str, Any] = {**copy.deepcopy(dict(obj)), "apiVersion": api_version, "kind": kind}
    metadata = doc.get("metadata")
    if isinstance(metadata, dict):
        metadata.pop("managedFields", None)
    return doc


def _by_name(docs: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(
        docs,
        key=lambda doc: (str(names.meta(doc).get("namespace") or ""), str(names.meta(doc).get("name") or "")),
    )


def encode_tree(document: Mapping[str, Any]) -> str:
    """Canonical JSON -> gzip (no timestamp) -> base64: identical trees give identical bytes."""
    payload = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return base64.b64encode(gzip.compress(payload.encode("utf-8"), compresslevel=9, mtime=0)).decode("ascii")


def build_archive(
    root: dict[str, Any],
    executions: Iterable[dict[str, Any]],
    suspensions: Iterable[dict[str, Any]],
    jobs: Iterable[dict[str, Any]],
    *,
    archived_at: datetime,
    delete_at: datetime | None,
    max_bytes: int = MAX_BYTES,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ArchivedExecution (without status) and its status, for a root and its descendants.

    ``executions`` may include the root or not. Objects are ordered root first, then by name. If
    the encoded tree exceeds ``max_bytes``, ``status.state`` is dropped from non-root executions,
    then Job pod templates (spec §4).

    Raises:
        ValueError: the root has no name, or the tree is still larger than ``max_bytes``.
    """
    root_doc = _typed(root, names.API_VERSION, "Execution")
    root_meta: dict[str, Any] = root_doc.get("metadata") or {}
    root_name = root_meta.get("name")
    if not root_name:
        raise ValueError("cannot archive an execution without metadata.name")
    others = [
        _typed(e, names.API_VERSION, "Execution")
        for e in executions
        if names.meta(e).get("name") != root_name
    ]
    execution_docs = [root_doc, *_by_name(others)]
    suspension_docs = _by_name(_typed(s, names.API_VERSION, "Suspension") for s in suspensions)
    job_docs = _by_name(_typed(j, "batch/v1", "Job") for j in jobs)
    document = {
        "version": TREE_VERSION,
        "root": root_name,
        "executions": execution_docs,
        "suspensions": suspension_docs,
        "jobs": job_docs,
    }
    data = encode_tree(document)
    if len(data) > max_bytes:
        for doc in execution_docs[1:]:
            (doc.get("status") or {}).pop("state", None)
        data = encode_tree(document)
    if len(data) > max_bytes:
        for doc in job_docs:
            (doc.get("spec") or {}).pop("template", None)
        data = encode_tree(document)
    if len(data) > max_bytes:
        raise ValueError(f"tree of {root_name!r} encodes to {len(data)} bytes, over {max_bytes}")

    metadata: dict[str, Any] = {"name": root_name}
    if root_meta.get("namespace"):
        metadata["namespace"] = root_meta["namespace"]
    if root_meta.get("labels"):
        metadata["labels"] = dict(root_meta["labels"])
    annotations = {
        key: value
        for key, value in (root_meta.get("annotations") or {}).items()
        if key.startswith(f"{names.GROUP}/") and key != ANNOTATION_ARCHIVED
    }
    if annotations:
        metadata["annotations"] = annotations
    kept = ("name", "namespace", "uid", "labels", "annotations", "creationTimestamp")
    root_copy: dict[str, Any] = {
        "metadata": {key: root_meta[key] for key in kept if key in root_meta},
        "spec": root_doc.get("spec") or {},
    }
    if "status" in root_doc:
        root_copy["status"] = {k: v for k, v in (root_doc["status"] or {}).items() if k != "state"}
    archive: dict[str, Any] = {
        "apiVersion": names.API_VERSION,
        "kind": "ArchivedExecution",
        "metadata": metadata,
        "spec": {
            "archivedAt": format_timestamp(archived_at),
            "execution": root_copy,
            "tree": {
                "encoding": ENCODING,
                "data": data,
                "counts": {
                    "executions": len(execution_docs),
                    "suspensions": len(suspension_docs),
                    "jobs": len(job_docs),
                },
            },
        },
    }
    status = {"deleteAt": format_timestamp(delete_at)} if delete_at is not None else None
    return archive, status


def slim_archive(archive: dict[str, Any]) -> dict[str, Any]:
    """What the archive cache keeps: no tree data, which can be up to a megabyte each."""
    slim = dict(archive)
    spec = dict(archive.get("spec") or {})
    spec.pop("tree", None)
    execution = spec.get("execution")
    if isinstance(execution, dict):
        spec["execution"] = {"metadata": execution.get("metadata"), "status": execution.get("status")}
    slim["spec"] = spec
    return slim


class Archiver:
    def __init__(self, ctx: Context, logs: PodLogs) -> None:
        self.ctx = ctx
        self.logs = logs

    async def _tree(self, root: dict[str, Any]) -> tuple[list[dict[str, Any]], ...]:
        namespace = str(names.meta(root)["namespace"])
        selector = {"labelSelector": f"{names.LABEL_ROOT}={names.meta(root)['name']}"}
        kube = self.ctx.kube
        results = await asyncio.gather(
            kube.list(names.EXECUTIONS.path(namespace), selector),
            kube.list(names.SUSPENSIONS.path(namespace), selector),
            kube.list(names.JOBS.path(namespace), selector),
            kube.list(names.PODS.path(namespace), selector),
        )
        return tuple(items for items, _ in results)

    async def archive(self, root: dict[str, Any], delete_at: datetime | None) -> None:
        metadata = names.meta(root)
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        fresh = await self.ctx.kube.get(names.EXECUTIONS.path(namespace, name))
        if fresh is None or names.meta(fresh).get("uid") != metadata.get("uid"):
            return
        executions, suspensions, jobs, _pods = await self._tree(fresh)
        archive, status = build_archive(
            fresh, executions, suspensions, jobs, archived_at=self.ctx.clock.now(), delete_at=delete_at
        )
        path = names.ARCHIVES.path(namespace)
        try:
            created = await self.ctx.kube.create(path, archive)
        except ApiError as err:
            if not err.conflict:
                raise
            existing = await self.ctx.kube.get(names.ARCHIVES.path(namespace, name))
            if existing is None:
                raise
            if ((existing.get("spec") or {}).get("execution") or {}).get("metadata", {}).get(
                "uid"
            ) != metadata.get("uid"):
                archive["metadata"]["resourceVersion"] = names.meta(existing).get("resourceVersion")
                created = await self.ctx.kube.replace(names.ARCHIVES.path(namespace, name), archive)
            else:
                created = existing
        if status is not None and names.status(created) != status:
            await self.ctx.write_status(self.ctx.archives, created, status)
        log.info("archived %s/%s (%d executions)", namespace, name, len(executions) + 1)
        await self.delete_tree(fresh)

    async def delete_tree(self, root: dict[str, Any]) -> None:
        """Delete the root and everything labelled with it; descendants first."""
        metadata = names.meta(root)
        namespace, name = str(metadata["namespace"]), str(metadata["name"])
        executions, suspensions, jobs, pods = await self._tree(root)
        kube = self.ctx.kube
        deletions = [
            *(kube.delete(names.PODS.path(namespace, names.meta(p)["name"])) for p in pods),
            *(kube.delete(names.JOBS.path(namespace, names.meta(j)["name"])) for j in jobs),
            *(kube.delete(names.SUSPENSIONS.path(namespace, names.meta(s)["name"])) for s in suspensions),
            *(kube.delete(names.EXECUTIONS.path(namespace, names.meta(e)["name"])) for e in executions),
        ]
        await asyncio.gather(*deletions)
        for pod in pods:
            self.ctx.pods.store.remove((namespace, str(names.meta(pod)["name"])))
            self.logs.remove(namespace, str(names.meta(pod)["name"]))
        await kube.delete(names.EXECUTIONS.path(namespace, name))
        log.info("deleted the tree of %s/%s", namespace, name)

    async def reconcile_archive(self, namespace: str, name: str) -> None:
        """Delete an ArchivedExecution whose ``status.deleteAt`` has come."""
        archive = self.ctx.archives.store.get(namespace, name)
        if archive is None:
            return
        delete_at = names.status(archive).get("deleteAt")
        if not delete_at:
            return
        when = maybe_timestamp(delete_at)
        if when is None:
            return
        if self.ctx.clock.now() >= when:
            await self.ctx.kube.delete(names.ARCHIVES.path(namespace, name))
            log.info("deleted archive %s/%s", namespace, name)
        else:
            self.ctx.queue.add_at(("ArchivedExecution", namespace, name), when)
