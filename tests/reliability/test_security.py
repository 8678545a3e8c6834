"""Security: forbidden paths fail clearly with nothing written, secrets stay out of what a task
leaves behind, and hostile input is refused before anything is sent to the API server."""

from __future__ import annotations

import json
import logging
import uuid
from collections.abc import Callable
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from kubernetes import client as k8s

from airflow_provider_kontinue.client import KontinueClient, ValidationError
from airflow_provider_kontinue.operators.control import (
    KontinueCancelOperator,
    KontinueResumeOperator,
    KontinueRetryOperator,
    KontinueSkipOperator,
)
from airflow_provider_kontinue.operators.spawn import KontinueSpawnOperator
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import (
    KONTINUE_CLIENT_RULES,
    KONTINUE_VIEWER_RULES,
    add_user,
    grant,
)
from tests.support.cluster import Cluster, create_namespace
from tests.support.connections import use_connection
from tests.support.triggerer import TaskInstanceStub, Triggerer

ETCD_OBJECT_LIMIT = 1_572_864  # etcd's default --max-request-bytes (1.5 MiB)


def run_spawn(
    conn_id: str, ti: TaskInstanceStub | None = None, **kwargs: Any
) -> tuple[Any, TaskInstanceStub]:
    """Run the spawn operator's ``execute`` as a worker would; returns its outcome (or raises)."""
    ti = ti or TaskInstanceStub()
    operator = KontinueSpawnOperator(task_id=ti.task_id, kontinue_conn_id=conn_id, **kwargs)
    return operator.execute({"ti": ti}), ti  # type: ignore[typeddict-item]


@pytest.fixture
def guarded(admin_api: k8s.ApiClient) -> tuple[str, Cluster]:
    """A namespace with the Function ``work``; the test checks afterwards that nothing was created."""
    namespace = create_namespace(admin_api, "security")
    cluster = Cluster(admin_api, namespace)
    cluster.function("work", arguments=[{"name": "blob", "type": "string"}])
    return namespace, cluster


def assert_names_the_refusal(message: str, verb: str, resource: str, namespace: str) -> None:
    assert "forbidden" in message.lower(), message
    assert f"verb={verb}" in message, message
    assert f'resource "{resource}"' in message, message
    assert f'namespace "{namespace}"' in message, message


# -- forbidden paths ------------------------------------------------------------------------------


