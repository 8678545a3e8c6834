"""``--namespace`` limits the emulator to the namespaces it is given (its own sandbox, own process)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from kubernetes import client as k8s

from kontinue_sandbox import processes
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import process as emulator_process
from support.emulator import EmulatorProcess, Kontinue, status


@pytest.fixture
def own_plane() -> Iterator[ControlPlane]:
    with ControlPlane() as plane:
        yield plane


def test_an_emulator_given_namespaces_serves_only_those(own_plane: ControlPlane, tmp_path: Path) -> None:
    proc = emulator_process.start(
        own_plane.kubeconfig,
        log_dir=tmp_path / "state",
        log_file=tmp_path / "emulator.log",
        speed=20,
        extra=["--namespace", "served"],
    )
    handle = EmulatorProcess(own_plane.kubeconfig, tmp_path)
    try:
        with own_plane.api_client() as api:
            for name in ("served", "ignored"):
                k8s.CoreV1Api(api).create_namespace({"metadata": {"name": name}})
            served, ignored = Kontinue(api, "served", handle), Kontinue(api, "ignored", handle)
            for toolbox in (served, ignored):
                toolbox.function("hi", [{"log": "hi"}, {"return": "hi"}])
            ignored.execution("hi", name="hi-1")
            served.execution("hi", name="hi-1")
            done = status(served.wait_phase("hi-1", "Completed"))
            assert served.log(done["worker"]) == "hi\n"
            assert status(ignored.get("executions", "hi-1")) == {}
            assert ignored.list("jobs") == []
    finally:
        processes.stop_group(proc.pid)
        proc.wait()
