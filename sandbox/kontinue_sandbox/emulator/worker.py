"""Worker Jobs: every attempt of an execution runs as a ``batch/v1`` Job with one Pod.

Naming (docs/sandbox.md): the Job of attempt N of execution E is E's child named by spec §3.6
with step ``worker`` (``<E[:45]>-<sha256("E/Job/worker/N")[:8]>``), labelled like every child
(``kontinue.cloud/parent=E``, ``root``, ``worker-group``, ``attempt=N``, ``step=worker``), owned by E,
and listed in E's ``status.children``. Its Pod is ``<job>-<5 hex>``, labelled
``batch.kubernetes.io/job-name`` / ``job-name`` as the Job controller would, bound to the emulator's
Node, and its container ``worker`` prints the attempt's log lines (served by the fake kubelet).

The emulator plays the Job controller and the kubelet: it creates the Pod and writes Pod and Job
status the way they would (Running; then Succeeded with ``Complete``, Failed with
``FailureTarget`` + ``Failed``, or, for a canceled execution, ``spec.suspend: true`` with
``Suspended``). Jobs carry ``spec.managedBy: kontinue.cloud/emulator`` so that on a real cluster
the built-in Job controller leaves them to the emulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.informer import Informer
from kontinue_sandbox.emulator.kube import ApiError, Kube
from kontinue_sandbox.emulator.podlogs import PodLogs
from kontinue_sandbox.emulator.times import Clock, format_timestamp

log = logging.getLogger(__name__)

Ending = Literal["succeeded", "failed", "canceled"]
RUNNING_SYNC_DELAY = 0.5
"""Seconds between starting an attempt and reporting its Pod and Job Running (a kubelet's lag)."""
POD_CONDITIONS = ("PodReadyToStartContainers", "Initialized", "Ready", "ContainersReady", "PodScheduled")


def slim_pod(pod: dict[str, Any]) -> dict[str, Any]:
    """What the pod cache keeps: identity, labels and phase."""
    metadata = pod.get("metadata") or {}
    return {
        "metadata": {
            k: metadata[k]
            for k in ("name", "namespace", "uid", "labels", "resourceVersion", "creationTimestamp")
            if k in metadata
        },
        "status": {"phase": (pod.get("status") or {}).get("phase")},
    }


def _seconds(when: datetime) -> str:
    """Kubernetes ``metav1.Time`` precision, for the built-in objects."""
    return format_timestamp(when.replace(microsecond=0))


class Workers:
    """Creates and finishes the Job and Pod of each attempt, and writes their log lines."""

    def __init__(
        self, kube: Kube, logs: PodLogs, clock: Clock, pods: Informer, *, node_name: str, address: str
    ) -> None:
        self.kube = kube
        self.logs = logs
        self.clock = clock
        self.pods = pods
        self.node_name = node_name
        self.address = address
        self._attempts: dict[tuple[str, str], _Attempt] = {}
        self._locks: dict[tuple[str, str], asyncio.Lock] = {}
        self._tasks: set[asyncio.Task[None]] = set()

    # -- naming ------------------------------------------------------------------------------------

    @staticmethod
    def names_for(execution: dict[str, Any], attempt: int) -> tuple[str, str]:
        job = names.worker_job_name(str(names.meta(execution)["name"]), attempt)
        return job, names.worker_pod_name(job)

    # -- objects -----------------------------------------------------------------------------------

    def _job(self, execution: dict[str, Any], attempt: int, worker_group: str | None) -> dict[str, Any]:
        metadata = names.meta(execution)
        name, namespace = str(metadata["name"]), str(metadata["namespace"])
        job_name, _ = self.names_for(execution, attempt)
        labels = names.child_labels(execution, names.WORKER_STEP, attempt, worker_group)
        function = str(names.spec(execution).get("function"))
        return {
            "apiVersion": "batch/v1",
            "kind": "Job",
            "metadata": {
                "name": job_name,
                "namespace": namespace,
                "labels": labels,
                "annotations": {
                    names.ANNOTATION_DISPLAY_NAME: f"{function} (attempt {attempt})",
                    names.ANNOTATION_DESCRIPTION: f"kontinue emulator worker for attempt {attempt} of {name}",
                },
                "ownerReferences": [names.owner_reference(execution, "Execution")],
            },
            "spec": {
                "backoffLimit": 0,
                "completions": 1,
                "parallelism": 1,
                "managedBy": names.JOB_MANAGED_BY,
                "template": {
                    "metadata": {"labels": dict(labels)},
                    "spec": {
                        "restartPolicy": "Never",
                        "terminationGracePeriodSeconds": 0,
                        "automountServiceAccountToken": False,
                        "containers": [
                            {
                                "name": names.WORKER_CONTAINER,
                                "image": names.WORKER_IMAGE,
                                "args": ["run", "--execution", name, "--attempt", str(attempt)],
                                "env": [
                                    {"name": "KONTINUE_NAMESPACE", "value": namespace},
                                    {"name": "KONTINUE_EXECUTION", "value": name},
                                    {"name": "KONTINUE_FUNCTION", "value": function},
                                    {"name": "KONTINUE_ATTEMPT", "value": str(attempt)},
                                ],
                            }
                        ],
                    },
                },
            },
        }

    def _pod(self, job: dict[str, Any]) -> dict[str, Any]:
        metadata = names.meta(job)
        job_name, uid = str(metadata["name"]), str(metadata.get("uid"))
        template = names.spec(job)["template"]
        labels = {
            **((template.get("metadata") or {}).get("labels") or {}),
            names.LABEL_JOB_NAME: job_name,
            names.LABEL_JOB_NAME_LEGACY: job_name,
            names.LABEL_CONTROLLER_UID: uid,
            names.LABEL_CONTROLLER_UID_LEGACY: uid,
        }
        return {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": names.worker_pod_name(job_name),
                "namespace": metadata["namespace"],
                "labels": labels,
                "ownerReferences": [names.owner_reference(job, "Job", "batch/v1")],
            },
            "spec": {**template["spec"], "nodeName": self.node_name},
        }

    def _running_pod_status(self, now: datetime) -> dict[str, Any]:
        stamp = _seconds(now)
        return {
            "phase": "Running",
            "hostIP": self.address,
            "hostIPs": [{"ip": self.address}],
            "startTime": stamp,
            "qosClass": "BestEffort",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": stamp} for t in POD_CONDITIONS
            ],
            "containerStatuses": [
                {
                    "name": names.WORKER_CONTAINER,
                    "image": names.WORKER_IMAGE,
                    "imageID": "",
                    "containerID": "emulator://worker",
                    "ready": True,
                    "started": True,
                    "restartCount": 0,
                    "state": {"running": {"startedAt": stamp}},
                }
            ],
        }

    # -- lifecycle ---------------------------------------------------------------------------------

    def _lock(self, namespace: str, pod: str) -> asyncio.Lock:
        lock = self._locks.get((namespace, pod))
        if lock is None:
            lock = self._locks[(namespace, pod)] = asyncio.Lock()
        return lock

    async def start(self, execution: dict[str, Any], attempt: int, worker_group: str | None) -> str:
        """Make sure the attempt's Job and Pod exist and run; return the pod's name. Idempotent.

        The Running status of the Pod and the Job is written RUNNING_SYNC_DELAY later, as a
        kubelet's status manager would: an attempt that ends sooner goes straight from Pending to
        its end, which halves the writes of short attempts.
        """
        metadata = names.meta(execution)
        namespace = str(metadata["namespace"])
        body = self._job(execution, attempt, worker_group)
        job_name = body["metadata"]["name"]
        try:
            job = await self.kube.create(names.JOBS.path(namespace), body)
        except ApiError as err:
            if not err.conflict:
                raise
            found = await self.kube.get(names.JOBS.path(namespace, job_name))
            if found is None:
                raise
            job = found
        pod_body = self._pod(job)
        pod_name = str(pod_body["metadata"]["name"])
        cached = self.pods.store.get(namespace, pod_name)
        if cached is None:
            try:
                created = await self.kube.create(names.PODS.path(namespace), pod_body)
                self.pods.put(created)
                cached = self.pods.store.get(namespace, pod_name)
            except ApiError as err:
                if not err.conflict:
                    raise
        running = cached is not None and names.status(cached).get("phase") == "Running"
        job_started = bool(names.status(job).get("startTime"))
        self._attempts[(namespace, pod_name)] = _Attempt(job_name, self.clock.now(), running, job_started)
        if not (running and job_started):
            task = asyncio.get_running_loop().create_task(self._sync_running(namespace, pod_name))
            self._tasks.add(task)  # a strong reference, or the task may be collected mid-way
            task.add_done_callback(self._tasks.discard)
        return pod_name

    async def close(self) -> None:
        """Stop pending status syncs (the next emulator redoes them from the Pods' status)."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task

    async def _sync_running(self, namespace: str, pod: str) -> None:
        await asyncio.sleep(RUNNING_SYNC_DELAY)
        async with self._lock(namespace, pod):
            attempt = self._attempts.get((namespace, pod))
            if attempt is None:
                return  # it ended first: finish() wrote the whole story
            writes: list[Coroutine[Any, Any, Any]] = []
            if not attempt.pod_running:
                writes.append(self._set_pod_status(namespace, pod, self._running_pod_status(attempt.started)))
            if not attempt.job_started:
                writes.append(
                    self.kube.patch(
                        names.JOBS.path(namespace, attempt.job, "status"),
                        {"status": {"startTime": _seconds(attempt.started), "active": 1, "ready": 1}},
                    )
                )
            try:
                await asyncio.gather(*writes)
            except ApiError as err:
                log.warning("could not mark %s/%s running: %s", namespace, pod, err)
                return
            attempt.pod_running = attempt.job_started = True

    async def _set_pod_status(self, namespace: str, pod: str, status: dict[str, Any]) -> None:
        updated = await self.kube.patch(names.PODS.path(namespace, pod, "status"), {"status": status})
        self.pods.put(updated)

    def log(self, namespace: str, pod: str, text: str) -> None:
        self.logs.append(namespace, pod, text, self.clock.now())

    def pod_state(self, namespace: str, pod: str) -> str:
        """For the kubelet: "running", "finished", or "unknown" (not a pod of this node)."""
        cached = self.pods.store.get(namespace, pod)
        if cached is None:
            return "unknown"
        return "finished" if names.status(cached).get("phase") in ("Succeeded", "Failed") else "running"

    def knows(self, namespace: str, pod: str) -> bool:
        """Whether this process started (or picked up) that pod's attempt and it still runs."""
        return (namespace, pod) in self._attempts

    def is_running(self, namespace: str, pod: str) -> bool:
        cached = self.pods.store.get(namespace, pod)
        return cached is not None and names.status(cached).get("phase") in ("Running", "Pending", None)

    async def finish(
        self, execution: dict[str, Any], attempt: int, ending: Ending, message: str = ""
    ) -> None:
        """End the attempt's Pod and Job (no-op when they already ended or never existed)."""
        namespace = str(names.meta(execution)["namespace"])
        job_name, pod_name = self.names_for(execution, attempt)
        if not self.is_running(namespace, pod_name):
            return
        async with self._lock(namespace, pod_name):
            if not self.is_running(namespace, pod_name):
                return
            await self._finish(namespace, job_name, pod_name, ending, message)
        self._locks.pop((namespace, pod_name), None)

    async def _finish(
        self, namespace: str, job_name: str, pod_name: str, ending: Ending, message: str
    ) -> None:
        known = self._attempts.pop((namespace, pod_name), None)
        now = self.clock.now()
        stamp = _seconds(now)
        started = _seconds(known.started) if known is not None else stamp
        exit_code, reason = _EXITS[ending]
        terminated: dict[str, Any] = {
            "exitCode": exit_code,
            "reason": reason,
            "startedAt": started,
            "finishedAt": stamp,
        }
        if message:
            terminated["message"] = message[:1024]
        not_ready = {"status": "False", "reason": "PodCompleted"}
        pod_status: dict[str, Any] = {
            "phase": "Succeeded" if ending == "succeeded" else "Failed",
            "hostIP": self.address,
            "hostIPs": [{"ip": self.address}],
            "startTime": started,
            "qosClass": "BestEffort",
            "conditions": [
                {"type": t, "status": "True", "lastTransitionTime": stamp}
                | (not_ready if t in ("Ready", "ContainersReady") else {})
                for t in POD_CONDITIONS
            ],
            "containerStatuses": [
                {
                    "name": names.WORKER_CONTAINER,
                    "image": names.WORKER_IMAGE,
                    "imageID": "",
                    "containerID": "emulator://worker",
                    "ready": False,
                    "started": False,
                    "restartCount": 0,
                    "state": {"terminated": terminated},
                }
            ],
        }
        job_path = names.JOBS.path(namespace, job_name)
        job_status: dict[str, Any] = {"active": 0, "ready": 0}
        if known is None:  # started by an earlier emulator process: ask the Job
            job = await self.kube.get(job_path)
            if job is None:
                return
            if not names.status(job).get("startTime"):
                job_status["startTime"] = stamp
        elif not known.job_started:
            job_status["startTime"] = started
        if ending == "succeeded":
            message_text = "Reached expected number of succeeded pods"
            job_status.update(
                succeeded=1,
                completionTime=stamp,
                conditions=[
                    _condition("SuccessCriteriaMet", "CompletionsReached", message_text, stamp),
                    _condition("Complete", "CompletionsReached", message_text, stamp),
                ],
            )
        elif ending == "failed":
            message_text = "Job has reached the specified backoff limit"
            job_status.update(
                failed=1,
                conditions=[
                    _condition("FailureTarget", "BackoffLimitExceeded", message_text, stamp),
                    _condition("Failed", "BackoffLimitExceeded", message_text, stamp),
                ],
            )
        else:
            job_status.update(
                failed=1, conditions=[_condition("Suspended", "JobSuspended", "Job suspended", stamp)]
            )
        try:
            await self._set_pod_status(namespace, pod_name, pod_status)
        except ApiError as err:
            if not err.not_found:
                raise
            self.pods.store.remove((namespace, pod_name))
        self.logs.finish(namespace, pod_name)
        try:
            if ending == "canceled":
                await self.kube.patch(job_path, {"spec": {"suspend": True}})
            await self.kube.patch(f"{job_path}/status", {"status": job_status})
        except ApiError as err:
            if not err.not_found:
                raise


_EXITS: dict[str, tuple[int, str]] = {
    "succeeded": (0, "Completed"),
    "failed": (1, "Error"),
    "canceled": (137, "Error"),
}


@dataclass
class _Attempt:
    """What this process knows of a running attempt's Job and Pod."""

    job: str
    started: datetime
    pod_running: bool
    job_started: bool


def _condition(kind: str, reason: str, message: str, stamp: str) -> dict[str, Any]:
    return {
        "type": kind,
        "status": "True",
        "reason": reason,
        "message": message,
        "lastProbeTime": stamp,
        "lastTransitionTime": stamp,
    }
