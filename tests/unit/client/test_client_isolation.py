"""The client stays usable without Airflow: importing it imports nothing from Airflow."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_client_loads_no_airflow_module() -> None:
    probe = (
        "import sys, airflow_provider_kontinue.client as c; "
        "c.KontinueClient; c.AsyncKontinueClient; "
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"
