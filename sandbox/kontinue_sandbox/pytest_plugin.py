"""pytest fixtures: one real control plane per test session, a fresh namespace per test.

Registered as a ``pytest11`` plugin, so every suite in an environment with the sandbox installed
gets them (the provider's tests and the sandbox's own share one control plane per session). The
control plane is started only when a test asks for it (unit tests never do), and a test that
needs it fails, never skips, when it cannot start: a missing API server is a failure to fix, not a
reason to pass.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_VIEWER_RULES, SandboxUser, add_user, grant


@pytest.fixture(scope="session")
def control_plane() -> Iterator[ControlPlane]:
    """A real etcd + kube-apiserver with the kontinue CRDs, shared by the whole test session."""
    with ControlPlane() as plane:
        yield plane


@pytest.fixture(scope="session")
def admin_api(control_plane: ControlPlane) -> Iterator[k8s.ApiClient]:
    """A Kubernetes client authenticated as the sandbox admin (system:masters)."""
    with control_plane.api_client() as api:
        yield api


@pytest.fixture
def namespace(admin_api: k8s.ApiClient, request: pytest.FixtureRequest) -> str:
    """A fresh namespace named after the test, so tests never see each other's objects."""
    stem = re.sub(r"[^a-z0-9]+", "-", request.node.name.lower()).strip("-")[:40].strip("-")
    name = f"{stem}-{uuid.uuid4().hex[:6]}"
    k8s.CoreV1Api(admin_api).create_namespace({"metadata": {"name": name}})
    return name


@pytest.fixture
def viewer(control_plane: ControlPlane, admin_api: k8s.ApiClient, namespace: str) -> SandboxUser:
    """A user who may only read kontinue resources in the test's namespace."""
    user = add_user(control_plane, f"viewer-{namespace}", ("kontinue-viewers",), namespace=namespace)
    grant(admin_api, user.name, KONTINUE_VIEWER_RULES, namespace=namespace)
    return user


@pytest.fixture
def viewer_api(control_plane: ControlPlane, viewer: SandboxUser) -> Iterator[k8s.ApiClient]:
    """A Kubernetes client authenticated as ``viewer``."""
    with control_plane.api_client(viewer.kubeconfig) as api:
        yield api
