"""The kontinue connection against the real API server: ``kontinue-sandbox env`` gives a working
connection, the connection test reports what is wrong, inline kubeconfigs work and stay masked."""

from __future__ import annotations

import asyncio
import json
import shlex
from pathlib import Path

import pytest

from airflow_provider_kontinue.hooks import KontinueAsyncHook, KontinueHook
from airflow_provider_kontinue.hooks.connection import connection_json
from kontinue_sandbox import cli
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import add_user


def test_the_env_line_of_kontinue_sandbox_is_a_working_connection(
    control_plane: ControlPlane,
    e2e_namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert control_plane.state is not None
    (tmp_path / "sandbox.json").write_text(control_plane.state.to_json())
    monkeypatch.setenv("KONTINUE_SANDBOX_HOME", str(tmp_path))
    assert cli.main(["env", "--namespace", e2e_namespace, "--conn-id", "kontinue_from_env"]) == 0
    variable, _, quoted = capsys.readouterr().out.strip().partition("=")
    assert variable == "AIRFLOW_CONN_KONTINUE_FROM_ENV"
    (value,) = shlex.split(quoted)
    assert str(control_plane.kubeconfig) in value
    assert "BEGIN" not in value
    assert "client-key" not in value
    monkeypatch.setenv(variable, value)
    ok, message = KontinueHook("kontinue_from_env").test_connection()
    assert ok, message
    assert f"function(s) in namespace '{e2e_namespace}'" in message


def test_the_connection_test_says_what_is_wrong(
    control_plane: ControlPlane, e2e_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    nobody = add_user(control_plane, f"nobody-{e2e_namespace}")  # authenticated, no rights
    monkeypatch.setenv("AIRFLOW_CONN_KONTINUE_NOBODY", connection_json(str(nobody.kubeconfig), e2e_namespace))
    ok, message = KontinueHook("kontinue_nobody").test_connection()
    assert not ok
    assert "forbidden" in message
    assert "functions" in message
    ok, message = KontinueHook("kontinue_undefined").test_connection()
    assert not ok
    assert "AIRFLOW_CONN_KONTINUE_UNDEFINED" in message


def test_an_inline_kubeconfig_works_sync_and_async(
    control_plane: ControlPlane, e2e_namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    inline = Path(control_plane.kubeconfig).read_text()
    extra = {"kube_config_secret": inline, "namespace": e2e_namespace}
    monkeypatch.setenv("AIRFLOW_CONN_KONTINUE_INLINE", json.dumps({"conn_type": "kontinue", "extra": extra}))
    hook = KontinueHook("kontinue_inline")
    assert "hello" in [f.name for f in hook.client.functions()]
    assert inline not in repr(hook.settings)

    async def from_the_triggerer() -> list[str]:
        async_hook = KontinueAsyncHook("kontinue_inline")
        client = await async_hook.get_async_client()
        try:
            return [f.name for f in await client.functions()]
        finally:
            await async_hook.aclose()

    assert "hello" in asyncio.run(from_the_triggerer())
