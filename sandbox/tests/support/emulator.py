"""The emulator suite's toolbox: the emulator as a process a test may kill, and ``Kontinue``, the
raw-``kubernetes``-client actions a kontinue client would take (create Functions and Executions,
patch ``/status`` to cancel, skip or resume, bump ``spec.retry.retries`` to retry). Every wait is a
watch with a deadline (``Kontinue.wait``), never a sleep-and-poll loop.
"""

from __future__ import annotations

import builtins
import contextlib
import json
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from kontinue_sandbox import processes
from kontinue_sandbox.emulator import process as emulator_process
from kontinue_sandbox.errors import log_tail

GROUP, VERSION = "kontinue.cloud", "v1alpha1"
SPEED = 20.0
TERMINAL = ("Completed", "Failed", "Canceled", "Skipped")
Obj = dict[str, Any]
Objs = list[Obj]
"""Spelled once here: inside ``Kontinue`` the name ``list`` is its method."""


class EmulatorProcess:
    """The emulator subprocess, which a test may kill (SIGKILL) and start again."""

    def __init__(self, kubeconfig: Path, directory: Path) -> None:
        self.kubeconfig = kubeconfig
        self.directory = directory
        self.log_file = directory / "emulator.log"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = emulator_process.start(
            self.kubeconfig, log_dir=self.directory / "state", log_file=self.log_file, speed=SPEED
        )

    def kill(self) -> None:
        """Die the hard way: no cleanup, exactly like a crash."""
        if self.proc is not None:
            processes.stop_group(self.proc.pid, grace=0.0)
            self.proc.wait()
            self.proc = None

    def stop(self) -> None:
        if self.proc is not None:
            processes.stop_group(self.proc.pid, grace=10.0)
            self.proc.wait()
            self.proc = None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 40) -> str:
        return log_tail(self.log_file, lines)


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


