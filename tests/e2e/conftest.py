"""End-to-end fixtures: DAGs run with ``dag.test()`` against the sandbox's real API server.

One Airflow home for the session (sqlite, ``airflow db migrate`` once, the example DAGs and the
test DAGs copied into its ``dags/``), one namespace with the example Functions, and one kontinue
emulator serving only that namespace (its own node name, so it never fights another emulator).
Each DAG run is a subprocess (``tests.support.airflow_runs``): Airflow's configuration, the
operators' ``default_deferrable`` and the connection all come from its environment, exactly as for
a user.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

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
from tests.support.airflow_runs import ROOT, SPEED, UI, Airflow, copy_dags  # noqa: E402


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
    copy_dags(HOME)
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