def test_a_trigger_impersonating_a_user_without_rights_ends_in_an_error_naming_the_refusal(
    control_plane: ControlPlane,
    guarded: tuple[str, Cluster],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace, cluster = guarded
    cluster.execution("secret-work", status={"phase": "Executing"})
    conn_id = use_connection(
        monkeypatch, control_plane.kubeconfig, namespace, impersonate=f"intruder-{namespace}"
    )
    triggerer.start(
        [KontinueExecutionTrigger(name="secret-work", namespace=namespace, kontinue_conn_id=conn_id)]
    )
    triggerer.wait_fired(["secret-work"], 60)
    (event,) = triggerer.events["secret-work"]
    assert event["status"] == "error", event
    assert_names_the_refusal(event["message"], "list", "executions", namespace)
    assert cluster.get("executions", "secret-work")["status"]["phase"] == "Executing"  # untouched


def test_a_trigger_of_a_user_who_may_not_watch_ends_in_an_error_naming_the_refusal(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    guarded: tuple[str, Cluster],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace, cluster = guarded
    cluster.execution("watched", status={"phase": "Executing"})
    user = add_user(control_plane, f"getter-{namespace}")
    grant(
        admin_api,
        user.name,
        [{"apiGroups": ["kontinue.cloud"], "resources": ["executions"], "verbs": ["get", "list"]}],
        namespace=namespace,
    )
    conn_id = use_connection(monkeypatch, user.kubeconfig, namespace)
    triggerer.start([KontinueExecutionTrigger(name="watched", namespace=namespace, kontinue_conn_id=conn_id)])
    triggerer.wait_fired(["watched"], 60)
    (event,) = triggerer.events["watched"]
    assert event["status"] == "error", event
    assert_names_the_refusal(event["message"], "watch", "executions", namespace)


def test_the_spawn_operator_of_a_read_only_user_fails_naming_the_refusal_and_writes_nothing(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    guarded: tuple[str, Cluster],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    namespace, cluster = guarded
    user = add_user(control_plane, f"viewer-{namespace}")
    grant(admin_api, user.name, KONTINUE_VIEWER_RULES, namespace=namespace)
    conn_id = use_connection(monkeypatch, user.kubeconfig, namespace)
    with pytest.raises(AirflowFailException) as refused:
        run_spawn(conn_id, function="work", arguments={"blob": "x"})
    assert_names_the_refusal(str(refused.value), "create", "executions", namespace)
    assert cluster.list("executions") == []


def test_the_spawn_operator_never_adopts_an_execution_of_its_name_that_it_did_not_spawn(
    control_plane: ControlPlane,
    guarded: tuple[str, Cluster],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """An execution named like the task's, but without this task instance's owner annotation
    (another DAG, a person with kubectl): reattaching would hand its result to this task."""
    namespace, cluster = guarded
    cluster.execution("nightly-load", "work", status={"phase": "Completed", "result": "someone else's"})
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, namespace)
    with pytest.raises(
        AirflowFailException, match="is taken by an execution this task instance did not spawn"
    ):
        run_spawn(conn_id, function="work", arguments={"blob": "x"}, name="nightly-load")
    assert [e["metadata"]["name"] for e in cluster.list("executions")] == ["nightly-load"]
    assert cluster.get("executions", "nightly-load")["status"]["result"] == "someone else's"


def test_the_spawn_operator_impersonating_a_user_without_rights_fails_and_writes_nothing(
    control_plane: ControlPlane, guarded: tuple[str, Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace, cluster = guarded
    conn_id = use_connection(
        monkeypatch, control_plane.kubeconfig, namespace, impersonate=f"intruder-{namespace}"
    )
    with pytest.raises(AirflowFailException) as refused:
        run_spawn(conn_id, function="work", arguments={"blob": "x"}, deferrable=True)
    assert_names_the_refusal(str(refused.value), "get", "functions", namespace)
    assert cluster.list("executions") == []


# -- secrets --------------------------------------------------------------------------------------


def test_no_secret_reaches_trigger_kwargs_xcom_logs_or_errors(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    guarded: tuple[str, Cluster],
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A connection carrying the kubeconfig inline (with a bearer token) and a password: the
    deferred spawn's trigger kwargs, its XComs, its log and a forbidden error show none of it."""
    namespace, cluster = guarded
    user = add_user(control_plane, f"robot-{namespace}", auth="token", namespace=namespace)
    assert user.token
    grant(
        admin_api,
        user.name,
        KONTINUE_CLIENT_RULES,
        namespace=namespace,
    )
    kubeconfig_text = user.kubeconfig.read_text()
    password = f"pw-{uuid.uuid4().hex}"
    secrets = [user.token, password, kubeconfig_text, user.token[:24], user.token[-24:]]
    conn_id = f"kontinue_inline_{uuid.uuid4().hex[:8]}"
    extra = {"kube_config_secret": kubeconfig_text, "namespace": namespace}
    monkeypatch.setenv(
        f"AIRFLOW_CONN_{conn_id.upper()}",
        json.dumps({"conn_type": "kontinue", "password": password, "extra": extra}),
    )
    caplog.set_level(logging.DEBUG)

    ti = TaskInstanceStub()
    with pytest.raises(TaskDeferred) as deferred:
        run_spawn(conn_id, ti, function="work", arguments={"blob": "x"}, deferrable=True)
    classpath, kwargs = deferred.value.trigger.serialize()
    assert classpath.endswith("KontinueExecutionTrigger")
    (created,) = cluster.list("executions")
    assert kwargs["name"] == created["metadata"]["name"] == ti.xcom["execution_name"]
    with pytest.raises(AirflowFailException) as refused:  # not granted: spawning a missing Function reads it
        run_spawn(conn_id, function="work", arguments={"blob": "x"}, namespace="default")

    shown = {
        "trigger kwargs": json.dumps(kwargs),
        "XCom": json.dumps(ti.xcom),
        "error": str(refused.value),
        "log": "\n".join(record.getMessage() for record in caplog.records),
    }
    for where, text in shown.items():
        leaked = [secret[:12] + "..." for secret in secrets if secret in text]
        assert not leaked, f"secrets in the {where}: {leaked}"
    assert "forbidden" in str(refused.value).lower()
    assert set(kwargs) <= {
        "name",
        "namespace",
        "kontinue_conn_id",
        "phases",
        "deadline",
        "min_generation",
        "stream_logs",
        "cancel_on_kill",
        "poll_interval",
    }


# -- hostile input --------------------------------------------------------------------------------


def nested(depth: int) -> dict[str, Any]:
    value: dict[str, Any] = {}
    for _ in range(depth):
        value = {"a": value}
    return value


def deep_json_text(depth: int) -> str:
    """``{"a": {"a": ... {} ...}}`` as text, as a template might render it."""
    return '{"a": ' * depth + "{}" + "}" * depth


HOSTILE_SPAWNS: dict[str, tuple[dict[str, Any], dict[str, Any], str]] = {
    "over the etcd object limit": ({"blob": "x" * (ETCD_OBJECT_LIMIT + 1)}, {}, "over the"),
    "nested 1,000 deep": (nested(1000), {}, "depth"),
    "nested 100,000 deep": (nested(100_000), {}, "depth"),
    "invalid name": ({}, {"name": "Bad_Name!"}, "not a valid name"),
    "name too long": ({}, {"name": "x" * 64}, "at most 63"),
    "label injection": ({}, {"labels": {"team": "a,kontinue.cloud/root!=x"}}, "not a valid label value"),
    "label key injection": ({}, {"labels": {"team in (a,b)": "a"}}, "not a valid label key"),
    "invalid namespace": ({}, {"namespace": "../kube-system"}, "not a valid namespace"),
}


@pytest.mark.parametrize("case", list(HOSTILE_SPAWNS))
def test_hostile_spawn_input_is_refused_before_any_write(
    control_plane: ControlPlane, guarded: tuple[str, Cluster], case: str
) -> None:
    namespace, cluster = guarded
    arguments, options, explanation = HOSTILE_SPAWNS[case]
    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as client:
        with pytest.raises(ValidationError, match=explanation):
            client.spawn("work", arguments, options)
        assert client.requests_by_verb.get("create", 0) == 0
    assert cluster.list("executions") == []


HOSTILE_SELECTORS: dict[str, dict[str, Any]] = {
    "value widening the query": {"label_selector": {"app": "x,kontinue.cloud/root!=y"}},
    "key with an operator": {"label_selector": {"app!": "x"}},
    "set-based key": {"label_selector": {"env in (a,b)": "a"}},
    "function with a comma": {"function": "work,kontinue.cloud/root"},
    "root with a negation": {"root": "!x"},
}


@pytest.mark.parametrize("case", list(HOSTILE_SELECTORS))
def test_label_selector_injection_in_list_options_is_refused_before_any_request(
    control_plane: ControlPlane, guarded: tuple[str, Cluster], case: str
) -> None:
    namespace, cluster = guarded
    cluster.execution("bystander", labels={"app": "x"})
    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as client:
        before = client.requests_sent
        with pytest.raises(ValidationError, match="not a valid label"):
            client.list(HOSTILE_SELECTORS[case])
        assert client.requests_sent == before


@pytest.mark.parametrize(
    "arguments",
    ['{"version": "1.2"', "version=1.2", '["a list", "not an object"]', "{{ not rendered }}"],
)
def test_the_spawn_operator_refuses_arguments_that_are_not_a_json_object_before_any_write(
    control_plane: ControlPlane,
    guarded: tuple[str, Cluster],
    monkeypatch: pytest.MonkeyPatch,
    arguments: str,
) -> None:
    namespace, cluster = guarded
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, namespace)
    with pytest.raises(AirflowFailException, match="argument"):
        run_spawn(conn_id, function="work", arguments=arguments)
    assert cluster.list("executions") == []


def test_the_spawn_operator_refuses_arguments_over_the_etcd_limit_before_any_write(
    control_plane: ControlPlane, guarded: tuple[str, Cluster], monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace, cluster = guarded
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, namespace)
    with pytest.raises(AirflowFailException, match="limit"):
        run_spawn(conn_id, function="work", arguments={"blob": "x" * (ETCD_OBJECT_LIMIT + 1)})
    assert cluster.list("executions") == []


@pytest.mark.parametrize(
    "arguments",
    [nested(300), deep_json_text(300), deep_json_text(100_000)],
    ids=["dict", "rendered text", "rendered text 100000 deep"],
)
def test_the_spawn_operator_refuses_deeply_nested_arguments_before_any_write(
    control_plane: ControlPlane,
    guarded: tuple[str, Cluster],
    monkeypatch: pytest.MonkeyPatch,
    arguments: Any,
) -> None:
    """The operator refuses nesting past 100 levels itself, however deep the rendered text (a dict
    nested ~1,000 deep already overflows Airflow's own operator constructor, before our code)."""
    namespace, cluster = guarded
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, namespace)
    with pytest.raises(AirflowFailException, match="nested deeper than"):
        run_spawn(conn_id, function="work", arguments=arguments)
    assert cluster.list("executions") == []


CONTROL_OPERATORS: dict[str, tuple[Callable[[str], Any], str, str]] = {
    "cancel": (
        lambda conn: KontinueCancelOperator(
            task_id="cancel", execution_name="running", kontinue_conn_id=conn
        ),
        "patch",
        "executions/status",
    ),
    "skip": (
        lambda conn: KontinueSkipOperator(task_id="skip", execution_name="running", kontinue_conn_id=conn),
        "patch",
        "executions/status",
    ),
    "retry": (
        lambda conn: KontinueRetryOperator(task_id="retry", execution_name="failed", kontinue_conn_id=conn),
        "patch",
        "executions",
    ),
    "resume": (
        lambda conn: KontinueResumeOperator(task_id="resume", suspension_name="gate", kontinue_conn_id=conn),
        "patch",
        "suspensions/status",
    ),
}


@pytest.mark.parametrize("action", list(CONTROL_OPERATORS))
def test_control_operators_of_a_read_only_user_fail_naming_the_refusal_and_change_nothing(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    guarded: tuple[str, Cluster],
    monkeypatch: pytest.MonkeyPatch,
    action: str,
) -> None:
    namespace, cluster = guarded
    cluster.execution("running", status={"phase": "Suspended"})
    cluster.execution("failed", status={"phase": "Failed", "message": "boom"})
    cluster.suspension("gate", parent="running", root="running")
    before = {
        plural: [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in cluster.list(plural)]
        for plural in ("executions", "suspensions")
    }
    user = add_user(control_plane, f"viewer-{namespace}")
    grant(admin_api, user.name, KONTINUE_VIEWER_RULES, namespace=namespace)
    conn_id = use_connection(monkeypatch, user.kubeconfig, namespace)
    make, verb, resource = CONTROL_OPERATORS[action]
    with pytest.raises(AirflowFailException) as refused:
        make(conn_id).execute({"ti": TaskInstanceStub()})
    assert_names_the_refusal(str(refused.value), verb, resource, namespace)
    after = {
        plural: [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in cluster.list(plural)]
        for plural in ("executions", "suspensions")
    }
    assert after == before  # nothing partial was written