class Kontinue:
    """What the tests do to kontinue resources in one namespace, with the raw kubernetes client."""

    def __init__(self, api: k8s.ApiClient, namespace: str, emulator: EmulatorProcess) -> None:
        self.api = api
        self.namespace = namespace
        self.emulator = emulator
        self.custom = k8s.CustomObjectsApi(api)
        self.core = k8s.CoreV1Api(api)
        self.batch = k8s.BatchV1Api(api)

    # -- creating ----------------------------------------------------------------------------------

    def function(
        self,
        name: str,
        steps: Objs | None = None,
        *,
        speed: float | None = None,
        arguments: Objs | None = None,
        defaults: Obj | None = None,
        concurrency: int | None = None,
        emulator: Any = ...,
        group: str = "default",
    ) -> Obj:
        spec: Obj = {"name": name, "workerGroup": group}
        if emulator is not ...:
            spec["emulator"] = emulator
        elif steps is not None:
            spec["emulator"] = {"steps": steps, **({"speed": speed} if speed else {})}
        if arguments is not None:
            spec["arguments"] = arguments
        if defaults is not None:
            spec["defaults"] = defaults
        if concurrency is not None:
            spec["concurrency"] = {"limit": concurrency}
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Function",
            "metadata": {"name": name, "labels": {"kontinue.cloud/worker-group": group}},
            "spec": spec,
        }
        return self.create("functions", body)

    def execution(
        self,
        function: str,
        arguments: Obj | None = None,
        *,
        name: str | None = None,
        labels: dict[str, str] | None = None,
        **spec: Any,
    ) -> Obj:
        """Create an Execution the way ``kubectl create`` would: no labels, no defaults merged."""
        metadata: Obj = {"name": name} if name else {"generateName": f"{function}-"}
        if labels:
            metadata["labels"] = labels
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Execution",
            "metadata": metadata,
            "spec": {"function": function, "arguments": arguments or {}, **spec},
        }
        return self.create("executions", body)

    def create(self, plural: str, body: Obj) -> Obj:
        created: Obj = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, body
        )
        return created

    # -- reading -----------------------------------------------------------------------------------

    def get(self, plural: str, name: str) -> Obj | None:
        try:
            if plural == "jobs":
                job: Obj = self.api.sanitize_for_serialization(
                    self.batch.read_namespaced_job(name, self.namespace)
                )
                return job
            if plural == "pods":
                pod: Obj = self.api.sanitize_for_serialization(
                    self.core.read_namespaced_pod(name, self.namespace)
                )
                return pod
            found: Obj = self.custom.get_namespaced_custom_object(
                GROUP, VERSION, self.namespace, plural, name
            )
            return found
        except ApiException as err:
            if err.status == 404:
                return None
            raise

    def list(self, plural: str, selector: str | None = None) -> Objs:
        return self._list(plural, selector)[0]

    def _list(self, plural: str, selector: str | None) -> tuple[Objs, str]:
        kwargs = {"label_selector": selector} if selector else {}
        if plural == "jobs":
            raw = self.api.sanitize_for_serialization(
                self.batch.list_namespaced_job(self.namespace, **kwargs)
            )
        elif plural == "pods":
            raw = self.api.sanitize_for_serialization(self.core.list_namespaced_pod(self.namespace, **kwargs))
        else:
            raw = self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, **kwargs)
        items = sorted(raw.get("items") or [], key=lambda o: o["metadata"]["name"])
        return items, raw["metadata"]["resourceVersion"]

    def _watch_func(self, plural: str) -> tuple[Callable[..., Any], tuple[Any, ...]]:
        if plural == "jobs":
            return self.batch.list_namespaced_job, (self.namespace,)
        if plural == "pods":
            return self.core.list_namespaced_pod, (self.namespace,)
        return self.custom.list_namespaced_custom_object, (GROUP, VERSION, self.namespace, plural)

    def children(self, parent: str, plural: str = "executions") -> Objs:
        return self.list(plural, f"kontinue.cloud/parent={parent}")

    # -- waiting -----------------------------------------------------------------------------------

    def wait_list(
        self,
        plural: str,
        predicate: Callable[[dict[str, Obj]], bool],
        *,
        selector: str | None = None,
        timeout: float = 20.0,
        what: str = "a condition",
    ) -> dict[str, Obj]:
        """Watch ``plural`` in the namespace until ``predicate({name: object})`` holds."""
        deadline = time.monotonic() + timeout
        objects: dict[str, Obj] = {}
        while True:
            items, version = self._list(plural, selector)
            objects = {o["metadata"]["name"]: o for o in items}
            if predicate(objects):
                return objects
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                break
            func, args = self._watch_func(plural)
            kwargs: Obj = {"resource_version": version, "timeout_seconds": max(1, int(remaining) + 1)}
            if selector:
                kwargs["label_selector"] = selector
            stream = watch.Watch()
            try:
                for event in stream.stream(func, *args, **kwargs):
                    raw = event.get("raw_object") or {}
                    if event["type"] == "ERROR":
                        break
                    name = raw.get("metadata", {}).get("name")
                    if event["type"] == "DELETED":
                        objects.pop(name, None)
                    elif name:
                        objects[name] = raw
                    if predicate(objects):
                        stream.stop()
                        return objects
                    if time.monotonic() > deadline:
                        stream.stop()
                        break
            except ApiException as err:
                if err.status != 410:
                    raise
            if time.monotonic() > deadline:
                break
        summary = {n: (o.get("status") or {}).get("phase") for n, o in objects.items()}
        raise AssertionError(
            f"timed out after {timeout}s waiting for {what} in {plural}; last seen phases: {summary}\n"
            f"emulator log:\n{self.emulator.log_tail()}"
        )

    def wait(
        self,
        plural: str,
        name: str,
        predicate: Callable[[Obj | None], bool],
        *,
        timeout: float = 20.0,
        what: str = "",
    ) -> Obj:
        """Watch one object until ``predicate(object or None)`` holds; return it."""
        found: builtins.list[Obj | None] = [None]

        def check(objects: dict[str, Obj]) -> bool:
            found[0] = objects.get(name)
            return predicate(found[0])

        try:
            self.wait_list(plural, check, timeout=timeout, what=what or f"{plural}/{name}")
        except AssertionError as err:
            status = json.dumps((found[0] or {}).get("status"), indent=1)[:3000]
            raise AssertionError(f"{err}\nlast status of {name}: {status}") from None
        return found[0] or {}

    def wait_phase(self, name: str, *phases: str, timeout: float = 20.0) -> Obj:
        return self.wait(
            "executions",
            name,
            lambda o: o is not None and (o.get("status") or {}).get("phase") in phases,
            timeout=timeout,
            what=f"execution {name} to reach {'/'.join(phases)}",
        )

    def wait_gone(self, plural: str, name: str, timeout: float = 20.0) -> None:
        self.wait(plural, name, lambda o: o is None, timeout=timeout, what=f"{plural}/{name} to be deleted")

    @contextlib.contextmanager
    def phases(self, name: str, since: str = "0") -> Iterator[builtins.list[str]]:
        """Record every phase the execution ``name`` passes through, in order, while in the block.

        ``since``: the resourceVersion to watch from (the creation's, to see every phase even when
        the emulator moves faster than the watch starts); ``"0"`` starts from the current state.
        """
        seen: builtins.list[str] = []
        stop = threading.Event()
        started = threading.Event()

        def record() -> None:
            stream = watch.Watch()
            version = since
            try:
                while not stop.is_set():
                    started.set()
                    for event in stream.stream(
                        self.custom.list_namespaced_custom_object,
                        GROUP,
                        VERSION,
                        self.namespace,
                        "executions",
                        field_selector=f"metadata.name={name}",
                        resource_version=version,
                        timeout_seconds=1,
                    ):
                        raw = event.get("raw_object") or {}
                        version = raw.get("metadata", {}).get("resourceVersion", version)
                        phase = (raw.get("status") or {}).get("phase")
                        if phase and (not seen or seen[-1] != phase):
                            seen.append(phase)
                        if stop.is_set():
                            stream.stop()
            except ApiException:
                pass

        thread = threading.Thread(target=record, daemon=True)
        thread.start()
        started.wait(5)
        try:
            yield seen
        finally:
            stop.set()
            thread.join(5)

    # -- client actions (what the kontinue client writes) ------------------------------------------

    def patch_status(self, plural: str, name: str, status: Obj) -> Obj:
        patched: Obj = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, plural, name, {"status": status}
        )
        return patched

    def cancel(self, name: str, message: str = "Canceled by client") -> Obj:
        return self.patch_status(
            "executions",
            name,
            {"phase": "Canceled", "reason": "CanceledByClient", "message": message, "finishedAt": now_utc()},
        )

    def skip(self, name: str, result: Any = None, message: str = "Skipped by client") -> Obj:
        status: Obj = {
            "phase": "Skipped",
            "reason": "SkippedByClient",
            "message": message,
            "finishedAt": now_utc(),
        }
        status["result"] = result
        return self.patch_status("executions", name, status)

    def retry(self, name: str, child_policy: str | None = None) -> Obj:
        execution = self.get("executions", name)
        assert execution is not None
        retry = dict(execution["spec"].get("retry") or {})
        retry["retries"] = int(retry.get("retries") or 0) + 1
        if child_policy:
            retry["childPolicy"] = child_policy
        patched: Obj = self.custom.patch_namespaced_custom_object(
            GROUP, VERSION, self.namespace, "executions", name, {"spec": {"retry": retry}}
        )
        return patched

    def resume(self, suspension: str) -> Obj:
        return self.patch_status(
            "suspensions",
            suspension,
            {
                "phase": "Completed",
                "resumedAt": now_utc(),
                "resumedBy": "Client",
                "message": "Resumed by client",
            },
        )

    # -- jobs, pods and logs -----------------------------------------------------------------------

    def worker_job(self, execution: Obj | str, attempt: int = 1) -> Obj:
        name = execution if isinstance(execution, str) else execution["metadata"]["name"]
        jobs = self.list(
            "jobs",
            f"kontinue.cloud/parent={name},kontinue.cloud/step=worker,kontinue.cloud/attempt={attempt}",
        )
        assert len(jobs) == 1, f"expected one worker job for attempt {attempt} of {name}, found {len(jobs)}"
        return jobs[0]

    def worker_pod(self, job: Obj | str) -> Obj:
        name = job if isinstance(job, str) else job["metadata"]["name"]
        pods = self.list("pods", f"batch.kubernetes.io/job-name={name}")
        assert len(pods) == 1, f"expected one pod for job {name}, found {len(pods)}"
        return pods[0]

    def log(self, pod: str, **options: Any) -> str:
        text: str = self.core.read_namespaced_pod_log(pod, self.namespace, **options)
        return text


def status(obj: Obj | None) -> Obj:
    return (obj or {}).get("status") or {}


def labels(obj: Obj) -> dict[str, str]:
    found: dict[str, str] = obj["metadata"].get("labels") or {}
    return found
