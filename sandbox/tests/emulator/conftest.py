"""Fixtures for the emulator suite: the emulator as its own process, and a toolbox per test.

The emulator runs once for this package (speed 20: a ``5s`` backoff takes 250 ms) against the
session's real API server; tests that kill and restart it do so through ``emulator``. Tests talk
to the API server with the raw ``kubernetes`` client only (``support.emulator.Kontinue``), the way
a kontinue client would.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from kubernetes import client as k8s

from kontinue_sandbox.controlplane import ControlPlane
from support.emulator import EmulatorProcess, Kontinue


@pytest.fixture(scope="package")
def emulator(
    control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[EmulatorProcess]:
    """The kontinue emulator, running for the whole emulator suite at speed 20."""
    handle = EmulatorProcess(control_plane.kubeconfig, tmp_path_factory.mktemp("emulator"))
    handle.start()
    yield handle
    alive = handle.alive()
    handle.stop()
    assert alive, f"the emulator died during the suite; its log ends with:\n{handle.log_tail()}"


@pytest.fixture
def kontinue(admin_api: k8s.ApiClient, namespace: str, emulator: EmulatorProcess) -> Kontinue:
    """The toolbox for one test, in that test's fresh namespace, with the emulator running."""
    return Kontinue(admin_api, namespace, emulator)
