"""The client's request economy and rate limiting, against a fresh sandbox.

- requests_per_spawn_wait: requests one spawn + wait_for_execution costs once the Function is
  cached (target 3: one create, the read that keeps the wait from returning a stale state, one
  watch); the execution is finished by a status write, as kontinue's controller would.
- get_tree_1000_list_calls / get_tree_1000_s: requests and wall time of get_tree on a tree of
  1,000 objects (500 child executions, 500 suspensions).
- ratelimit_qps_setting / ratelimit_qps_achieved: 60 sequential reads with qps=20, burst=1.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from kubernetes import client as k8s

from airflow_provider_kontinue.client import KontinueClient
from benchmarks.figures import emit, progress
from kontinue_sandbox.controlplane import ControlPlane

GROUP, VERSION, NS = "kontinue.cloud", "v1alpha1", "bench"


def create(
    custom: k8s.CustomObjectsApi,
    plural: str,
    kind: str,
    name: str,
    labels: dict[str, str],
    spec: dict[str, object],
) -> None:
    custom.create_namespaced_custom_object(
        GROUP,
        VERSION,
        NS,
        plural,
        {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": kind,
            "metadata": {"name": name, "labels": labels},
            "spec": spec,
        },
    )


def main() -> None:
    with ControlPlane() as plane, plane.api_client() as api:
        k8s.CoreV1Api(api).create_namespace({"metadata": {"name": NS}})
        custom = k8s.CustomObjectsApi(api)
        create(custom, "functions", "Function", "work", {}, {"name": "work"})
        with KontinueClient.connect(
            plane.kubeconfig, namespace=NS, options={"qps": 1000, "burst": 1000}
        ) as kontinue:
            kontinue.spawn("work")  # caches the Function, as any second spawn finds it
            before = kontinue.requests_sent
            execution = kontinue.spawn("work")
            threading.Timer(
                0.2,
                lambda: custom.patch_namespaced_custom_object_status(
                    GROUP, VERSION, NS, "executions", execution.name, {"status": {"phase": "Completed"}}
                ),
            ).start()
            kontinue.wait_for_execution(execution)
            emit("requests_per_spawn_wait", kontinue.requests_sent - before, "requests")

            progress("building a tree of 1,000 objects")
            create(custom, "executions", "Execution", "big", {}, {"function": "work"})
            labels = {"kontinue.cloud/root": "big", "kontinue.cloud/parent": "big"}
            with ThreadPoolExecutor(8) as pool:
                list(
                    pool.map(
                        lambda i: create(
                            custom, "executions", "Execution", f"big-{i}", labels, {"function": "work"}
                        ),
                        range(500),
                    )
                )
                list(
                    pool.map(
                        lambda i: create(
                            custom, "suspensions", "Suspension", f"big-s{i}", labels, {"type": "Manual"}
                        ),
                        range(500),
                    )
                )
            samples = []
            for _ in range(3):
                before, started = kontinue.requests_sent, time.perf_counter()
                tree = kontinue.get_tree("big")
                samples.append(time.perf_counter() - started)
            assert len(list(tree.walk())) == 1001
            emit("get_tree_1000_list_calls", kontinue.requests_sent - before, "requests")
            emit("get_tree_1000_s", min(samples), "s")

        with KontinueClient.connect(
            plane.kubeconfig, namespace=NS, options={"qps": 20, "burst": 1}
        ) as limited:
            limited.function("work")
            started = time.perf_counter()
            for _ in range(60):
                limited.function("work")
            emit("ratelimit_qps_setting", 20, "req/s")
            emit("ratelimit_qps_achieved", 60 / (time.perf_counter() - started), "req/s")


if __name__ == "__main__":
    main()
