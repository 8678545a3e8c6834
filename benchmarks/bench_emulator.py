"""How fast the kontinue emulator reacts, alone and under 1,000 concurrent executions.

- ``emulator_create_to_executing_ms_p50``: one execution at a time (30 samples), from just before
  the create request to the watch event showing ``phase: Executing``; median.
- ``emulator_create_to_executing_ms_p50_1000``: 1,000 executions created at once (50 create
  requests in flight); the same latency per execution; median over the 1,000.
- ``emulator_1000_all_done_s``: for those 1,000 trivial executions, from the first create request
  to the last ``Completed`` event.

Each run starts its own sandbox (etcd + kube-apiserver) and its own emulator process at speed 1.
The executions are created the way the kontinue client spawns them (function and worker-group
labels set); the function returns at once, so every execution goes Pending -> Executing ->
Completed with its Job and Pod. Observations come from one watch on the namespace.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.figures import emit, median, percentile, progress
from kontinue_sandbox import processes
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator import process as emulator_process
from kontinue_sandbox.emulator.kube import Kube

SINGLE_SAMPLES = 30
CONCURRENT = 1000
CREATE_CONCURRENCY = 50


class Observer:
    """One watch on a namespace's executions, noting when each reaches Executing and Completed."""

    def __init__(self, kube: Kube, namespace: str) -> None:
        self.kube = kube
        self.namespace = namespace
        self.executing: dict[str, float] = {}
        self.completed: dict[str, float] = {}
        self.changed = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        path = names.EXECUTIONS.path(self.namespace)
        _, version = await self.kube.list(path)
        self._task = asyncio.get_running_loop().create_task(self._watch(path, version))

    async def _watch(self, path: str, version: str) -> None:
        while True:
            query = {"resourceVersion": version, "allowWatchBookmarks": True, "timeoutSeconds": 600}
            async for event in self.kube.watch(path, query, timeout=600):
                obj = event.get("object") or {}
                version = (obj.get("metadata") or {}).get("resourceVersion") or version
                name = str((obj.get("metadata") or {}).get("name"))
                phase = (obj.get("status") or {}).get("phase")
                now = time.perf_counter()
                if phase in ("Executing", "Completed") and name not in self.executing:
                    self.executing[name] = now
                if phase == "Completed" and name not in self.completed:
                    self.completed[name] = now
                    self.changed.set()

    async def wait_completed(self, count: int, timeout: float) -> None:
        deadline = time.perf_counter() + timeout
        while len(self.completed) < count:
            self.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError(
                    f"only {len(self.completed)} of {count} executions completed in {timeout}s"
                )
            try:
                await asyncio.wait_for(self.changed.wait(), remaining)
            except asyncio.TimeoutError:
                continue

    def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()


def execution(namespace: str, name: str) -> dict[str, Any]:
    return {
        "apiVersion": names.API_VERSION,
        "kind": "Execution",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": {names.LABEL_FUNCTION: "noop", names.LABEL_WORKER_GROUP: "default"},
        },
        "spec": {"function": "noop", "arguments": {}},
    }


async def prepare(kube: Kube, namespace: str) -> Observer:
    await kube.create("/api/v1/namespaces", {"metadata": {"name": namespace}})
    await kube.create(
        names.FUNCTIONS.path(namespace),
        {
            "apiVersion": names.API_VERSION,
            "kind": "Function",
            "metadata": {"name": "noop", "labels": {names.LABEL_WORKER_GROUP: "default"}},
            "spec": {"name": "noop", "workerGroup": "default", "emulator": {"steps": [{"return": "ok"}]}},
        },
    )
    observer = Observer(kube, namespace)
    await observer.start()
    await asyncio.sleep(0.5)  # let the emulator see the Function before the first execution
    return observer


async def single(kube: Kube) -> list[float]:
    observer = await prepare(kube, "bench-single")
    samples = []
    try:
        for index in range(SINGLE_SAMPLES):
            name = f"single-{index}"
            started = time.perf_counter()
            await kube.create(names.EXECUTIONS.path("bench-single"), execution("bench-single", name))
            await observer.wait_completed(index + 1, timeout=30)
            samples.append((observer.executing[name] - started) * 1000)
    finally:
        observer.stop()
    return samples


async def concurrent(kube: Kube) -> tuple[list[float], float]:
    namespace = "bench-concurrent"
    observer = await prepare(kube, namespace)
    created: dict[str, float] = {}
    slots = asyncio.Semaphore(CREATE_CONCURRENCY)

    async def create(index: int) -> None:
        name = f"load-{index:04d}"
        async with slots:
            created[name] = time.perf_counter()
            await kube.create(names.EXECUTIONS.path(namespace), execution(namespace, name))

    try:
        first = time.perf_counter()
        await asyncio.gather(*(create(i) for i in range(CONCURRENT)))
        progress(f"created {CONCURRENT} executions in {time.perf_counter() - first:.1f}s")
        await observer.wait_completed(CONCURRENT, timeout=600)
        latencies = [(observer.executing[n] - created[n]) * 1000 for n in created]
        all_done = max(observer.completed.values()) - first
    finally:
        observer.stop()
    return latencies, all_done


async def measure(kubeconfig: Path) -> None:
    kube = await Kube.from_kubeconfig(str(kubeconfig), max_in_flight=CREATE_CONCURRENCY + 10)
    try:
        samples = await single(kube)
        progress(f"single: p50 {median(samples):.1f} ms, p90 {percentile(samples, 90):.1f} ms")
        emit("emulator_create_to_executing_ms_p50", median(samples), "ms")
        latencies, all_done = await concurrent(kube)
        progress(
            f"1000: executing p50 {median(latencies):.0f} ms, p90 {percentile(latencies, 90):.0f} ms; "
            f"all done in {all_done:.1f}s"
        )
        emit("emulator_create_to_executing_ms_p50_1000", median(latencies), "ms")
        emit("emulator_1000_all_done_s", all_done, "s")
    finally:
        await kube.close()


def main() -> None:
    with ControlPlane() as plane, tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        emulator = emulator_process.start(
            plane.kubeconfig, log_dir=directory / "emulator", log_file=directory / "emulator.log"
        )
        try:
            asyncio.run(measure(plane.kubeconfig))
        finally:
            processes.stop_group(emulator.pid)
            emulator.wait()


if __name__ == "__main__":
    main()
