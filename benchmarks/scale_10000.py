"""The scale run (``make scale``): 10,000 executions in one namespace, and whether the client and
the triggers stay usable among them. Longer than the other benchmarks, so ``make bench`` leaves it
out; ``make scale`` refreshes its own table in docs/benchmarks.md.

The namespace holds 10,000 executions of 10 Functions: one root with 999 children (a tree of
1,000), 1,000 ``Executing`` (what the trigger waits follow), 1,000 ``Completed`` and 7,000 that
have not started. Everything is written with the raw Kubernetes client, as kontinue would.

- scale_10000_seed_s: how long writing them took (context for the rest, not a client figure).
- scale_10000_list_s / _list_async_s: ``list()`` of all 10,000 (sync, async client), the best of 3.
- scale_10000_list_requests: requests one such ``list()`` costs (live + archived).
- scale_10000_list_mb: the size of the namespace's execution list on the wire.
- scale_10000_list_peak_rss_mib / scale_10000_list_iterator_peak_rss_mib: how far a fresh process's
  peak RSS rises over its RSS once connected, for one ``list()`` of all 10,000 (which returns them
  all, decoded) and for counting them through ``iter_executions()`` (which holds one page).
- scale_10000_list_function_s: ``list(function=...)``, 1,000 selected by the API server.
- scale_10000_list_phase_s: ``list(phases=["Completed"])``, 1,000 selected by the client.
- scale_10000_get_tree_1000_s / _requests: ``get_tree`` of the 1,000-execution tree.
- scale_10000_wait_ms_p50 / _p99: 30 ``wait_for_execution`` calls, one at a time, each on one of
  the 10,000: from the status write to the call's return.
- scale_10000_wait_requests: requests one ``wait_for_execution`` costs (one watch: it follows its
  one execution, never the namespace).
- scale_10000_load_1000_*: ``benchmarks/bench_reliability.py``'s 1,000 trigger waits, here on the
  1,000 ``Executing`` executions among the 10,000 (the shared watch lists the whole namespace).
- scale_10000_client_rss_mb / scale_10000_apiserver_rss_mb: this process and the API server after
  the client figures.
- scale_10000_waits_*: the same figures for 10,000 trigger waits in one process, on the 10,000
  ``Executing`` executions of a second namespace, finished in ten bursts of 1,000 status writes;
  ``scale_10000_waits_kib_per_wait`` is the memory each wait adds.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import subprocess
import sys
import threading
import time
from typing import Any

import psutil
from kubernetes import client as k8s

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient, ListOptions
from benchmarks import bench_reliability
from benchmarks.figures import emit, percentile, progress
from kontinue_sandbox.controlplane import ControlPlane

GROUP, VERSION, NS, WAITS_NS = "kontinue.cloud", "v1alpha1", "scale", "scale-waits"
TOTAL, TREE, EXECUTING, COMPLETED, FUNCTIONS = 10_000, 1_000, 1_000, 1_000, 10
WAIT_SAMPLES, WRITERS = 30, 10  # writers: the Kubernetes client pools 10 connections
FAST = {"qps": 1000, "burst": 1000}


class Seeder:
    """Writes the namespace's 10,000 executions as kontinue's controller would."""

    def __init__(self, api: k8s.ApiClient) -> None:
        self.custom = k8s.CustomObjectsApi(api)

    def create(self, plural: str, kind: str, name: str, labels: dict[str, str], spec: dict[str, Any]) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, NS, plural, body)

    def execution(self, index: int) -> str:
        """Execution ``index``: 0 is the tree's root, 1-999 its children, the rest stand alone."""
        function = f"fn-{index % FUNCTIONS}"
        labels = {"kontinue.cloud/function": function}
        name = "big" if index == 0 else f"big-{index:04d}" if index < TREE else f"run-{index:05d}"
        if 0 < index < TREE:
            labels |= {"kontinue.cloud/root": "big", "kontinue.cloud/parent": "big"}
        self.create("executions", "Execution", name, labels, {"function": function})
        phase = self.phase_of(index)
        if phase:
            self.set_phase(name, phase)
        return name

    @staticmethod
    def phase_of(index: int) -> str | None:
        if TREE <= index < TREE + EXECUTING:
            return "Executing"
        if TREE + EXECUTING <= index < TREE + EXECUTING + COMPLETED:
            return "Completed"
        return None

    def set_phase(self, name: str, phase: str) -> None:
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NS, "executions", name, {"status": {"phase": phase}}
        )


def best_of(runs: int, call: Any) -> tuple[float, Any]:
    """The shortest of ``runs`` timed calls, and the last result."""
    samples, result = [], None
    for _ in range(runs):
        started = time.perf_counter()
        result = call()
        samples.append(time.perf_counter() - started)
    return min(samples), result


def wait_latencies(client: KontinueClient, seeder: Seeder, names: list[str]) -> tuple[list[float], int]:
    """``wait_for_execution`` on each of ``names`` while a timer completes it 0.3 s later."""
    samples, requests = [], 0
    written: dict[str, float] = {}

    def complete(name: str) -> None:
        written[name] = time.perf_counter()
        seeder.set_phase(name, "Completed")

    for name in names:
        before = client.requests_sent
        timer = threading.Timer(0.3, complete, [name])
        timer.start()
        finished = client.wait_for_execution(name)
        returned = time.perf_counter()
        timer.join()
        assert finished.phase == "Completed", finished
        samples.append((returned - written[name]) * 1000)
        requests = client.requests_sent - before
    return samples, requests


