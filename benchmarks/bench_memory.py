"""What the provider costs a triggerer in memory: at import, and per waiting trigger.

- triggerer_import_mib: resident memory a fresh process gains by importing this provider's
  triggers after Airflow's trigger base (``airflow.triggers.base``); the median of 3 pairs of
  processes. Airflow's provider discovery, run by that import, loads only the connection form's
  module (``hooks.connection``), so the figure is the provider's whole cost: triggers, hooks
  and client.
- triggerer_import_kubernetes_asyncio_mib: the same for the triggers plus
  ``kubernetes_asyncio.client``, which they imported before the httpx transport.
- rss_kib_per_wait: the slope of the process's resident memory between 1,000 and 5,000
  ``KontinueExecutionTrigger`` waits in one event loop, each on its own Executing execution of one
  namespace, started 1,000 at a time (goal <= 10 KiB).
- rss_kib_per_wait_burst: the same with the last 4,000 started at once, as a triggerer restarting
  with them does: their first reads are one batch (one paged list, answered page by page).
- rss_5000_waits_completed, rss_5000_waits_burst_completed: the 5,000 waits that ended with the
  phase written for them, so the memory measured is that of waits that work (must be 5,000).
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
import statistics
import subprocess
import sys
import time
from typing import Any

import kubernetes
import psutil
import structlog

from airflow_provider_kontinue.hooks.connection import connection_json
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from benchmarks.bench_reliability import GROUP, VERSION, WRITERS, Loop, executing_namespace, hub_state
from benchmarks.figures import emit, progress, require
from kontinue_sandbox.controlplane import ControlPlane

NS, FEW, MANY = "memory", 1000, 5000
NAMES = [f"mem-{i:04d}" for i in range(MANY)]
"""One Executing execution per wait, in each namespace the measurements use."""
TRIGGER_BASE = "import airflow.triggers.base"
PROVIDER_TRIGGERS = (
    "import airflow_provider_kontinue.triggers.execution, airflow_provider_kontinue.triggers.suspension, "
    "airflow_provider_kontinue.triggers.schedule"
)


def import_rss_mib(statements: str) -> float:
    """Resident memory (MiB) of a fresh interpreter after running ``statements``."""
    script = f"{statements}\nimport psutil\nprint(psutil.Process().memory_info().rss)"
    output = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, env=os.environ
    ).stdout
    return int(output.split()[-1]) / 2**20


def import_cost_mib(extra: str) -> float:
    """What ``extra`` adds to a process that imported Airflow's trigger base, median of 3 pairs."""
    return statistics.median(
        import_rss_mib(f"{TRIGGER_BASE}\n{extra}") - import_rss_mib(TRIGGER_BASE) for _ in range(3)
    )


def measure_waits(kubeconfig: str, namespace: str, burst: bool) -> None:
    """In this (fresh) process: 1,000 waits, then 4,000 more, each on its own Executing execution
    of ``namespace``; emit the slope of resident memory, then finish all and count the events.

    ``burst``: the 4,000 start at once (a triggerer restarting with them); otherwise 1,000 at a
    time, each thousand following the watch before the next starts (triggers assigned over time).
    """
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    conn_id = "kontinue_memory"
    os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = connection_json(kubeconfig, namespace)
    events: dict[str, list[dict[str, Any]]] = {name: [] for name in NAMES}

    async def wait(trigger: KontinueExecutionTrigger) -> None:
        async for event in trigger.run():
            events[trigger.name].append(event.payload)

    loop = Loop()
    tasks: set[asyncio.Task[None]] = set()

    def run_in_loop(trigger: KontinueExecutionTrigger) -> None:
        tasks.add(loop.loop.create_task(wait(trigger)))  # one task per trigger, as the triggerer runs them

    def start(batch: list[str]) -> float:
        """Start a wait per name, wait until all follow the watch; the process's RSS (KiB)."""
        for name in batch:
            trigger = KontinueExecutionTrigger(
                name=name, namespace=namespace, kontinue_conn_id=conn_id, stream_logs=False
            )
            loop.loop.call_soon_threadsafe(run_in_loop, trigger)
        expected = NAMES.index(batch[-1]) + 1
        while True:
            subscribers, reading, _ = loop.run(hub_state(namespace))
            if subscribers == expected and not reading:
                break
            time.sleep(0.05)
        time.sleep(1.0)
        gc.collect()
        return psutil.Process().memory_info().rss / 1024

    progress(f"{FEW} waits")
    few = start(NAMES[:FEW])
    progress(f"{MANY} waits" + (" (the last 4,000 at once)" if burst else ", 1,000 at a time"))
    steps = [NAMES[FEW:]] if burst else [NAMES[i : i + FEW] for i in range(FEW, MANY, FEW)]
    many = [start(step) for step in steps][-1]
    emit("rss_kib_per_wait_burst" if burst else "rss_kib_per_wait", (many - few) / (MANY - FEW), "KiB")

    progress("finishing them")
    with kubernetes.config.new_client_from_config(kubeconfig) as api:
        custom = kubernetes.client.CustomObjectsApi(api)
        with concurrent.futures.ThreadPoolExecutor(WRITERS) as pool:
            list(
                pool.map(
                    lambda name: custom.patch_namespaced_custom_object_status(
                        GROUP, VERSION, namespace, "executions", name, {"status": {"phase": "Completed"}}
                    ),
                    NAMES,
                )
            )
    deadline = time.monotonic() + 60
    while any(not e for e in events.values()) and time.monotonic() < deadline:
        time.sleep(0.1)
    loop.close()
    completed = sum(1 for e in events.values() if len(e) == 1 and e[0]["phase"] == "Completed")
    figure = "rss_5000_waits_burst_completed" if burst else "rss_5000_waits_completed"
    emit(figure, completed, "waits")
    require(figure, completed, MANY)


def waits_rss_kib_per_wait() -> None:
    """Both ways of starting the waits, each in a fresh process on its own namespace."""
    with ControlPlane() as plane, plane.api_client() as api:
        for mode in ("steps", "burst"):
            namespace = f"{NS}-{mode}"
            executing_namespace(api, namespace, NAMES)
            child = [sys.executable, "-m", "benchmarks.bench_memory", "waits", str(plane.kubeconfig)]
            subprocess.run([*child, namespace, mode], check=True)


def main() -> None:
    progress("import costs")
    emit("triggerer_import_mib", import_cost_mib(PROVIDER_TRIGGERS), "MiB")
    emit(
        "triggerer_import_kubernetes_asyncio_mib",
        import_cost_mib(f"{PROVIDER_TRIGGERS}\nimport kubernetes_asyncio.client"),
        "MiB",
    )
    waits_rss_kib_per_wait()


if __name__ == "__main__":
    if sys.argv[1:2] == ["waits"]:  # one measurement, in a process of its own
        measure_waits(sys.argv[2], sys.argv[3], burst=sys.argv[4] == "burst")
    else:
        main()
