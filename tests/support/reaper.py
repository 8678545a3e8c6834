"""A watchdog that kills the deployment tier's process groups and removes its folders when pytest dies.

Started by the deployment fixture as its own process (its own session). The fixture writes one line
per thing to clean to the reaper's stdin: ``pgid <n>`` for a process group, ``dir <path>`` for a
folder. When stdin reaches end of file, because the fixture closed it after an orderly stop or
because pytest died (SIGKILL included, the kernel closes the pipe), the reaper SIGKILLs every group
it was told about and removes every folder. So nothing of a deployment outlives its test session.

Run as ``python -m tests.support.reaper``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys


def main() -> None:
    groups: list[int] = []
    folders: list[str] = []
    for line in sys.stdin:
        kind, _, value = line.strip().partition(" ")
        if kind == "pgid":
            groups.append(int(value))
        elif kind == "dir":
            folders.append(value)
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a Ctrl-C to pytest's terminal must not stop us first
    main()
