"""The example approval DAG under a real scheduler, workers and triggerers."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_kontinue.client import KontinueClient
from kontinue_sandbox.users import SandboxUser
from tests.deployment.conftest import Slot
from tests.support.airflow_api import wait_until

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "kontinue_approval.py"


def test_the_example_approval_dag_succeeds_in_a_deployment(
    slot: Slot, kontinue: KontinueClient, airflow_identity: SandboxUser
) -> None:
    api = slot.deployment.api
    # The example uses the default connection: point it at this test's namespace.
    extra = {
        "kube_config_path": str(airflow_identity.kubeconfig),
        "namespace": slot.namespace,
        "ui_base_url": "https://kontinue.example.com",
    }
    api.put_connection("kontinue_default", "kontinue", extra)
    dag_id = f"{slot.prefix}_example"
    source = EXAMPLE.read_text().replace('dag_id="kontinue_approval"', f'dag_id="{dag_id}"')
    assert dag_id in source
    (slot.deployment.dags / f"{dag_id}.py").write_text(source)
    api.wait_for_dag(dag_id)

    run_id = api.trigger(dag_id)
    assert api.wait_for_run(dag_id, run_id) == "success", api.task_states(dag_id, run_id)
    assert api.xcom(dag_id, run_id, "announce") == "1.4.2 is deployed to staging"
    execution = api.xcom(dag_id, run_id, "deploy", key="execution_name")
    # The task page's "kontinue execution" link opens that execution in the kontinue UI.
    links = api.extra_links(dag_id, run_id, "deploy")
    assert links["kontinue execution"] == (
        f"https://kontinue.example.com/namespaces/{slot.namespace}/executions/{execution}"
    )
    assert wait_until(
        lambda: kontinue.get(execution).phase == "Completed",
        timeout=10,
        what="the execution to be Completed",
    )
