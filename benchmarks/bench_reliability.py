"""Load on the triggerer: 1,000 deferred waits in one event loop, finished in bursts.

1,000 ``KontinueExecutionTrigger`` waits run as ``trigger.run()`` tasks in one event loop (what
Airflow's triggerer does), against a fresh sandbox; the executions are then finished in ten bursts
of 100 raw status writes (kontinue's controller's part), each burst written at once from 10
threads (the Kubernetes client's connection pool).

- load_1000_waits_completed: waits that ended with the phase written for them (target 1,000).
- load_1000_duplicates: events beyond the first for any wait (target 0).
- load_1000_event_latency_ms_p50 / _p99 / _max: from just before a status write to its event.
- load_1000_trigger_connections: connections to the API server the 1,000 waits hold (one shared
  watch needs 1).
- load_1000_idle_requests_per_s: API requests per second while the 1,000 wait and nothing changes.
- load_1000_rss_mb: the process's resident memory while they wait.
- load_1000_kib_per_wait: how much that memory grew from before the triggers started, per wait.
- load_1000_open_client_sessions: httpx clients open while they wait (one shared watch needs 1).
- load_1000_all_watching_s: from starting the 1,000 triggers to all of them following the watch.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kontinue-bench-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import asyncio
import concurrent.futures
import gc
import logging
import threading
import time
from typing import Any

import httpx
import psutil
import structlog
from kubernetes import client as k8s

from airflow_provider_kontinue.client.informer import Informer
from airflow_provider_kontinue.hooks.connection import connection_json
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from benchmarks.figures import emit, percentile, progress, require
from kontinue_sandbox.controlplane import ControlPlane

GROUP, VERSION, NS = "kontinue.cloud", "v1alpha1", "load"
WAITS, BURSTS, WRITERS, IDLE_SECONDS = 1000, 10, 10, 5.0
PHASES = ("Completed", "Failed", "Canceled")


class Loop:
    """The triggerer's event loop, on its own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 60) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def close(self) -> None:
        self.run(Informer.shutdown())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


def main() -> None:
    with ControlPlane() as plane, plane.api_client() as api:
        names = [f"load-{i:04d}" for i in range(WAITS)]
        custom = executing_namespace(api, NS, names)
        measure_waits(plane, custom, NS, names, "load_1000")


def executing_namespace(api: k8s.ApiClient, namespace: str, names: list[str]) -> k8s.CustomObjectsApi:
    """Create ``namespace`` holding one Executing execution per name (from :data:`WRITERS` threads)."""
    k8s.CoreV1Api(api).create_namespace({"metadata": {"name": namespace}})
    custom = k8s.CustomObjectsApi(api)
    progress(f"creating {len(names)} executions")
    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        list(pool.map(lambda name: create_executing(custom, namespace, name), names))
    return custom


async def hub_state(namespace: str) -> tuple[int, bool, int]:
    """The shared watch of ``namespace`` in this loop: its subscribers, whether first reads are
    still running, and the requests its client sent (zeros before it is ready)."""
    hubs = [hub for hub in Informer.active() if hub.key.namespace == namespace]
    if not hubs or not hubs[0].ready.done():
        return 0, False, 0
    hub = hubs[0]
    reading = bool(hub._pending_reads) or (hub._read_task is not None and not hub._read_task.done())
    return hub.subscribers, reading, hub.client.requests_sent


