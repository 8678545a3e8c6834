"""Directories of sandboxes whose processes died are removed; live ones are never touched."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from kontinue_sandbox.controlplane import SandboxState, sweep_stale_directories


def sandbox_dir(pids: dict[str, int]) -> Path:
    directory = Path(tempfile.mkdtemp(prefix="kontinue-sandbox-"))
    state = SandboxState(str(directory), "https://127.0.0.1:1", "http://127.0.0.1:2", "", "", pids)
    (directory / "sandbox.json").write_text(state.to_json())
    return directory


@pytest.fixture
def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


@pytest.fixture
def live_dir() -> Iterator[Path]:
    directory = sandbox_dir({"etcd": os.getpid()})
    yield directory
    (directory / "sandbox.json").unlink()
    directory.rmdir()


def test_a_directory_whose_processes_are_gone_is_removed(dead_pid: int) -> None:
    stale = sandbox_dir({"etcd": dead_pid, "kube-apiserver": dead_pid})
    assert stale in sweep_stale_directories()
    assert not stale.exists()


def test_a_directory_with_a_live_process_is_kept(live_dir: Path) -> None:
    assert live_dir not in sweep_stale_directories()
    assert live_dir.exists()
