"""Starting and stopping sandboxes: the CLI round trip, and failures that must explain themselves."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from kubernetes import client as k8s

from kontinue_sandbox import processes
from kontinue_sandbox.binaries import ensure_binaries
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.errors import SandboxError

CLI = [sys.executable, "-m", "kontinue_sandbox.cli"]


def run_cli(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "KONTINUE_SANDBOX_HOME": str(home)}
    return subprocess.run([*CLI, *args], env=env, capture_output=True, text=True, timeout=180, check=False)


def test_cli_up_serves_the_crds_and_down_leaves_no_process_or_directory(tmp_path: Path) -> None:
    up = run_cli(tmp_path, "up")
    assert up.returncode == 0, up.stderr
    state = json.loads((tmp_path / "sandbox.json").read_text())
    try:
        kubeconfig = run_cli(tmp_path, "kubeconfig").stdout.strip()
        assert kubeconfig == state["kubeconfig"]
        listing = subprocess.run(
            [
                sys.executable,
                "-c",
                "import sys; from kubernetes import client, config\n"
                "api = config.new_client_from_config(config_file=sys.argv[1])\n"
                "crds = client.ApiextensionsV1Api(api).list_custom_resource_definition().items\n"
                "print(' '.join(sorted(c.metadata.name for c in crds)))",
                kubeconfig,
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        assert listing.stdout.split() == sorted(state["crds"])
        assert len(state["crds"]) == 5
        status = run_cli(tmp_path, "status")
        assert status.returncode == 0
        assert f"running at {state['server']}" in status.stdout
        again = run_cli(tmp_path, "up")
        assert "already running" in again.stdout
    finally:
        down = run_cli(tmp_path, "down")
    assert down.returncode == 0, down.stderr
    assert not any(processes.pid_alive(pid) for pid in state["pids"].values())
    assert not Path(state["directory"]).exists()
    assert not (tmp_path / "sandbox.json").exists()
    assert run_cli(tmp_path, "status").returncode == 3


def test_a_port_in_use_is_refused_naming_the_port() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(SandboxError, match=rf"port {port} on 127.0.0.1 is already in use"):
            ControlPlane(apiserver_port=port).start()


def fake_assets(tmp_path: Path, apiserver_script: str) -> Path:
    """Envtest-style assets: the real etcd next to a kube-apiserver that misbehaves on purpose."""
    real = ensure_binaries()
    assets = tmp_path / "assets"
    assets.mkdir()
    (assets / "etcd").symlink_to(real.etcd)
    fake = assets / "kube-apiserver"
    fake.write_text(f"#!/bin/sh\n{apiserver_script}\n")
    fake.chmod(0o755)
    return assets


def sandbox_dirs() -> set[Path]:
    import tempfile

    return set(Path(tempfile.gettempdir()).glob("kontinue-sandbox-*"))


def test_an_apiserver_that_exits_is_reported_with_its_log_and_nothing_is_left(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(fake_assets(tmp_path, "echo 'bad flag --foo' >&2; exit 7")))
    before = sandbox_dirs()
    plane = ControlPlane()
    with pytest.raises(SandboxError) as raised:
        plane.start()
    assert "kube-apiserver exited with code 7" in str(raised.value)
    assert "bad flag --foo" in str(raised.value)
    assert sandbox_dirs() <= before
    assert not plane._procs


def test_an_apiserver_that_never_gets_ready_times_out_and_is_killed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pid_file = tmp_path / "pid"
    assets = fake_assets(tmp_path, f"echo $$ > {pid_file}; echo 'waiting for nothing'; exec sleep 600")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    before = sandbox_dirs()
    with pytest.raises(SandboxError) as raised:
        ControlPlane(start_timeout=2).start()
    message = str(raised.value)
    assert "did not become ready" in message
    assert "waiting for nothing" in message
    assert not processes.pid_alive(int(pid_file.read_text()))
    assert sandbox_dirs() <= before


def test_a_started_control_plane_lists_every_kontinue_resource_at_once() -> None:
    """Started means usable: no list answers 429 "storage is (re)initializing" afterwards."""
    with ControlPlane() as plane, plane.api_client() as api:
        custom = k8s.CustomObjectsApi(api)
        assert plane.state is not None
        assert len(plane.state.crds) == 5
        for crd in plane.state.crds:
            plural, group = crd.split(".", 1)
            assert custom.list_cluster_custom_object(group, "v1alpha1", plural)["items"] == []