def main() -> None:
    with ControlPlane() as plane, plane.api_client() as api:
        k8s.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
        seeder = Seeder(api)
        for index in range(FUNCTIONS):
            seeder.create("functions", "Function", f"fn-{index}", {}, {"name": f"fn-{index}"})
        progress(f"writing {TOTAL:,} executions ({WRITERS} writers)")
        started = time.perf_counter()
        with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
            names = list(pool.map(seeder.execution, range(TOTAL)))
        emit("scale_10000_seed_s", time.perf_counter() - started, "s")

        with KontinueClient.connect(plane.kubeconfig, namespace=NS, options=FAST) as client:
            progress("listing")
            before = client.requests_sent
            seconds, listed = best_of(3, client.list)
            assert len(listed) == TOTAL, len(listed)
            emit("scale_10000_list_s", seconds, "s")
            emit("scale_10000_list_requests", (client.requests_sent - before) / 3, "requests")
            raw = seeder.custom.list_namespaced_custom_object(GROUP, VERSION, NS, "executions")
            emit("scale_10000_list_mb", len(json.dumps(raw)) / 2**20, "MiB")
            del raw
            for figure, how in (("list", "list"), ("list_iterator", "iterate")):
                emit(f"scale_10000_{figure}_peak_rss_mib", peak_rss_mib(plane, how), "MiB")
            seconds, selected = best_of(3, lambda: client.list(ListOptions(function="fn-3")))
            assert len(selected) == TOTAL // FUNCTIONS, len(selected)
            emit("scale_10000_list_function_s", seconds, "s")
            seconds, selected = best_of(3, lambda: client.list(ListOptions(phases=["Completed"])))
            assert len(selected) == COMPLETED, len(selected)
            emit("scale_10000_list_phase_s", seconds, "s")
            seconds_async, listed_async = asyncio.run(list_async(plane))
            assert listed_async == TOTAL, listed_async
            emit("scale_10000_list_async_s", seconds_async, "s")

            progress("get_tree of the 1,000-execution tree")
            before = client.requests_sent
            seconds, tree = best_of(3, lambda: client.get_tree("big"))
            assert len(list(tree.walk())) == TREE, len(list(tree.walk()))
            emit("scale_10000_get_tree_1000_s", seconds, "s")
            emit("scale_10000_get_tree_1000_requests", (client.requests_sent - before) / 3, "requests")

            progress(f"{WAIT_SAMPLES} waits, one at a time")
            not_started = names[TREE + EXECUTING + COMPLETED :][:WAIT_SAMPLES]
            samples, requests = wait_latencies(client, seeder, not_started)
            emit("scale_10000_wait_ms_p50", percentile(samples, 50), "ms")
            emit("scale_10000_wait_ms_p99", percentile(samples, 99), "ms")
            emit("scale_10000_wait_requests", requests, "requests")
            emit("scale_10000_client_rss_mb", psutil.Process().memory_info().rss / 2**20, "MiB")
            apiserver = psutil.Process(plane.state.pids["kube-apiserver"]) if plane.state else None
            if apiserver is not None:
                emit("scale_10000_apiserver_rss_mb", apiserver.memory_info().rss / 2**20, "MiB")

        progress(f"{EXECUTING:,} trigger waits among the {TOTAL:,}")
        executing = [name for index, name in enumerate(names) if Seeder.phase_of(index) == "Executing"]
        bench_reliability.measure_waits(plane, seeder.custom, NS, executing, "scale_10000_load_1000")

        progress(f"{TOTAL:,} trigger waits in one process")
        waiting = [f"wait-{index:05d}" for index in range(TOTAL)]
        custom = bench_reliability.executing_namespace(api, WAITS_NS, waiting)
        bench_reliability.measure_waits(plane, custom, WAITS_NS, waiting, "scale_10000_waits")


PEAK_RSS = """
import re, sys
from pathlib import Path
from airflow_provider_kontinue.client import KontinueClient
def status(field):  # kB; VmHWM is the peak RSS of this program (ru_maxrss outlives exec)
    return int(re.search(field + r":\\s+(\\d+) kB", Path("/proc/self/status").read_text()).group(1))
with KontinueClient.connect(sys.argv[1], namespace=sys.argv[2]) as client:
    client.list({"function": "no-such-function"})  # imports and connection warmed up
    connected = status("VmRSS")
    if sys.argv[3] == "list":
        count = len(client.list())
    else:
        count = sum(1 for _ in client.iter_executions())
    peak = status("VmHWM")
print(count, (peak - connected) / 1024)
"""


def peak_rss_mib(plane: ControlPlane, how: str) -> float:
    """The peak RSS growth of a fresh process reading the namespace's executions ``how``."""
    done = subprocess.run(
        [sys.executable, "-c", PEAK_RSS, str(plane.kubeconfig), NS, how],
        check=True,
        capture_output=True,
        text=True,
    )
    count, growth = done.stdout.split()
    assert int(count) == TOTAL, done.stdout
    return float(growth)


async def list_async(plane: ControlPlane) -> tuple[float, int]:
    """The best of 3 ``list()`` calls of the async client, and how many it listed."""
    async with await AsyncKontinueClient.connect(plane.kubeconfig, namespace=NS, options=FAST) as client:
        samples, listed = [], 0
        for _ in range(3):
            started = time.perf_counter()
            listed = len(await client.list())
            samples.append(time.perf_counter() - started)
        return min(samples), listed


if __name__ == "__main__":
    main()
