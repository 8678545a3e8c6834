"""Bad input fails the task at once (no retry), with a message naming the problem, and spawns nothing."""

from __future__ import annotations

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client import KontinueClient, ListOptions
from airflow_provider_kontinue.hooks.connection import connection_json
from airflow_provider_kontinue.operators.naming import LABEL_DAG_ID
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_CLIENT_RULES, add_user, grant
from tests.support.airflow_runs import Airflow


@pytest.fixture
def limited_airflow(airflow: Airflow, control_plane: ControlPlane, admin_api: k8s.ApiClient) -> Airflow:
    """The session's Airflow plus a connection for a user who may use kontinue in the e2e
    namespace only, and a namespace that user may not touch."""
    forbidden = f"{airflow.namespace}-forbidden"
    k8s.CoreV1Api(admin_api).create_namespace({"metadata": {"name": forbidden}})
    user = add_user(control_plane, f"limited-{airflow.namespace}", ("airflow",))
    grant(admin_api, user.name, KONTINUE_CLIENT_RULES, namespace=airflow.namespace)
    env = {
        **airflow.env,
        "AIRFLOW_CONN_KONTINUE_LIMITED": connection_json(str(user.kubeconfig), airflow.namespace),
        "E2E_FORBIDDEN_NAMESPACE": forbidden,
    }
    return Airflow(airflow.home, env, airflow.namespace)


def test_each_kind_of_bad_input_fails_at_once_with_its_reason(
    limited_airflow: Airflow, kontinue: KontinueClient
) -> None:
    run = limited_airflow.run("e2e_bad_input", deferrable=False)
    states = run.task_states()
    assert set(states.values()) == {"failed"}, states
    assert {t["task_id"]: t["try_number"] for t in run.summary["tasks"]} == dict.fromkeys(
        states, 1
    )  # no retry
    log = run.log
    for expected in (
        "arguments: the rendered value is not valid JSON (Expecting property name enclosed in double quotes "
        "at line 1, column 2): \"{'name': 2}\"",
        "arguments: must be a JSON object (name -> value), got list: [1, 2, 3]",
        "does-not-exist",
        "the kontinue connection 'kontinue_nope' is not defined",
        "AIRFLOW_CONN_KONTINUE_NOPE",
        "forbidden",
        "retry.retries",
        "no-such-suspension",
    ):
        assert expected in log, expected
    assert "AirflowFailException" in log
    assert kontinue.list(ListOptions(label_selector={LABEL_DAG_ID: "e2e_bad_input"})) == []  # nothing spawned
