"""Starting the emulator as its own process, and knowing when it is ready (CLI, tests, benchmarks)."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kontinue_sandbox import processes
from kontinue_sandbox.errors import SandboxError, log_tail


def command(
    kubeconfig: Path | str,
    *,
    log_dir: Path,
    ready_file: Path,
    speed: float = 1.0,
    extra: Sequence[str] = (),
) -> list[str]:
    return [
        sys.executable,
        "-m",
        "kontinue_sandbox.emulator",
        "--kubeconfig",
        str(kubeconfig),
        "--log-dir",
        str(log_dir),
        "--ready-file",
        str(ready_file),
        "--speed",
        str(speed),
        *extra,
    ]


def start(
    kubeconfig: Path | str,
    *,
    log_dir: Path,
    log_file: Path,
    speed: float = 1.0,
    die_with_parent: bool = True,
    extra: Sequence[str] = (),
    timeout: float = 60.0,
) -> subprocess.Popen[bytes]:
    """Start the emulator in its own session and wait until it is ready (its caches are filled)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    ready_file = log_dir / "ready.json"
    ready_file.unlink(missing_ok=True)
    proc = processes.spawn(
        command(kubeconfig, log_dir=log_dir, ready_file=ready_file, speed=speed, extra=extra),
        log_file,
        die_with_parent=die_with_parent,
    )
    deadline = time.monotonic() + timeout
    while not ready_file.exists():
        code = proc.poll()
        if code is not None:
            raise SandboxError(
                f"the kontinue emulator exited with code {code} while starting; its log ({log_file}) "
                f"ends with:\n{log_tail(log_file)}"
            )
        if time.monotonic() > deadline:
            processes.stop_group(proc.pid, grace=1.0)
            raise SandboxError(
                f"the kontinue emulator was not ready within {timeout:.0f}s; its log ({log_file}) "
                f"ends with:\n{log_tail(log_file)}"
            )
        time.sleep(0.05)
    return proc
