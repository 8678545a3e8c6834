"""Deployment-tier fixtures: one real Airflow deployment per test session, on a real PostgreSQL server.

The sandbox's control plane, an emulator serving a pool of namespaces (each with the example
Functions and the shipped ``kontinue-airflow`` Role bound to the Airflow identity, a sandbox user
with no other rights), and the deployment of ``tests.support.deployment``. Each test takes a
fresh namespace from the pool and gets its own ``kontinue`` connection to it, stored in the
metadata DB through the REST API, and writes its DAG files (per-test DAG ids) into the bundle.
"""

from __future__ import annotations

import re
import subprocess
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from airflow_provider_kontinue.client import KontinueClient
from kontinue_sandbox import processes
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import examples as emulator_examples
from kontinue_sandbox.emulator import process as emulator_process
from kontinue_sandbox.errors import log_tail
from kontinue_sandbox.users import SandboxUser, add_user
from tests.support import browser as browser_support
from tests.support import deployment as deployment_support
from tests.support.airflow_api import wait_until
from tests.support.browser import Browser
from tests.support.deployment import Deployment

DAGS = Path(__file__).parent / "dags"
ROLE_MANIFEST = (
    Path(__file__).resolve().parents[2] / "airflow_provider_kontinue" / "manifests" / "airflow-role.yaml"
)
ROLE = "kontinue-airflow"
"""The name of the Role in the shipped manifest."""
POOL_SIZE = 18
SPEED = 5.0
"""Emulator speed: the examples' 1 s sleeps take 0.2 s."""


@pytest.fixture(scope="session")
def airflow_identity(control_plane: ControlPlane) -> SandboxUser:
    """The user Airflow's components act as in the cluster: only the shipped Role, bound per namespace."""
    return add_user(control_plane, "airflow-deployment", ("airflow",))


def bind_role(api: k8s.ApiClient, user: SandboxUser, namespace: str, *, name: str = ROLE) -> None:
    """Apply the shipped Role manifest in ``namespace`` and bind it to ``user`` (docs/deployment.md),
    then wait until the API server's authorizer applies the binding."""
    role = yaml.safe_load(ROLE_MANIFEST.read_text())
    rbac = k8s.RbacAuthorizationV1Api(api)
    try:
        rbac.create_namespaced_role(namespace, role)
    except ApiException as err:
        if err.status != 409:
            raise
    rbac.create_namespaced_role_binding(
        namespace,
        {
            "metadata": {"name": name},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": ROLE},
            "subjects": [{"kind": "User", "name": user.name, "apiGroup": "rbac.authorization.k8s.io"}],
        },
    )
    review = {
        "spec": {
            "user": user.name,
            "groups": ["system:authenticated", *user.groups],
            "resourceAttributes": {
                "namespace": namespace,
                "verb": "create",
                "group": "kontinue.cloud",
                "resource": "executions",
            },
        }
    }
    authorization = k8s.AuthorizationV1Api(api)
    wait_until(
        lambda: authorization.create_subject_access_review(review).status.allowed,
        timeout=30,
        what=f"the binding of {ROLE} to {user.name} in {namespace} to take effect",
    )


@pytest.fixture(scope="session")
def namespace_pool(admin_api: k8s.ApiClient, airflow_identity: SandboxUser) -> list[str]:
    """Namespaces for the tier's tests, each used by one test only; the emulator serves all of them."""
    pool = []
    for index in range(POOL_SIZE):
        name = f"deploy-{index}-{uuid.uuid4().hex[:5]}"
        k8s.CoreV1Api(admin_api).create_namespace({"metadata": {"name": name}})
        emulator_examples.install(admin_api, name)
        bind_role(admin_api, airflow_identity, name)
        pool.append(name)
    return pool


