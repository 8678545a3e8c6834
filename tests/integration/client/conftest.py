"""Fixtures for the client suite: every test runs once with each client, against the real API server.

``kontinue`` is a ``KontinueClient``, or an ``AsyncKontinueClient`` seen through a blocking view
(``tests.support.clients``), so one test body proves both clients. ``cluster`` plays the kontinue
controller (``tests.support.cluster``).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from kontinue_sandbox import processes
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import process as emulator_process
from tests.support.clients import EventLoopThread, close_client, make_client
from tests.support.cluster import Cluster


@pytest.fixture(scope="session")
def event_loop_thread() -> Iterator[EventLoopThread]:
    loop = EventLoopThread()
    yield loop
    loop.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def kontinue(
    mode: str, control_plane: ControlPlane, namespace: str, event_loop_thread: EventLoopThread
) -> Iterator[Any]:
    """The client under test (sync, or async behind a blocking view), defaulting to the test namespace."""
    client = make_client(
        mode, control_plane, namespace, event_loop_thread, options={"qps": 200, "burst": 200}
    )
    yield client
    close_client(client, event_loop_thread)


@pytest.fixture
def cluster(admin_api: k8s.ApiClient, namespace: str) -> Cluster:
    return Cluster(admin_api, namespace)


@pytest.fixture
def emulator(control_plane: ControlPlane, namespace: str, tmp_path: Path) -> Iterator[None]:
    """The kontinue emulator for this test's namespace only (its own Node and kubelet)."""
    proc = emulator_process.start(
        control_plane.kubeconfig,
        log_dir=tmp_path / "emulator",
        log_file=tmp_path / "emulator.log",
        extra=["--namespace", namespace, "--node-name", f"kubelet-{namespace}"],
    )
    yield
    processes.stop_group(proc.pid)
    proc.wait()
