"""The emulator connects with plain kubeconfigs directly and with anything else through kubernetes_asyncio."""

from __future__ import annotations

import asyncio
import json
import ssl
import sys
from pathlib import Path

import yaml

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator import kubeconfig_reader
from kontinue_sandbox.emulator.kube import Kube
from kontinue_sandbox.users import add_user


def _discover(path: Path) -> list[str]:
    async def run() -> list[str]:
        kube = await Kube.from_kubeconfig(str(path))
        try:
            found = await kube.request("GET", "/apis/kontinue.cloud/v1alpha1")
        finally:
            await kube.close()
        return sorted(r["name"] for r in found["resources"] if "/" not in r["name"])

    return asyncio.run(run())


def test_the_sandbox_kubeconfig_is_read_directly_and_works(control_plane: ControlPlane) -> None:
    plain = kubeconfig_reader.load(str(control_plane.kubeconfig))
    assert plain is not None
    assert plain.server == control_plane.server
    assert isinstance(plain.ssl_context, ssl.SSLContext)
    assert _discover(control_plane.kubeconfig) == [
        "archivedexecutions", "executions", "functions", "scheduledexecutions", "suspensions",
    ]  # fmt: skip


def test_a_token_kubeconfig_is_read_directly(control_plane: ControlPlane, namespace: str) -> None:
    user = add_user(control_plane, "emulator-token-user", auth="token", namespace=namespace)
    plain = kubeconfig_reader.load(str(user.kubeconfig))
    assert plain is not None
    assert plain.headers == {"Authorization": f"Bearer {user.token}"}
    assert len(_discover(user.kubeconfig)) == 5  # discovery is open to every authenticated user


def test_an_exec_plugin_kubeconfig_goes_through_kubernetes_asyncio(
    control_plane: ControlPlane, namespace: str, tmp_path: Path
) -> None:
    user = add_user(control_plane, "emulator-exec-user", auth="token", namespace=namespace)
    document = yaml.safe_load(user.kubeconfig.read_text())
    credential = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "kind": "ExecCredential",
        "status": {"token": user.token},
    }
    document["users"][0]["user"] = {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
            "interactiveMode": "Never",
        }
    }
    path = tmp_path / "exec-kubeconfig"
    path.write_text(yaml.safe_dump(document))
    assert kubeconfig_reader.load(str(path)) is None
    assert len(_discover(path)) == 5


def test_several_kubeconfig_files_are_left_to_kubernetes_asyncio(control_plane: ControlPlane) -> None:
    assert kubeconfig_reader.load(f"{control_plane.kubeconfig}:/nonexistent") is None