@pytest.fixture(scope="session")
def deployment_emulator(
    control_plane: ControlPlane, namespace_pool: list[str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[subprocess.Popen[bytes]]:
    """The kontinue emulator serving only the pool's namespaces."""
    directory = tmp_path_factory.mktemp("deployment-emulator")
    log_file = directory / "emulator.log"
    extra = [arg for ns in namespace_pool for arg in ("--namespace", ns)]
    proc = emulator_process.start(
        control_plane.kubeconfig,
        log_dir=directory / "state",
        log_file=log_file,
        speed=SPEED,
        extra=[*extra, "--node-name", "kubelet-deployment-tier"],
    )
    yield proc
    alive = proc.poll() is None
    processes.stop_group(proc.pid, grace=5.0)
    proc.wait()
    assert alive, f"the emulator died during the deployment tier; its log ends with:\n{log_tail(log_file)}"


@pytest.fixture(scope="session")
def deployment(deployment_emulator: subprocess.Popen[bytes]) -> Iterator[Deployment]:
    """The session's Airflow deployment (started once; stopped and removed at the end, also on failure)."""
    with deployment_support.running() as running:
        yield running
        dead = running.dead_components()
        assert not dead, f"components died during the tier: {dead}"


@dataclass(frozen=True)
class Slot:
    """One test's share of the deployment: its namespace, connection id and DAG id prefix."""

    namespace: str
    conn_id: str
    prefix: str
    deployment: Deployment

    def write_dag(self, template: str, suffix: str = "", **values: object) -> str:
        """Render ``dags/<template>.py`` into the bundle with this test's ids; return the DAG id."""
        dag_id = f"{self.prefix}{suffix}"
        source = Template((DAGS / f"{template}.py").read_text()).substitute(
            dag_id=dag_id, conn_id=self.conn_id, namespace=self.namespace, **values
        )
        (self.deployment.dags / f"{dag_id}.py").write_text(source)
        self.deployment.api.wait_for_dag(dag_id)
        return dag_id


@pytest.fixture
def slot(
    deployment: Deployment,
    namespace_pool: list[str],
    airflow_identity: SandboxUser,
    request: pytest.FixtureRequest,
) -> Slot:
    """A fresh namespace from the pool and a ``kontinue`` connection to it, created through the REST API."""
    used: set[str] = request.config.stash.setdefault(_USED, set())
    free = [ns for ns in namespace_pool if ns not in used]
    assert free, f"the namespace pool ({len(namespace_pool)}) is used up; raise POOL_SIZE"
    namespace = free[0]
    used.add(namespace)
    stem = re.sub(r"[^a-z0-9]+", "_", request.node.name.lower()).strip("_")[:40]
    conn_id = f"kontinue_{namespace.replace('-', '_')}"
    deployment.api.put_connection(
        conn_id, "kontinue", {"kube_config_path": str(airflow_identity.kubeconfig), "namespace": namespace}
    )
    return Slot(namespace, conn_id, f"{stem}_{uuid.uuid4().hex[:4]}", deployment)


_USED = pytest.StashKey[set[str]]()


@pytest.fixture
def kontinue(control_plane: ControlPlane, slot: Slot) -> Iterator[KontinueClient]:
    """An admin client on the test's namespace, to check what the deployment did in the cluster."""
    with KontinueClient.connect(control_plane.kubeconfig, namespace=slot.namespace) as client:
        yield client


@pytest.fixture(scope="session")
def browser(deployment: Deployment, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Browser]:
    """A headless Chromium logged in to the deployment's UI, shared by the tier's browser tests.

    Chromium and chromedriver are quit at the end of the session, also when a test fails; a missing
    one fails the test naming it and how to install it (never a skip). Screenshots and
    chromedriver's log stay in the test run's temp folder (a test moves its screenshots to its own
    ``tmp_path`` with ``keep_screenshots_in``).
    """
    with browser_support.chromium(deployment.api_url, tmp_path_factory.mktemp("browser")) as chromium:
        chromium.login_all_admins()
        yield chromium
