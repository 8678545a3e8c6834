"""How long a real Airflow deployment takes from an execution's end to its task's ``success``.

The deployment of the deployment tier (``tests.support.deployment.running``: PostgreSQL,
api-server, scheduler with LocalExecutor, dag-processor, two triggerers, as separate processes),
with its own sandbox control plane and emulator, and one namespace set up as the tier sets up its
pool (the example Functions, the shipped Role bound to the Airflow identity).

Two DAGs of ``TASKS`` deferred spawns of ``sleeper`` (a durable Sleep suspension the emulator
would keep for 600 s) run side by side: one of the provider's ``KontinueSpawnOperator`` as users
write it (its trigger follows the shared watch), and the same DAG whose tasks defer on the same
trigger polling every 10 s (``tests/deployment/dags/bench_deferred_sleepers.py``). Once every
trigger runs in a triggerer, the benchmark resumes the 40 executions one at a time, every
``GAP`` seconds, in a random order (so the polls are caught at random moments of their cycles,
and one task's resume does not queue behind another's); the emulator then writes each
execution's ``Completed`` status.

A sample is the time from that terminal status write to the task instance's ``success``: the
write as the benchmark's own watch on the namespace sees it (its ``finishedAt`` is in the
emulator's sped-up clock, and whole at millisecond precision at best), the success as the task
instance's ``end_date`` in the REST API (the moment the task runner reported it). So a sample
is the provider's wait (watch or poll), the trigger's event into the metadata DB, the scheduler
queueing the resumed task, LocalExecutor starting a task process and ``execute_complete``.

- ``deployment_write_to_success_s_p50`` / ``_p99``: the watching DAG's 20 samples.
- ``deployment_poll10s_write_to_success_s_p50`` / ``_p99``: the polling DAG's 20.

The run fails unless each of the 40 tasks succeeds on its first try.
"""

from __future__ import annotations

import contextlib
import random
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

from kubernetes import client as k8s

from airflow_provider_kontinue.client import Execution, ExecutionPhase, KontinueClient
from airflow_provider_kontinue.operators.naming import execution_name
from benchmarks.figures import emit, median, percentile, progress, require
from kontinue_sandbox import processes
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import examples as emulator_examples
from kontinue_sandbox.emulator import process as emulator_process
from kontinue_sandbox.errors import log_tail
from kontinue_sandbox.users import add_user
from tests.deployment.conftest import SPEED, Slot, bind_role
from tests.support import deployment as deployment_support
from tests.support.airflow_api import wait_until
from tests.support.deployment import TRIGGERERS, Deployment

TASKS = 20
POLL_INTERVAL = 10.0
GAP = 2.0
"""Seconds between two resumes: 40 resumes take 80 s, and a few resumed tasks run at a time."""
TERMINAL = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.FAILED, ExecutionPhase.CANCELED})
START_TIMEOUT = 600.0
"""For the deployment to be ready: a loaded 2-core machine starts seven Airflow processes."""


class TerminalWrites:
    """Follows the namespace's executions with one watch (a thread of its own) and notes, for each
    of ``names``, when it first reads a terminal phase: right after the emulator's status write."""

    def __init__(self, kubeconfig: Path, namespace: str, names: set[str]) -> None:
        self.names = names
        self.seen: dict[str, float] = {}
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._client = KontinueClient.connect(kubeconfig, namespace=namespace).with_timeout(900)
        self._stream = self._client.watch(Execution)  # open now: no write of the run is missed
        self._thread = threading.Thread(target=self._follow, name="terminal-writes", daemon=True)
        self._thread.start()

    def _follow(self) -> None:
        try:
            with self._stream as stream:
                for change in stream:
                    now = time.time()
                    changed = change.objects if change.type == "RELISTED" else [change.object]
                    for execution in changed:
                        if execution is None or execution.name not in self.names:
                            continue
                        if execution.phase in TERMINAL:
                            self.seen.setdefault(execution.name, now)
                    if self.names <= set(self.seen):
                        return
        except BaseException as err:  # reported by wait()
            self.error = err
        finally:
            self.done.set()
            self._client.close()

    def wait(self, timeout: float) -> dict[str, float]:
        if not self.done.wait(timeout) or self.error is not None:
            missing = sorted(self.names - set(self.seen))
            raise SystemExit(f"the watch saw no terminal write of {missing[:5]}...: {self.error!r}")
        return self.seen


def prepared_namespace(plane: ControlPlane, admin: k8s.ApiClient) -> tuple[str, Path]:
    """One namespace as the deployment tier prepares its pool; the Airflow identity's kubeconfig."""
    identity = add_user(plane, "airflow-bench", ("airflow",))
    namespace = f"bench-deploy-{uuid.uuid4().hex[:5]}"
    k8s.CoreV1Api(admin).create_namespace({"metadata": {"name": namespace}})
    emulator_examples.install(admin, namespace)
    bind_role(admin, identity, namespace)
    return namespace, identity.kubeconfig


def open_trigger_logs(deployment: Deployment, dag_ids: list[str]) -> dict[str, set[str]]:
    """Each DAG's tasks whose trigger runs in a triggerer now: a triggerer holds a trigger's log
    file (``<task log>.trigger.<job id>.log``) open from its first line to its end."""
    running: dict[str, set[str]] = {dag_id: set() for dag_id in dag_ids}
    for name in TRIGGERERS:
        for path in deployment.open_files(name):
            if ".log.trigger." not in path:
                continue
            for dag_id in dag_ids:
                if f"/dag_id={dag_id}/" in path:
                    running[dag_id].add(path.split("/task_id=", 1)[1].split("/", 1)[0])
    return running


