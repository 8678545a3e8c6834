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
