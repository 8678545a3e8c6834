"""How the Airflow layer waits: latency of the watch-based trigger, against polling, and the cost of
1,000 waits in one triggerer process.

- ``wait_latency_ms_p50`` / ``wait_latency_ms_p99``: 100 samples, one at a time. A
  ``KontinueExecutionTrigger`` waits on an Executing execution (the shared watch established);
  the benchmark writes ``status.phase: Completed`` the way kontinue's controller does; the figure
  is the time from just before that write to the trigger's ``TriggerEvent``.
- ``poll10s_latency_ms_p50``: the same with the trigger in polling mode at 10 s, the interval of
  the anchors' job triggers (100 executions polled concurrently, completed at random moments of
  their polling cycles); median.
- ``idle_requests_per_s_1000_waits``: 1,000 triggers waiting in one process on 1,000 executions
  that do not change: requests sent per second over 30 s once they all wait.
- ``watch_connections_1000_waits``: the TCP connections to the API server that those 1,000
  waiting triggers add to the process (the shared watch, plus the client's pooled keep-alive
  connection of its first reads); the benchmark's own connections are subtracted.
- ``rss_mb_1000_waits``: the resident memory of the process at that moment (Python, Airflow's
  imports, the client, 1,000 triggers).

No emulator runs: the benchmark itself plays kontinue's controller, so the latency is the
provider's, not the emulator's. The connection sets ``qps``/``burst`` to 1000 so that the
client's rate limiter (5 requests/s by default) does not throttle the 100 concurrent pollers of
the baseline; the watch path needs no such setting.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from collections.abc import Awaitable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import psutil

from airflow_provider_kontinue.hooks.connection import connection_json
from benchmarks.figures import emit, median, percentile, progress
from kontinue_sandbox.controlplane import ControlPlane

GROUP, VERSION = "kontinue.cloud", "v1alpha1"
NAMESPACE = "bench-airflow"
LATENCY_SAMPLES = 100
POLLED = 100
POLL_INTERVAL = 10.0
WAITS = 1000
IDLE_WINDOW = 30.0


class Controller:
    """Writes Executions and their status with the raw Kubernetes client, as kontinue would."""

    def __init__(self, plane: ControlPlane) -> None:
        from kubernetes import client as k8s

        self.api = plane.api_client()
        self.custom = k8s.CustomObjectsApi(self.api)
        k8s.CoreV1Api(self.api).create_namespace({"metadata": {"name": NAMESPACE}})
        self.pool = ThreadPoolExecutor(8)  # within the client's pool of 10 connections

    def create(self, name: str) -> None:
        body = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Execution",
            "metadata": {"name": name, "labels": {"kontinue.cloud/function": "bench"}},
            "spec": {"function": "bench"},
        }
        self.custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "executions", body)
        self.set_phase(name, "Executing")

    def set_phase(self, name: str, phase: str) -> None:
        status: dict[str, Any] = {"phase": phase}
        if phase == "Completed":
            status.update(result={"ok": True}, finishedAt=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, NAMESPACE, "executions", name, {"status": status}
        )

    def create_many(self, names: list[str]) -> None:
        list(self.pool.map(self.create, names))

    def close(self) -> None:
        self.pool.shutdown()
        self.api.close()


def _trigger(name: str, poll_interval: float | None = None) -> Any:
    from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger

    return KontinueExecutionTrigger(
        name=name, namespace=NAMESPACE, stream_logs=False, cancel_on_kill=False, poll_interval=poll_interval
    )


async def _first_event(trigger: Any) -> tuple[float, dict[str, Any]]:
    event = await anext(trigger.run())
    return time.perf_counter(), event.payload


async def _until(condition: Any, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("the benchmark waited too long")
        await asyncio.sleep(0.01)


async def watch_latencies(controller: Controller) -> list[float]:
    from airflow_provider_kontinue.client.informer import Informer

    names = [f"lat-{i}" for i in range(LATENCY_SAMPLES)]
    await asyncio.to_thread(controller.create_many, names)
    samples = []
    for name in names:
        waiting = asyncio.ensure_future(_first_event(_trigger(name)))
        await _until(lambda name=name: any(name in h.by_name for h in Informer.active() if h.ready.done()))
        await asyncio.sleep(0.1)  # its first (batched) read is done: the trigger waits on the watch
        written = time.perf_counter()
        await asyncio.to_thread(controller.set_phase, name, "Completed")
        fired, payload = await waiting
        assert payload["phase"] == "Completed", payload
        samples.append((fired - written) * 1000)
    return samples


async def poll_latencies(controller: Controller) -> list[float]:
    names = [f"poll-{i}" for i in range(POLLED)]
    await asyncio.to_thread(controller.create_many, names)
    waiting = {name: asyncio.ensure_future(_first_event(_trigger(name, POLL_INTERVAL))) for name in names}
    await asyncio.sleep(POLL_INTERVAL)  # every poller is in its cycle
    written: dict[str, float] = {}
    order = names[:]
    random.shuffle(order)
    for name in order:  # completions spread over one polling interval
        await asyncio.sleep(POLL_INTERVAL / POLLED)
        written[name] = time.perf_counter()
        await asyncio.to_thread(controller.set_phase, name, "Completed")
    results = await asyncio.gather(*waiting.values())
    return [(fired - written[name]) * 1000 for name, (fired, _) in zip(waiting, results, strict=True)]


def _api_connections(port: int) -> int:
    process = psutil.Process()
    return sum(
        1
        for c in process.net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


async def thousand_waits(controller: Controller, port: int) -> tuple[float, int, float]:
    from airflow_provider_kontinue.client.informer import Informer

    names = [f"idle-{i}" for i in range(WAITS)]
    progress(f"creating {WAITS} executions")
    await asyncio.to_thread(controller.create_many, names)
    baseline = _api_connections(port)  # the benchmark's own (controller's) connections
    progress(f"before the waits: {psutil.Process().memory_info().rss / 1024 / 1024:.0f} MB resident")
    progress(f"{WAITS} triggers waiting")
    waiting = [asyncio.ensure_future(_first_event(_trigger(name))) for name in names]
    await _until(lambda: sum(h.subscribers for h in Informer.active()) >= WAITS, timeout=300)
    await asyncio.sleep(2)  # their batched first reads are done
    hubs = Informer.active()
    before = sum(h.client.requests_sent for h in hubs)
    await asyncio.sleep(IDLE_WINDOW)
    after = sum(h.client.requests_sent for h in Informer.active())
    connections = _api_connections(port) - baseline
    rss = psutil.Process().memory_info().rss / 1024 / 1024
    assert not any(w.done() for w in waiting), "a trigger fired although nothing changed"
    for task in waiting:
        task.cancel()
    await asyncio.gather(*waiting, return_exceptions=True)
    await Informer.shutdown()
    return (after - before) / IDLE_WINDOW, connections, rss


def run(coroutine: Awaitable[Any]) -> Any:
    async def main() -> Any:
        from airflow_provider_kontinue.client.informer import Informer

        try:
            return await coroutine
        finally:
            await Informer.shutdown()

    return asyncio.run(main())


def main() -> None:
    with ControlPlane() as plane:
        os.environ["AIRFLOW_CONN_KONTINUE_DEFAULT"] = connection_json(
            str(plane.kubeconfig), NAMESPACE, qps=1000, burst=1000
        )
        controller = Controller(plane)
        try:
            progress(f"watch latency, {LATENCY_SAMPLES} samples")
            latencies = run(watch_latencies(controller))
            emit("wait_latency_ms_p50", median(latencies), "ms")
            emit("wait_latency_ms_p99", percentile(latencies, 99), "ms")
            progress(f"polling latency at {POLL_INTERVAL:.0f}s, {POLLED} executions")
            polled = run(poll_latencies(controller))
            emit("poll10s_latency_ms_p50", median(polled), "ms")
            port = int(plane.server.rsplit(":", 1)[1])
            idle, connections, rss = run(thousand_waits(controller, port))
            emit("idle_requests_per_s_1000_waits", idle, "requests/s")
            emit("watch_connections_1000_waits", connections, "connections")
            emit("rss_mb_1000_waits", rss, "MB")
        finally:
            controller.close()


if __name__ == "__main__":
    import tempfile

    # Airflow reads its home when the triggers first import it: keep it out of ~/airflow.
    os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kontinue-bench-airflow-"))
    os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
    main()
