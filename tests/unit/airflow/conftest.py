"""Unit tests of the Airflow layer's pure logic: no API server, no Airflow database.

Airflow reads ``AIRFLOW_HOME`` when it is first imported; point it at a private directory so the
tests never write into the developer's ``~/airflow``.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="kontinue-unit-airflow-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
