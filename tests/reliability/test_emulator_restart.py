"""The emulator (kontinue's controller and workers) dies mid-execution and comes back: the deferred
waits, which only watch the API server, still end with the execution's result."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client import Execution, KontinueClient
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from kontinue_sandbox import processes
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import process as emulator_process
from tests.support.cluster import Cluster, create_namespace
from tests.support.connections import use_connection
from tests.support.triggerer import Triggerer

SPEED = 10.0


class Emulator:
    """The emulator serving one namespace, which the test kills (SIGKILL) and starts again."""

    def __init__(self, kubeconfig: Path, namespace: str, directory: Path) -> None:
        self.kubeconfig, self.namespace, self.directory = kubeconfig, namespace, directory
        self.proc = self.start()

    def start(self) -> subprocess.Popen[bytes]:
        self.proc = emulator_process.start(
            self.kubeconfig,
            log_dir=self.directory / "state",
            log_file=self.directory / "emulator.log",
            speed=SPEED,
            extra=["--namespace", self.namespace, "--node-name", f"kubelet-{self.namespace}"],
        )
        return self.proc

    def kill(self) -> None:
        """Die the hard way: no cleanup, as in a crash."""
        processes.stop_group(self.proc.pid, grace=0.0)
        self.proc.wait()


@pytest.fixture
def emulated(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, tmp_path: Path
) -> Iterator[tuple[str, Emulator]]:
    namespace = create_namespace(admin_api, "emulator-restart")
    emulator = Emulator(control_plane.kubeconfig, namespace, tmp_path)
    yield namespace, emulator
    emulator.kill()


def wait_all_in_phase(client: KontinueClient, names: list[str], phase: str) -> None:
    """Block until every execution of ``names`` reads ``phase``, following one watch."""
    with client.with_timeout(60).watch(Execution) as stream:
        phases = {e.name: str(e.phase) for e in client.list()}
        if all(phases.get(name) == phase for name in names):
            return
        for change in stream:
            for execution in change.objects if change.type == "RELISTED" else [change.object]:
                if execution is not None:
                    phases[execution.name] = str(execution.phase)
            if all(phases.get(name) == phase for name in names):
                return


def test_a_trigger_wait_completes_across_an_emulator_restart(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    emulated: tuple[str, Emulator],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace, emulator = emulated
    Cluster(admin_api, namespace).function(
        "long-work",
        emulator={
            "steps": [
                {"log": "working on {{ args.n }}"},
                {"sleep": "30s"},  # 3 s at speed 10: the kill lands while it runs
                {"return": {"n": "{{ args.n }}", "done": True}},
            ]
        },
    )
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, namespace)
    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as client:
        names = [client.spawn("long-work", {"n": n}).name for n in range(5)]
        triggerer.start(
            KontinueExecutionTrigger(name=name, namespace=namespace, kontinue_conn_id=conn_id)
            for name in names
        )
        wait_all_in_phase(client, names, "Executing")
        fault = time.monotonic()
        emulator.kill()
        assert not any(triggerer.events.values()), "a wait ended while the executions were running"
        emulator.start()
        triggerer.wait_fired(names, 60)
        triggerer.record("emulator_restart", names, fault)
        for n, name in enumerate(names):
            (event,) = triggerer.events[name]
            assert (event["status"], event["phase"], event["result"]) == (
                "done",
                "Completed",
                {"n": n, "done": True},
            ), event
            execution = client.get(name)
            assert execution.attempt == 1  # picked up again by the new worker, not retried
            assert execution.status is not None
            assert (execution.status.resumptions or 0) >= 1
        assert len(client.list()) == len(names)  # nothing spawned twice
    worker_logs = [p.read_text() for p in (emulator.directory / "state").rglob("worker.log")]
    picked_up = sum("kontinue emulator: picked up attempt 1 again" in log for log in worker_logs)
    assert picked_up == len(names), worker_logs  # the kill really landed mid-execution, for each
