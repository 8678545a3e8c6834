"""TTL of finished root trees (spec §3.9): archive into an ArchivedExecution (spec §4), delete.

Archiving lists the whole tree from the API server (the root plus every Execution, Suspension and
Job labelled ``kontinue.cloud/root=<root>``), writes the ArchivedExecution named after the root,
then deletes the originals, descendants first, each with ``propagationPolicy: Background``. Worker
Pods (not archived, spec §4) and their log files go too: nothing garbage-collects them in the
sandbox. Every step is idempotent, so an emulator killed halfway finishes the job on restart.

The tree document is the client's: ``ArchivedExecution.from_tree`` builds it (canonical JSON,
sorted keys, gzip without timestamp, base64), so what the emulator writes is what the client reads.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import Any

from airflow_provider_kontinue.client.models import ArchivedExecution
from airflow_provider_kontinue.sandbox.emulator import names
from airflow_provider_kontinue.sandbox.emulator.context import Context
from airflow_provider_kontinue.sandbox.emulator.kube import ApiError
from airflow_provider_kontinue.sandbox.emulator.podlogs import PodLogs
from airflow_provider_kontinue.sandbox.emulator.times import maybe_timestamp

log = logging.getLogger(__name__)


def _typed(obj: dict[str, Any], api_version: str, kind: str) -> dict[str, Any]:
    """``obj`` with its apiVersion and kind (list items of built-in kinds come without them)."""
    return {**obj, "apiVersion": api_version, "kind": kind}


def build_archive(
    root: dict[str, Any],
    executions: list[dict[str, Any]],
    suspensions: list[dict[str, Any]],
    jobs: list[dict[str, Any]],
    *,
    archived_at: datetime,
    delete_at: datetime | None,
) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The ArchivedExecution (without status) and its status, for a root and its descendants."""
    archive = ArchivedExecution.from_tree(
        _typed(root, names.API_VERSION, "Execution"),
        executions=[_typed(e, names.API_VERSION, "Execution") for e in executions],
        suspensions=[_typed(s, names.API_VERSION, "Suspension") for s in suspensions],
        jobs=[_typed(j, "batch/v1", "Job") for j in jobs],
        archived_at=archived_at,
        delete_at=delete_at,
    ).to_dict()
    return archive, archive.pop("status", None)


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
