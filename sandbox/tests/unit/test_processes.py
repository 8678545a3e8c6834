"""Sandbox child processes outlive the thread that started them, but not the process."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

from kontinue_sandbox import processes


def test_a_child_started_from_a_short_lived_thread_keeps_running(tmp_path: Path) -> None:
    started: list[subprocess.Popen[bytes]] = []
    thread = threading.Thread(
        target=lambda: started.append(
            processes.spawn(["sleep", "30"], tmp_path / "log", die_with_parent=True)
        )
    )
    thread.start()
    thread.join()
    time.sleep(0.3)  # a parent-death signal tied to that thread would have killed it by now
    try:
        assert processes.pid_alive(started[0].pid)
    finally:
        processes.stop_group(started[0].pid, grace=1)
    assert not processes.pid_alive(started[0].pid)


def test_a_child_dies_with_the_process_that_started_it(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    script = (
        "import sys; from pathlib import Path; from kontinue_sandbox import processes; "
        f"p = processes.spawn(['sleep', '30'], Path({str(tmp_path / 'log')!r}), die_with_parent=True); "
        f"Path({str(pid_file)!r}).write_text(str(p.pid))"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=30)
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while processes.pid_alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not processes.pid_alive(child)
