"""Airflow DAG runs for the e2e tests: each one ``dag.test()`` in a subprocess, as a user would run it.

``Airflow`` starts ``python -m tests.support.dag_runner <dag_id>`` with the session's Airflow home
and connection in its environment, and ``DagRun`` is what the run printed: its summary line (states,
XComs, the triggers it ran in line) and its whole log.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SPEED = 5.0
"""Emulator speed: the examples' 1 s sleeps take 0.2 s; long-logger writes 5 lines a second."""
UI = "https://kontinue.example/ui/{namespace}/{name}"


@dataclass
class DagRun:
    """What one ``dag.test()`` run left: the summary line and the whole log."""

    summary: dict[str, Any]
    log: str
    returncode: int

    @property
    def state(self) -> str:
        return str(self.summary.get("state"))

    def task_states(self) -> dict[str, str]:
        return {
            t["task_id"] if t["map_index"] < 0 else f"{t['task_id']}[{t['map_index']}]": t["state"]
            for t in self.summary["tasks"]
        }

    def xcom(self, task: str, key: str = "return_value") -> Any:
        return self.summary["xcom"].get(task, {}).get(key)


@dataclass
class Airflow:
    """Runs DAGs of the session's Airflow home against the sandbox."""

    home: Path
    env: dict[str, str]
    namespace: str
    logs: list[Path] = field(default_factory=list)

    def start(
        self, dag_id: str, *, deferrable: bool, logical_date: str | None = None
    ) -> subprocess.Popen[str]:
        env = {**self.env, "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": str(deferrable)}
        command = [sys.executable, "-m", "tests.support.dag_runner", dag_id]
        if logical_date:
            command += ["--logical-date", logical_date]
        return subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )

    def finish(self, proc: subprocess.Popen[str], timeout: float = 240) -> DagRun:
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            out, _ = proc.communicate()
            pytest.fail(
                f"the DAG run did not finish within {timeout:.0f}s; its log ends with:\n{out[-4000:]}"
            )
        summary: dict[str, Any] = {}
        for line in out.splitlines():
            if line.startswith("E2E-RESULT "):
                summary = json.loads(line[len("E2E-RESULT ") :])
        assert summary, (
            f"the DAG run printed no result (exit {proc.returncode}); its log ends with:\n{out[-4000:]}"
        )
        return DagRun(summary, out, proc.returncode)

    def run(self, dag_id: str, *, deferrable: bool, logical_date: str | None = None) -> DagRun:
        return self.finish(self.start(dag_id, deferrable=deferrable, logical_date=logical_date))


def copy_dags(home: Path) -> None:
    dags = home / "dags"
    dags.mkdir(parents=True, exist_ok=True)
    for source in [*(ROOT / "example_dags").glob("*.py"), *(ROOT / "tests" / "e2e" / "dags").glob("*.py")]:
        shutil.copy(source, dags / source.name)


def interrupt(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    """Send ``sig`` to a DAG-run subprocess."""
    proc.send_signal(sig)
