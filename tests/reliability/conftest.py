"""Fixtures of the reliability suite: a triggerer's event loop, Airflow connections to the sandbox.

Every scenario runs the real ``KontinueExecutionTrigger`` against the real API server: the triggers
run as ``trigger.run()`` tasks in one event loop on its own thread (what Airflow's triggerer does),
faults are injected from the main thread (the sandbox's processes die with the thread that started
them), and the controller's part is played by raw status writes (``Cluster``) or by the emulator.
"""

from __future__ import annotations

import json
import os
import tempfile

# Airflow reads AIRFLOW_HOME when first imported: a private one, never the developer's ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kontinue-reliability-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kontinue_sandbox.controlplane import ControlPlane
from tests.support.faults import audit_args
from tests.support.figures import FIGURES
from tests.support.triggerer import Triggerer

FIGURES_JSON = "KONTINUE_FIGURES_JSON"
"""Where ``benchmarks/bench_faults.py`` asks for this run's figures (a JSON object)."""


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if FIGURES and os.environ.get(FIGURES_JSON):
        Path(os.environ[FIGURES_JSON]).write_text(json.dumps(FIGURES))
    if FIGURES:
        terminalreporter.write_sep("-", "reliability figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name} = {value}")


@pytest.fixture
def triggerer() -> Iterator[Triggerer]:
    running = Triggerer()
    yield running
    running.cancel()
    running.close()


@pytest.fixture(scope="module")
def own_audit(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where ``own_plane``'s API server logs the watches it is asked for (``watch_requests``)."""
    return tmp_path_factory.mktemp("audit")


@pytest.fixture(scope="module")
def own_plane(own_audit: Path) -> Iterator[ControlPlane]:
    """A control plane of this module's own: its tests kill the API server and read its audit log."""
    with ControlPlane(extra_apiserver_args=audit_args(own_audit)) as plane:
        yield plane
