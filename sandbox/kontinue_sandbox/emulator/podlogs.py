"""The worker pods' log lines, kept in files so they outlive an emulator restart.

One file per pod, ``<directory>/<namespace>/<pod>/worker.log``, one line per log line in the
kubelet's own on-disk style: an RFC 3339 timestamp with nanoseconds, a space, the text. A
reader following the log stops when the Pod has terminated. Readers waiting for more lines are
woken by ``append`` and ``finish``, never by polling.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from kontinue_sandbox.emulator.times import parse_timestamp

LOG_FILE = "worker.log"


def _stamp(when: datetime) -> str:
    utc = when.astimezone(timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond:06d}000Z"


@dataclass(frozen=True)
class LogLine:
    timestamp: datetime
    text: str

    def render(self, with_timestamp: bool) -> bytes:
        if with_timestamp:
            return f"{_stamp(self.timestamp)} {self.text}\n".encode()
        return f"{self.text}\n".encode()


class PodLogs:
    """Appends and reads the per-pod log files under ``directory``.

    A pod's file is created with its first line; a pod that never logged has no file (and an
    empty log). Whether a container still runs is the Pod's business (``Workers.pod_state``), so
    nothing here marks ends on disk: ``finish`` only wakes the readers.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self._changed: dict[tuple[str, str], asyncio.Event] = {}
        self._folders: set[tuple[str, str]] = set()

    def _dir(self, namespace: str, pod: str) -> Path:
        return self.directory / namespace / pod

    def exists(self, namespace: str, pod: str) -> bool:
        return (namespace, pod) in self._folders or (self._dir(namespace, pod) / LOG_FILE).exists()

    def append(self, namespace: str, pod: str, text: str, when: datetime) -> None:
        folder = self._dir(namespace, pod)
        if (namespace, pod) not in self._folders:
            folder.mkdir(parents=True, exist_ok=True)
            self._folders.add((namespace, pod))
        stamp = _stamp(when)
        with open(folder / LOG_FILE, "a", encoding="utf-8") as out:
            out.write("".join(f"{stamp} {line}\n" for line in text.splitlines() or [""]))
        self._wake(namespace, pod)

    def finish(self, namespace: str, pod: str) -> None:
        """The container terminated: followers drain what is left and stop."""
        self._wake(namespace, pod)

    def remove(self, namespace: str, pod: str) -> None:
        shutil.rmtree(self._dir(namespace, pod), ignore_errors=True)
        self._folders.discard((namespace, pod))
        self._wake(namespace, pod)

    def changed(self, namespace: str, pod: str) -> asyncio.Event:
        """An event set at the next append or finish of this pod's log."""
        key = (namespace, pod)
        event = self._changed.get(key)
        if event is None or event.is_set():
            event = asyncio.Event()
            self._changed[key] = event
        return event

    def _wake(self, namespace: str, pod: str) -> None:
        event = self._changed.pop((namespace, pod), None)
        if event is not None:
            event.set()

    def read(self, namespace: str, pod: str, offset: int = 0) -> tuple[list[LogLine], int]:
        """Whole lines from byte ``offset`` on, and the offset after them."""
        path = self._dir(namespace, pod) / LOG_FILE
        try:
            with open(path, "rb") as source:
                source.seek(offset)
                data = source.read()
        except FileNotFoundError:
            return [], offset
        end = data.rfind(b"\n") + 1
        lines = []
        for raw in data[:end].decode("utf-8", errors="replace").splitlines():
            stamp, _, text = raw.partition(" ")
            try:
                when = parse_timestamp(stamp)
            except ValueError:
                when, text = datetime.now(timezone.utc), raw
            lines.append(LogLine(when, text))
        return lines, offset + end