def epoch(timestamp: str) -> float:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00")).timestamp()


def measure(deployment: Deployment, kubeconfig: Path, admin_kubeconfig: Path, namespace: str) -> None:
    api = deployment.api
    conn_id = "kontinue_bench"
    api.put_connection(conn_id, "kontinue", {"kube_config_path": str(kubeconfig), "namespace": namespace})
    slot = Slot(namespace, conn_id, f"bench_{uuid.uuid4().hex[:4]}", deployment)
    dags = {
        "watch": slot.write_dag(
            "bench_deferred_sleepers", "_watch", tasks=TASKS, duration="3000s", poll_interval=0
        ),
        "poll10s": slot.write_dag(
            "bench_deferred_sleepers", "_poll10s", tasks=TASKS, duration="3000s", poll_interval=POLL_INTERVAL
        ),
    }
    tasks = [f"sleep_{index}" for index in range(TASKS)]
    runs = {mode: api.trigger(dag_id) for mode, dag_id in dags.items()}
    names = {(mode, task): execution_name(dags[mode], task, runs[mode]) for mode in dags for task in tasks}
    writes = TerminalWrites(admin_kubeconfig, namespace, set(names.values()))
    progress(f"{2 * TASKS} deferred spawns in {namespace}: waiting for every trigger to run")

    def all_running() -> bool:
        for mode, dag_id in dags.items():
            states = api.task_states(dag_id, runs[mode])
            left = {
                task: state
                for task, state in states.items()
                if state not in (None, "scheduled", "queued", "running", "deferred")
            }
            if left:
                raise SystemExit(f"{dag_id}: tasks left before their executions ended: {left}")
            if set(states.values()) != {"deferred"}:
                return False
        running = open_trigger_logs(deployment, list(dags.values()))
        return all(running[dag_id] == set(tasks) for dag_id in dags.values())

    wait_until(all_running, timeout=600, what=f"all {2 * TASKS} triggers to run in a triggerer")
    with KontinueClient.connect(admin_kubeconfig, namespace=namespace) as kontinue:
        phases = {e.name: e.phase for e in kontinue.list()}
        asleep = [name for name in names.values() if phases.get(name) == ExecutionPhase.SUSPENDED]
        require("deployment_suspended_executions", len(asleep), 2 * TASKS)
        time.sleep(2.0)  # every trigger's first read (the poller's first poll) is done
        order = list(names.items())
        random.shuffle(order)
        progress(f"resuming the {len(order)} executions, one every {GAP:.0f} s, in a random order")
        for _key, name in order:
            if not kontinue.resume_execution(name):
                raise SystemExit(f"{name} had no sleep to resume")
            time.sleep(GAP)
    seen = writes.wait(timeout=300)
    samples: dict[str, list[float]] = {mode: [] for mode in dags}
    for mode, dag_id in dags.items():
        state = api.wait_for_run(dag_id, runs[mode], timeout=600)
        instances = api.task_instances(dag_id, runs[mode])
        first_try = [ti for ti in instances if ti["state"] == "success" and ti["try_number"] == 1]
        require(f"deployment_{mode}_first_try_successes", len(first_try), TASKS)
        require(f"deployment_{mode}_run_success", state == "success", True)
        for ti in instances:
            samples[mode].append(epoch(ti["end_date"]) - seen[names[(mode, ti["task_id"])]])
    for mode, values in samples.items():
        progress(f"{mode}: write → success, sorted (s): {', '.join(f'{v:.2f}' for v in sorted(values))}")
    emit("deployment_write_to_success_s_p50", median(samples["watch"]), "s")
    emit("deployment_write_to_success_s_p99", percentile(samples["watch"], 99), "s")
    emit("deployment_poll10s_write_to_success_s_p50", median(samples["poll10s"]), "s")
    emit("deployment_poll10s_write_to_success_s_p99", percentile(samples["poll10s"], 99), "s")


@contextlib.contextmanager
def emulator(plane: ControlPlane, namespace: str, directory: Path) -> Iterator[None]:
    """The kontinue emulator serving only ``namespace``, at the deployment tier's speed."""
    log_file = directory / "emulator.log"
    proc = emulator_process.start(
        plane.kubeconfig,
        log_dir=directory / "state",
        log_file=log_file,
        speed=SPEED,
        extra=["--namespace", namespace, "--node-name", "kubelet-bench-deployment"],
    )
    try:
        yield
    finally:
        alive = proc.poll() is None
        processes.stop_group(proc.pid, grace=5.0)
        proc.wait()
        if not alive:
            raise SystemExit(
                f"the emulator died during the benchmark; its log ends with:\n{log_tail(log_file)}"
            )


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kontinue-bench-deployment-") as tmp, ControlPlane() as plane:
        with plane.api_client() as admin:
            namespace, kubeconfig = prepared_namespace(plane, admin)
        with emulator(plane, namespace, Path(tmp)):
            progress(
                "starting the deployment (PostgreSQL, api-server, scheduler, dag-processor, 2 triggerers)"
            )
            started = time.monotonic()
            with deployment_support.running(timeout=START_TIMEOUT) as deployment:
                progress(f"deployment ready after {time.monotonic() - started:.0f} s")
                measure(deployment, kubeconfig, plane.kubeconfig, namespace)


if __name__ == "__main__":
    main()
