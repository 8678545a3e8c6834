"""No secret of an inline kubeconfig shows in anything a real deployment exposes.

Two ``kontinue`` connections carry their kubeconfig inline (``kube_config_secret``): one
authenticates with a service account's bearer token and is created through the REST API, the
other with a client certificate and key and is created with ``airflow connections import`` from a
file (the CLI way that keeps the kubeconfig off the command line, hence out of the audit log).
A deferred spawn, a sync spawn and a failing spawn use them. Then everything the deployment
exposes is scanned, with Airflow's default settings: every REST API response a UI user reaches
(connections get and list, event logs, task instance details with rendered fields, task logs,
XComs), the metadata DB dump (``pg_dump``), and every log file and process output of every
component. The same sources must show what is not secret (the marker argument, the executions'
names), so a scan that read nothing cannot pass.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path

import yaml
from kubernetes import client as k8s

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import add_user
from tests.deployment.conftest import Slot, bind_role
from tests.support.deployment import Deployment
from tests.support.secrets import WINDOW, Secrets, inline_kubeconfig, pem_body_lines, pieces


def rest_sources(deployment: Deployment, dag_id: str, run_id: str, conn_ids: list[str]) -> dict[str, str]:
    """Every REST API response of the run a UI user can reach, by request."""
    api = deployment.api
    sources: dict[str, str] = {}

    def get(path: str, **params: object) -> None:
        response = api.request("GET", path, params=params)
        assert response.status_code == 200, f"GET {path}: HTTP {response.status_code}: {response.text}"
        sources[f"GET {path} {params or ''}".strip()] = response.text

    get("/connections", limit=1000)
    for conn_id in conn_ids:
        get(f"/connections/{conn_id}")
    get("/eventLogs", limit=1000, order_by="-when")
    get(f"/dags/{dag_id}/dagRuns/{run_id}")
    for ti in api.task_instances(dag_id, run_id):
        base = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{ti['task_id']}"
        get(base)  # the details page, rendered fields included
        get(f"{base}/tries")
        for try_number in range(1, int(ti["try_number"]) + 1):
            sources[f"task log {ti['task_id']} try {try_number}"] = api.task_log(
                dag_id, run_id, ti["task_id"], try_number
            )
        entries = api.ok("GET", f"{base}/xcomEntries", params={"limit": 1000})["xcom_entries"]
        sources[f"GET {base}/xcomEntries"] = json.dumps(entries)
        for entry in entries:
            get(f"{base}/xcomEntries/{entry['key']}", deserialize="true")
    return sources


def file_sources(deployment: Deployment) -> dict[str, str]:
    """Every file a component wrote (their stdout/stderr logs, Airflow's task and trigger logs)."""
    data = deployment.db.directory / "data"
    return {
        str(path.relative_to(deployment.directory)): path.read_text(errors="replace")
        for path in deployment.directory.rglob("*")
        if path.is_file() and data not in path.parents
    }


def test_no_secret_of_an_inline_kubeconfig_shows_in_what_a_deployment_exposes(
    slot: Slot, control_plane: ControlPlane, admin_api: k8s.ApiClient, tmp_path: Path
) -> None:
    deployment = slot.deployment
    api = deployment.api
    token_user = add_user(control_plane, f"robot-{slot.namespace}", auth="token", namespace=slot.namespace)
    key_user = add_user(control_plane, f"keybot-{slot.namespace}")
    for user in (token_user, key_user):
        bind_role(admin_api, user, slot.namespace, name=f"kontinue-airflow-{user.name.replace(':', '-')}")
    assert token_user.token
    token_config = inline_kubeconfig(token_user.kubeconfig)
    key_config = inline_kubeconfig(key_user.kubeconfig)
    key_data = yaml.safe_load(key_config)["users"][0]["user"]["client-key-data"]
    key_lines = pem_body_lines(base64.b64decode(key_data).decode())
    values = {"token": token_user.token, "client-key-data": key_data}
    values |= {f"token ({part} {WINDOW} chars)": text for part, text in pieces(token_user.token).items()}
    values |= {f"client-key-data ({part} {WINDOW} chars)": text for part, text in pieces(key_data).items()}
    values |= {f"client key PEM line {i + 1}": line for i, line in enumerate(key_lines)}
    for kind, text in (("token", token_config), ("key", key_config)):
        values[f"{kind} kubeconfig text"] = text
        values[f"{kind} kubeconfig text, JSON-escaped"] = json.dumps(text)[1:-1]
    secrets = Secrets(values)

    token_conn, key_conn = f"{slot.conn_id}_token", f"{slot.conn_id}_key"
    # The REST API (as the UI's form does) ...
    api.put_connection(
        token_conn, "kontinue", {"kube_config_secret": token_config, "namespace": slot.namespace}
    )
    # ... and the CLI, from a file: the command line, which the audit log records, holds only its path.
    import_file = tmp_path / "connections.json"
    import_file.write_text(
        json.dumps(
            {
                key_conn: {
                    "conn_type": "kontinue",
                    "extra": json.dumps({"kube_config_secret": key_config, "namespace": slot.namespace}),
                }
            }
        )
    )
    imported = deployment.airflow_cli("connections", "import", str(import_file))
    import_file.unlink()
    assert imported.returncode == 0, imported.stdout + imported.stderr

    marker = f"scan-marker-{slot.prefix}"
    dag_id = slot.write_dag("secrets", token_conn=token_conn, key_conn=key_conn, marker=marker)
    run_id = api.trigger(dag_id)
    assert api.wait_for_run(dag_id, run_id) == "failed"
    assert api.task_states(dag_id, run_id) == {"deferred": "success", "sync": "success", "failing": "failed"}
    names = [api.xcom(dag_id, run_id, task, key="execution_name") for task in ("deferred", "sync")]

    sources = rest_sources(deployment, dag_id, run_id, [token_conn, key_conn])
    sources |= file_sources(deployment)
    sources["metadata DB (pg_dump)"] = deployment.db.dump()

    leaks = {where: found for where, text in sources.items() if (found := secrets.found_in(text))}
    total = sum(map(len, sources.values()))
    print(f"secret scan: {len(sources)} sources, {total:,} characters, {len(secrets.values)} secrets")
    for where in sorted(sources):
        print(f"  {where}: {len(sources[where]):,} characters")
    assert leaks == {}, f"secrets found: {leaks}"
    # The scan read what the run produced: the non-secret values are there, where they belong.
    assert marker in sources["task log deferred try 1"]
    assert marker in sources["metadata DB (pg_dump)"]
    for name in names:
        assert any(name in text for where, text in sources.items() if where.startswith("task log"))
        assert name in sources["metadata DB (pg_dump)"]
    # The audit log recorded both creations: the REST API's (extra values masked) and the CLI's.
    event_logs = sources["GET /eventLogs {'limit': 1000, 'order_by': '-when'}"]
    assert token_conn in event_logs
    assert str(import_file) in event_logs
    assert '"kube_config_secret": "***"' in sources[f"GET /connections/{token_conn}"].replace('\\"', '"')
