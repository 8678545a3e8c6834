"""Bad credentials in a kubeconfig fail when the client is made, naming the file or plugin, before
any request (the server below does not exist: nothing is ever sent)."""

from __future__ import annotations

import stat
import sys
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_kontinue.client import ConfigError, KontinueClient

SERVER = "https://127.0.0.1:1"  # nothing listens: a request would fail differently


def kubeconfig(tmp_path: Path, user: dict[str, Any], cluster: dict[str, Any] | None = None) -> Path:
    import yaml

    path = tmp_path / "kubeconfig"
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": "c", "cluster": cluster or {"server": SERVER}}],
        "users": [{"name": "robot", "user": user}],
        "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "robot"}}],
        "current-context": "ctx",
    }
    path.write_text(yaml.safe_dump(document))
    return path


def plugin(tmp_path: Path, body: str) -> dict[str, Any]:
    script = tmp_path / "plugin.py"
    script.write_text(f"import sys\n{body}\n")
    return {
        "exec": {
            "apiVersion": "client.authentication.k8s.io/v1",
            "command": sys.executable,
            "args": [str(script)],
        }
    }


def test_a_missing_exec_plugin_is_named(tmp_path: Path) -> None:
    user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-plugin-xyz"}}
    with pytest.raises(ConfigError, match=r"exec credential plugin 'no-such-plugin-xyz' was not found"):
        KontinueClient.connect(kubeconfig(tmp_path, user))


def test_an_exec_plugin_that_exits_non_zero_is_named_with_its_exit_code(tmp_path: Path) -> None:
    user = plugin(tmp_path, "sys.stderr.write('no session'); sys.exit(3)")
    with pytest.raises(
        ConfigError, match=r"exec credential plugin .* failed: process returned 3\. no session"
    ):
        KontinueClient.connect(kubeconfig(tmp_path, user))


def test_an_exec_plugin_that_prints_malformed_json_is_named(tmp_path: Path) -> None:
    user = plugin(tmp_path, "print('{not json')")
    with pytest.raises(ConfigError, match=r"failed: its output is not JSON; it must print an ExecCredential"):
        KontinueClient.connect(kubeconfig(tmp_path, user))


def test_an_unreadable_token_file_is_named(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("secret")
    token.chmod(0)
    if token.stat().st_mode & stat.S_IRUSR or _root_reads_anyway(token):
        token.unlink()  # root reads any file: a missing one is unreadable for everyone
    with pytest.raises(ConfigError, match=f"cannot read the token file {token}"):
        KontinueClient.connect(kubeconfig(tmp_path, {"tokenFile": str(token)}))


def test_a_missing_certificate_authority_file_is_named(tmp_path: Path) -> None:
    cluster = {"server": SERVER, "certificate-authority": str(tmp_path / "ca.crt")}
    with pytest.raises(ConfigError, match=f"File does not exist: {tmp_path / 'ca.crt'}"):
        KontinueClient.connect(kubeconfig(tmp_path, {"token": "t"}, cluster))


def test_a_certificate_authority_that_is_not_pem_is_named(tmp_path: Path) -> None:
    ca = tmp_path / "ca.crt"
    ca.write_text("not a certificate")
    cluster = {"server": SERVER, "certificate-authority": str(ca)}
    with pytest.raises(ConfigError, match=f"certificate-authority file {ca} is not a PEM certificate"):
        KontinueClient.connect(kubeconfig(tmp_path, {"token": "t"}, cluster))


def _root_reads_anyway(path: Path) -> bool:
    try:
        path.read_text()
    except OSError:
        return False
    return True
