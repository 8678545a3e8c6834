"""Finding the control-plane binaries: cache hits, envtest assets, and the errors when neither works."""

from __future__ import annotations

from pathlib import Path

import pytest

from kontinue_sandbox.binaries import cached_dir, ensure_binaries
from kontinue_sandbox.errors import SandboxError


@pytest.fixture
def no_go(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache and a PATH without Go."""
    monkeypatch.setenv("KONTINUE_SANDBOX_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    monkeypatch.delenv("KUBEBUILDER_ASSETS", raising=False)
    return tmp_path


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(0o755)
    return path


def test_missing_go_without_assets_names_both_fixes(no_go: Path) -> None:
    with pytest.raises(SandboxError) as raised:
        ensure_binaries()
    message = str(raised.value)
    assert "KUBEBUILDER_ASSETS" in message
    assert "install Go" in message
    assert str(no_go / "cache") in message


def test_cached_binaries_are_used_without_a_toolchain(no_go: Path) -> None:
    out = cached_dir()
    etcd, apiserver = executable(out / "etcd"), executable(out / "kube-apiserver")
    found = ensure_binaries()
    assert (found.etcd, found.kube_apiserver) == (etcd, apiserver)


def test_envtest_assets_win_over_the_cache(no_go: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assets = no_go / "assets"
    executable(assets / "etcd")
    executable(assets / "kube-apiserver")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(assets))
    assert ensure_binaries().directory == assets


def test_assets_without_an_apiserver_name_the_missing_binary(
    no_go: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    executable(no_go / "assets" / "etcd")
    monkeypatch.setenv("KUBEBUILDER_ASSETS", str(no_go / "assets"))
    with pytest.raises(SandboxError, match="has no executable kube-apiserver"):
        ensure_binaries()
