"""A task that writes the secrets of the connections it uses through Airflow's task-log masker,
for the masking test in ``tests/e2e/test_secrets.py``.

The task reads the secrets back out of the parsed connections (the inline kubeconfig's bearer
token and client key) after the hook has read them, which is when the hook registers them with
``mask_secret``; Airflow itself would mask neither (``kube_config`` is not a key it treats as
sensitive). ``dag.test()`` prints task output without redaction (Airflow 3.3: even a
connection's password shows), so the task prints what Airflow's log redaction (``redact``, the
masker a worker's log pipeline applies) makes of a log line and of an error embedding the
secrets; the password, which Airflow masks itself, is the control.
"""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import BaseHook, dag, task
from airflow.sdk._shared.secrets_masker import redact

from airflow_provider_kontinue.hooks import KontinueHook
from tests.e2e.dags.e2e_secrets import CERT_CONN, TOKEN_CONN

SAID = "e2e-mask said"
"""Prefix of each line the task writes (the test finds them by it)."""


@dag(dag_id="e2e_masking", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def e2e_masking() -> None:
    @task
    def leak() -> None:
        token_config = KontinueHook(TOKEN_CONN).settings.kube_config or {}
        cert_config = KontinueHook(CERT_CONN).settings.kube_config or {}
        token = token_config["users"][0]["user"]["token"]
        key = cert_config["users"][0]["user"]["client-key-data"]
        password = BaseHook.get_connection(TOKEN_CONN).password
        print(SAID, redact(f"(log) token={token} client-key-data={key}"))
        print(SAID, redact(f"(password) password={password}"))
        error = RuntimeError(f"token={token} client-key-data={key}")
        print(SAID, redact(f"(error) {error}"))

    leak()


e2e_masking()
