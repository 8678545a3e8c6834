"""End-to-end fixtures: DAGs run with ``dag.test()`` against the sandbox's real API server.

One Airflow home for the session (sqlite, ``airflow db migrate`` once, the example DAGs and the
test DAGs copied into its ``dags/``), one namespace with the example Functions, and one kontinue
emulator serving only that namespace (its own node name, so it never fights another emulator).
Each DAG run is a subprocess (``tests.e2e.dag_runner``): Airflow's configuration, the operators'
``default_deferrable`` and the connection all come from its environment, exactly as for a user.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Airflow reads AIRFLOW_HOME when first imported: set it before anything imports Airflow.
HOME = Path(tempfile.mkdtemp(prefix="kontinue-e2e-airflow-"))
os.environ.setdefault("AIRFLOW_HOME", str(HOME))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

import pytest  # noqa: E402
from kubernetes import client as k8s  # noqa: E402

from airflow_provider_kontinue.client import KontinueClient  # noqa: E402
from airflow_provider_kontinue.hooks.connection import connection_json  # noqa: E402
from kontinue_sandbox import processes  # noqa: E402
from kontinue_sandbox.controlplane import ControlPlane  # noqa: E402
from kontinue_sandbox.emulator import examples as emulator_examples  # noqa: E402
from kontinue_sandbox.emulator import process as emulator_process  # noqa: E402
from kontinue_sandbox.errors import log_tail  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SPEED = 5.0
"""Emulator speed: the examples' 1 s sleeps take 0.2 s; long-logger writes 5 lines a second."""
UI = "https://kontinue.example/ui/{namespace}/{name}"


@dataclass
class DagRun:
    """What one ``dag.test()`` run left: the summary line and the whole log."""

    summary: dict[str, Any]
    log: str
    returncode: int

    @property
    def state(self) -> str:
        return str(self.summary.get("state"))

    def task_states(self) -> dict[str, str]:
        return {
            t["task_id"] if t["map_index"] < 0 else f"{t['task_id']}[{t['map_index']}]": t["state"]
            for t in self.summary["tasks"]
        }

    def xcom(self, task: str, key: str = "return_value") -> Any:
        return self.summary["xcom"].get(task, {}).get(key)


@dataclass
class Airflow:
    """Runs DAGs of the session's Airflow home against the sandbox."""

    home: Path
    env: dict[str, str]
    namespace: str
    logs: list[Path] = field(default_factory=list)

    def start(
        self, dag_id: str, *, deferrable: bool, logical_date: str | None = None
    ) -> subprocess.Popen[str]:
        env = {**self.env, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": str(deferrable)}
        command = [sys.executable, "-m", "tests.e2e.dag_runner", dag_id]
        if logical_date:
            command += ["--logical-date", logical_date]
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish(self, proc: subprocess.Popen[str], timeout: float = 240) -> DagRun:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(
                f"the DAG run did not finish within {timeout:.0f}s; its log ends with:\n{out[-4000:]}"
            )
        summary: dict[str, Any] = {}
        for line in out.splitlines():
            if line.startswith("E2E-RESULT "):
                summary = json.loads(line[len("E2E-RESULT ") :])
        assert summary, (
            f"the DAG run printed no result (exit {proc.returncode}); its log ends with:\n{out[-4000:]}"
        )
        return DagRun(summary, out, proc.returncode)

    def run(self, dag_id: str, *, deferrable: bool, logical_date: str | None = None) -> DagRun:
        return self.finish(self.start(dag_id, deferrable=deferrable, logical_date=logical_date))


def _copy_dags(home: Path) -> None:
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    for source in [*(ROOT / "example_dags").glob("*.py"), *(ROOT / "tests" / "e2e" / "dags").glob("*.py")]:
        shutil.copy(source, dags / source.name)


@pytest.fixture(scope="session")
def e2e_namespace(admin_api: k8s.ApiClient) -> str:
    """A namespace with the example Functions, for the whole e2e session."""
    name = f"airflow-e2e-{uuid.uuid4().hex[:6]}"
    k8s.CoreV1Api(admin_api).create_namespace({"metadata": {"name": name}})
    emulator_examples.install(admin_api, name)
    return name


@pytest.fixture(scope="session")
def e2e_emulator(
    control_plane: ControlPlane, e2e_namespace: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """The kontinue emulator serving only the e2e namespace."""
    directory = tmp_path_factory.mktemp("e2e-emulator")
    log_file = directory / "emulator.log"
    proc = emulator_process.start(
        control_plane.kubeconfig,
        log_dir=directory / "state",
        log_file=log_file,
        speed=SPEED,
        extra=["--namespace", e2e_namespace, "--node-name", f"kubelet-{e2e_namespace}"],
    )
    yield proc
    alive = proc.poll() is None
    processes.stop_group(proc.pid, grace=5.0)
    proc.wait()
    assert alive, f"the emulator died during the e2e suite; its log ends with:\n{log_tail(log_file)}"


@pytest.fixture(scope="session")
def connection(control_plane: ControlPlane, e2e_namespace: str) -> str:
    """``AIRFLOW_CONN_KONTINUE_DEFAULT`` for the sandbox (also set in this process, for triggers)."""
    value = connection_json(str(control_plane.kubeconfig), e2e_namespace, ui_base_url=UI)
    os.environ["AIRFLOW_CONN_KONTINUE_DEFAULT"] = value
    return value


@pytest.fixture(scope="session")
def airflow(connection: str, e2e_namespace: str, e2e_emulator: subprocess.Popen[bytes]) -> Airflow:
    """A migrated Airflow home (sqlite) with the DAGs, and a runner for them."""
    _copy_dags(HOME)
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(HOME),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW_CONN_KONTINUE_DEFAULT": connection,
        "PYTHONPATH": str(ROOT),
    }
    migrate = subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert migrate.returncode == 0, migrate.stdout[-2000:] + migrate.stderr[-2000:]
    return Airflow(HOME, env, e2e_namespace)


@pytest.fixture(scope="session")
def kontinue(control_plane: ControlPlane, e2e_namespace: str) -> Iterator[KontinueClient]:
    """A client on the e2e namespace, to check what the DAGs did."""
    with KontinueClient.connect(control_plane.kubeconfig, namespace=e2e_namespace) as client:
        yield client


def wait_until(condition: Any, timeout: float = 60.0, what: str = "condition") -> Any:
    """Poll ``condition`` (a test helper: the code under test never polls)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}")


def interrupt(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Send ``sig`` to a DAG-run subprocess."""
    proc.send_signal(sig)
