"""The example approval DAG under a real scheduler, workers and triggerers; and the approval flow
whose spawn defers while a parallel sensor, naming the execution with ``spawned_by``, waits for
the approval request."""

from __future__ import annotations

from pathlib import Path

from airflow_provider_kontinue.client import KontinueClient
from airflow_provider_kontinue.operators.naming import execution_name
from kontinue_sandbox.users import SandboxUser
from tests.deployment.conftest import Slot
from tests.support.airflow_api import AirflowApi, wait_until

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


def _assigned(api: AirflowApi, dag_id: str, run_id: str, task_id: str) -> bool:
    ti = api.task_instance(dag_id, run_id, task_id)
    return ti["state"] == "deferred" and bool((ti.get("trigger") or {}).get("triggerer_id"))


def test_a_parallel_sensor_answers_the_approval_while_the_spawn_is_deferred(
    slot: Slot, kontinue: KontinueClient, tmp_path: Path
) -> None:
    """A deferred spawn and, not downstream of it, a deferrable suspension sensor naming the spawn's
    execution with ``spawned_by`` (tests/deployment/dags/approval_parallel.py)."""
    api = slot.deployment.api
    gate = tmp_path / "gate"
    dag_id = slot.write_dag("approval_parallel", gate=str(gate))
    run_id = api.trigger(dag_id)

    # The sensor starts first and defers, on a triggerer, while the execution does not exist yet.
    wait_until(
        lambda: _assigned(api, dag_id, run_id, "approval_requested"),
        timeout=120,
        what="approval_requested to be deferred on a triggerer",
    )
    assert kontinue.list() == [], "the spawn is held back: no execution may exist yet"
    assert api.task_states(dag_id, run_id)["deploy"] in (None, "none", "scheduled")
    expected = execution_name(dag_id, "deploy", run_id)
    assert f"execution {expected} does not exist yet in namespace {slot.namespace}" in api.task_log(
        dag_id, run_id, "approval_requested", 1
    )

    gate.touch()  # the spawn may start now
    assert api.wait_for_run(dag_id, run_id) == "success", api.task_states(dag_id, run_id)

    # The spawn deferred, and its execution could only end once `approve` (downstream of the
    # sensor) had resumed the approval: the sensor answered while the spawn was deferred.
    assert f"kontinue: deferring until execution {expected} ends" in api.task_log(dag_id, run_id, "deploy", 1)
    requested = api.xcom(dag_id, run_id, "approval_requested")
    assert requested["execution"] == expected
    assert requested["phase"] == "Suspended"
    assert requested["message"] == "waiting for approval to deploy 1.4.2 to staging"
    assert api.xcom(dag_id, run_id, "approve") == [requested["suspension"]]
    tis = {ti["task_id"]: ti for ti in api.task_instances(dag_id, run_id)}
    assert tis["approval_requested"]["end_date"] < tis["approve"]["end_date"] < tis["deploy"]["end_date"]

    # The spawn succeeded with the execution's result; exactly one execution exists.
    assert api.xcom(dag_id, run_id, "deploy", key="execution_name") == expected
    assert api.xcom(dag_id, run_id, "deploy") == {
        "environment": "staging",
        "version": "1.4.2",
        "replicas": 3,
        "status": "deployed",
    }
    assert api.xcom(dag_id, run_id, "announce") == "1.4.2 is deployed to staging"
    executions = kontinue.list()
    assert [e.name for e in executions] == [expected]
    assert executions[0].phase == "Completed"
    assert kontinue.get_suspension(requested["suspension"]).phase == "Completed"
