"""Airflow finds the provider through its entry point, as `airflow providers list` does."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import airflow_provider_kontinue


def test_airflow_providers_list_shows_the_installed_provider(tmp_path: Path) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    airflow = Path(sys.executable).with_name("airflow")
    listed = subprocess.run(
        [str(airflow), "providers", "list", "--output", "plain"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    rows = [line.split() for line in listed.stdout.splitlines() if "airflow-provider-kontinue" in line]
    assert len(rows) == 1
    assert airflow_provider_kontinue.__version__ in rows[0]


def test_provider_discovery_in_an_airflow_process_does_not_load_the_client(tmp_path: Path) -> None:
    """Every Airflow process (scheduler, API server, workers) runs provider discovery; only the
    connection form's module may load then, not the hooks or the client."""
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    script = (
        "import sys\n"
        "import airflow.triggers.base\n"  # runs provider discovery, as a triggerer starting does
        "from airflow.providers_manager import ProvidersManager\n"
        "assert 'airflow-provider-kontinue' in ProvidersManager().providers\n"
        "print(' '.join(sorted(m for m in sys.modules if m.startswith('airflow_provider_kontinue'))))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=True
    ).stdout.split()
    assert loaded == [
        "airflow_provider_kontinue",
        "airflow_provider_kontinue.hooks",
        "airflow_provider_kontinue.hooks.connection",
    ]