def measure_waits(
    plane: ControlPlane, custom: k8s.CustomObjectsApi, namespace: str, names: list[str], prefix: str
) -> None:
    """One trigger wait per name (each an Executing execution of ``namespace``), all in one event
    loop; then finish them in bursts and emit this module's figures, named ``<prefix>_...``."""
    # Not 1,000 "execution ... is Completed" lines: the triggers log through structlog.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    conn_id = f"kontinue_{namespace.replace('-', '_')}"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection_json(str(plane.kubeconfig), namespace)
    events: dict[str, list[dict[str, Any]]] = {}
    fired_at: dict[str, float] = {}

    async def wait(trigger: KontinueExecutionTrigger) -> None:
        async for event in trigger.run():
            fired_at.setdefault(trigger.name, time.monotonic())
            events[trigger.name].append(event.payload)

    process = psutil.Process()
    baseline = api_connections(process, plane.server)
    rss_before = process.memory_info().rss
    loop = Loop()
    started = time.monotonic()
    for name in names:
        events[name] = []
        trigger = KontinueExecutionTrigger(
            name=name, namespace=namespace, kontinue_conn_id=conn_id, stream_logs=False
        )
        asyncio.run_coroutine_threadsafe(wait(trigger), loop.loop)
    while True:
        subscribers, reading, _ = loop.run(hub_state(namespace))
        if subscribers == len(names) and not reading:
            break
        time.sleep(0.05)
    emit(f"{prefix}_all_watching_s", time.monotonic() - started, "s")

    _, _, requests_before = loop.run(hub_state(namespace))
    time.sleep(IDLE_SECONDS)  # measuring idleness: nothing to wait for
    _, _, requests_after = loop.run(hub_state(namespace))
    emit(f"{prefix}_trigger_connections", api_connections(process, plane.server) - baseline, "connections")
    emit(f"{prefix}_idle_requests_per_s", (requests_after - requests_before) / IDLE_SECONDS, "requests/s")
    rss = process.memory_info().rss
    emit(f"{prefix}_rss_mb", rss / 2**20, "MiB")
    emit(f"{prefix}_kib_per_wait", (rss - rss_before) / 1024 / len(names), "KiB")
    sessions = [o for o in gc.get_objects() if isinstance(o, httpx.AsyncClient) and not o.is_closed]
    emit(f"{prefix}_open_client_sessions", len(sessions), "sessions")

    written_at: dict[str, float] = {}
    size = max(1, len(names) // BURSTS)

    def finish(index: int) -> None:
        name = names[index]
        phase = PHASES[index % len(PHASES)]
        written_at[name] = time.monotonic()
        custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "executions", name, {"status": {"phase": phase, "result": index}}
        )

    with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
        for first in range(0, len(names), size):
            progress(f"burst {first // size + 1}/{-(-len(names) // size)}")
            burst = range(first, min(first + size, len(names)))
            list(pool.map(finish, burst))
            deadline = time.monotonic() + 60
            while any(not events[names[i]] for i in burst) and time.monotonic() < deadline:
                time.sleep(0.01)
    deadline = time.monotonic() + 30
    while len(fired_at) < len(names) and time.monotonic() < deadline:
        time.sleep(0.05)
    loop.close()

    completed = sum(
        1
        for index, name in enumerate(names)
        if events[name]
        and events[name][0]["phase"] == PHASES[index % len(PHASES)]
        and events[name][0]["status"] == "done"
    )
    latencies = [(fired_at[n] - written_at[n]) * 1000 for n in names if n in fired_at and n in written_at]
    duplicates = sum(max(0, len(e) - 1) for e in events.values())
    emit(f"{prefix}_waits_completed", completed, "waits")
    emit(f"{prefix}_duplicates", duplicates, "events")
    emit(f"{prefix}_event_latency_ms_p50", percentile(latencies, 50), "ms")
    emit(f"{prefix}_event_latency_ms_p99", percentile(latencies, 99), "ms")
    emit(f"{prefix}_event_latency_ms_max", max(latencies), "ms")
    require(f"{prefix}_waits_completed", completed, len(names))
    require(f"{prefix}_duplicates", duplicates, 0)


def api_connections(process: psutil.Process, server: str) -> int:
    port = int(server.rsplit(":", 1)[1])
    return sum(
        1
        for c in process.net_connections("tcp")
        if c.raddr and c.raddr.port == port and c.status == "ESTABLISHED"
    )


def create_executing(custom: k8s.CustomObjectsApi, namespace: str, name: str) -> None:
    body = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Execution",
        "metadata": {"name": name, "labels": {"kontinue.cloud/function": "work"}},
        "spec": {"function": "work"},
    }
    custom.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", body)
    custom.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "executions", name, {"status": {"phase": "Executing"}}
    )


if __name__ == "__main__":
    main()
