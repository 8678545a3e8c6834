"""Forbidden paths of the sensors: a sensor whose connection may not read (poke and the deferrable
first check) or may not watch (deferred) fails with an error naming the verb, the resource and the
namespace, instead of poking or waiting until its timeout; and it writes nothing."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, NamedTuple

import pytest
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred
from kubernetes import client as k8s

from airflow_provider_kontinue.client.informer import Informer
from airflow_provider_kontinue.sensors import (
    KontinueExecutionSensor,
    KontinueScheduledExecutionSensor,
    KontinueSuspensionSensor,
)
from airflow_provider_kontinue.sensors.base import KontinueSensorBase
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_CLIENT_RULES, add_user, grant
from tests.reliability.test_security import assert_names_the_refusal
from tests.support.clients import EventLoopThread
from tests.support.cluster import Cluster, create_namespace
from tests.support.connections import use_connection
from tests.support.triggerer import TaskInstanceStub


class Case(NamedTuple):
    """A sensor set up so that it is not satisfied yet, the verb and resource of its first read,
    and the resource its trigger watches first."""

    make: Callable[..., KontinueSensorBase]
    verb: str
    resource: str
    watched: str


SENSORS: dict[str, Case] = {
    "execution": Case(
        lambda **kw: KontinueExecutionSensor(
            task_id="sense", execution_name="running", phases=["Completed"], **kw
        ),
        "get",
        "executions",
        "executions",
    ),
    "suspension by name": Case(
        lambda **kw: KontinueSuspensionSensor(task_id="sense", suspension_name="gate", until="resumed", **kw),
        "get",
        "suspensions",
        "suspensions",
    ),
    "suspension of an execution": Case(
        lambda **kw: KontinueSuspensionSensor(task_id="sense", execution_name="quiet", **kw),
        "list",  # the execution's tree: it and its suspensions in one read each
        "executions",
        "suspensions",
    ),
    "schedule": Case(
        lambda **kw: KontinueScheduledExecutionSensor(
            task_id="sense", schedule_name="nightly", since=0.0, **kw
        ),
        "get",
        "scheduledexecutions",
        "executions",  # its runs
    ),
}

READ_EVERYTHING = [
    {**rule, "verbs": ["get", "list"]} for rule in KONTINUE_CLIENT_RULES if "get" in rule["verbs"]
]
"""What the provider may read (docs/airflow.md, RBAC), but no watch."""


@pytest.fixture
def watched(admin_api: k8s.ApiClient) -> Cluster:
    """A namespace where no sensor is satisfied yet: an execution runs, a suspension waits, an
    execution has not suspended, a schedule has not fired."""
    cluster = Cluster(admin_api, create_namespace(admin_api, "sensors"))
    cluster.function("work")
    cluster.execution("running", status={"phase": "Executing"})
    cluster.execution("quiet", status={"phase": "Executing"})
    cluster.suspension("gate", parent="running", root="running")
    cluster.create(
        "scheduledexecutions",
        {
            "kind": "ScheduledExecution",
            "metadata": {"name": "nightly"},
            "spec": {"schedule": "0 2 * * *", "function": "work"},
        },
    )
    return cluster


def snapshot(cluster: Cluster) -> dict[str, list[tuple[str, str]]]:
    """Every object's name and resourceVersion: equal before and after means nothing was written."""
    return {
        plural: [(o["metadata"]["name"], o["metadata"]["resourceVersion"]) for o in cluster.list(plural)]
        for plural in ("executions", "suspensions", "scheduledexecutions")
    }


def context() -> Any:
    return {"ti": TaskInstanceStub()}


@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
@pytest.mark.parametrize("sensor", list(SENSORS))
def test_a_sensor_impersonating_a_user_without_rights_fails_naming_the_refusal(
    control_plane: ControlPlane,
    watched: Cluster,
    monkeypatch: pytest.MonkeyPatch,
    sensor: str,
    deferrable: bool,
) -> None:
    before = snapshot(watched)
    conn_id = use_connection(
        monkeypatch,
        control_plane.kubeconfig,
        watched.namespace,
        impersonate=f"intruder-{watched.namespace}",
    )
    case = SENSORS[sensor]
    task = case.make(kontinue_conn_id=conn_id, deferrable=deferrable, poke_interval=0.1, timeout=30)
    check = task.execute if deferrable else task.poke  # poke: what BaseSensorOperator.execute repeats
    with pytest.raises(AirflowFailException) as refused:
        check(context())
    assert_names_the_refusal(str(refused.value), case.verb, case.resource, watched.namespace)
    assert snapshot(watched) == before


@pytest.mark.parametrize("sensor", list(SENSORS))
def test_a_deferred_sensor_of_a_user_who_may_not_watch_fails_naming_the_refusal(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    watched: Cluster,
    monkeypatch: pytest.MonkeyPatch,
    sensor: str,
) -> None:
    """It may read, so it defers; its trigger's watch is refused: the trigger's one event is an
    error, and the resumed sensor fails with it (no wait until the sensor's timeout)."""
    before = snapshot(watched)
    user = add_user(control_plane, f"reader-{watched.namespace}")
    grant(admin_api, user.name, READ_EVERYTHING, namespace=watched.namespace)
    conn_id = use_connection(monkeypatch, user.kubeconfig, watched.namespace)
    case = SENSORS[sensor]
    task = case.make(kontinue_conn_id=conn_id, deferrable=True, timeout=600)
    with pytest.raises(TaskDeferred) as deferred:
        task.execute(context())

    async def first_event() -> tuple[dict[str, Any], int]:
        events = deferred.value.trigger.run()
        event = await asyncio.wait_for(anext(events), 60)
        rest = [e async for e in events]  # the trigger ends after its event
        return event.payload, len(rest)

    loop = EventLoopThread()
    try:
        event, more = loop.run(first_event(), timeout=90)
    finally:
        loop.run(Informer.shutdown())
        loop.close()
    assert event["status"] == "error", event
    assert more == 0
    assert_names_the_refusal(event["message"], "watch", case.watched, watched.namespace)
    with pytest.raises(AirflowFailException) as refused:
        task.execute_complete(context(), event)
    assert_names_the_refusal(str(refused.value), "watch", case.watched, watched.namespace)
    assert snapshot(watched) == before
