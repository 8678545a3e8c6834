"""Airflow connections to the sandbox, defined the way a deployment would: ``AIRFLOW_CONN_<ID>``."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_kontinue.hooks.connection import connection_json


def use_connection(
    monkeypatch: pytest.MonkeyPatch, kubeconfig: Path | str, namespace: str, **fields: Any
) -> str:
    """Define a ``kontinue`` connection to the sandbox (``AIRFLOW_CONN_<ID>``); returns its id."""
    conn_id = f"kontinue_rel_{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}", connection_json(str(kubeconfig), namespace, **fields)
    )
    return conn_id
