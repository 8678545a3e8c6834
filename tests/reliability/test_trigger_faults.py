"""Faults at the trigger level: deferred waits in one triggerer loop while the cluster misbehaves.

Each test runs real ``KontinueExecutionTrigger`` waits (``trigger.run()`` tasks in one event loop,
as Airflow's triggerer runs them) against a real API server, injects one fault, and checks that
every wait ends with exactly one event carrying the execution's final phase and result.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.cluster import Cluster, create_namespace
from tests.support.connections import use_connection
from tests.support.figures import record_figure
from tests.support.triggerer import Triggerer

FINAL_PHASES = ("Completed", "Failed", "Canceled")


def expected_end(index: int, name: str) -> tuple[str, Any]:
    """The end the test writes for execution ``index``: a mix of phases, each with its own result."""
    phase = FINAL_PHASES[index % len(FINAL_PHASES)]
    return phase, ({"name": name, "index": index} if phase == "Completed" else None)


def finish(cluster: Cluster, names: list[str], start: int = 0) -> None:
    for offset, name in enumerate(names):
        phase, result = expected_end(start + offset, name)
        extra: dict[str, Any] = {"result": result} if result is not None else {"message": f"{phase} {name}"}
        cluster.finish(name, phase, **extra)


def assert_one_right_event_each(triggerer: Triggerer, names: list[str]) -> None:
    """Every wait yielded exactly one event, ``done``, with the phase and result written for it."""
    duplicates = {name: len(events) for name, events in triggerer.events.items() if len(events) > 1}
    assert not duplicates, f"waits that fired more than once: {duplicates}"
    missing = [name for name in names if not triggerer.events.get(name)]
    assert not missing, f"waits that never fired: {missing}"
    for index, name in enumerate(names):
        event = triggerer.events[name][0]
        phase, result = expected_end(index, name)
        assert event["status"] == "done", event
        assert (event["name"], event["phase"], event["result"]) == (name, phase, result), event


def rebuild(classpath: str, kwargs: dict[str, Any]) -> KontinueExecutionTrigger:
    """A trigger made again from what ``serialize()`` gave, as Airflow's triggerer does."""
    module, _, name = classpath.rpartition(".")
    trigger: KontinueExecutionTrigger = getattr(importlib.import_module(module), name)(**kwargs)
    return trigger


def triggers(conn_id: str, namespace: str, names: list[str]) -> list[KontinueExecutionTrigger]:
    return [
        KontinueExecutionTrigger(name=name, namespace=namespace, kontinue_conn_id=conn_id, stream_logs=False)
        for name in names
    ]


def test_100_trigger_waits_ride_out_an_api_server_restart(
    own_plane: ControlPlane, triggerer: Triggerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"restart-{i:03d}" for i in range(100)]
    with own_plane.api_client() as api:
        namespace = create_namespace(api, "restart")
        cluster = Cluster(api, namespace)
        for name in names:
            cluster.execution(name, status={"phase": "Executing"})
        conn_id = use_connection(monkeypatch, own_plane.kubeconfig, namespace)
        triggerer.start(triggers(conn_id, namespace, names))
        triggerer.watching(namespace, len(names))
        finish(cluster, names[:20])  # these end before the fault
        triggerer.wait_fired(names[:20], 60)
    fault = time.monotonic()
    own_plane.restart_apiserver()  # every connection drops; etcd keeps the data
    with own_plane.api_client() as api:
        cluster = Cluster(api, namespace)
        # Written at once, most likely before the shared watch has reconnected: they must not be lost.
        for name in names[20:60]:
            cluster.set_status("executions", name, {"phase": "Suspended"})
        finish(cluster, names[20:60], 20)
        triggerer.watching(namespace, 40)  # the waits for the last 40 follow a live watch again
        finish(cluster, names[60:], 60)
    triggerer.wait_fired(names, 120)
    triggerer.record("apiserver_restart", names, fault)
    assert_one_right_event_each(triggerer, names)


@pytest.fixture
def uncached_plane() -> Iterator[ControlPlane]:
    """A control plane without the API server's watch cache: watches read etcd's history, so
    resuming from a compacted revision is answered with 410 Gone."""
    with ControlPlane(extra_apiserver_args=("--watch-cache=false",)) as plane:
        yield plane


def test_trigger_waits_relist_after_etcd_compaction_and_all_end_right(
    uncached_plane: ControlPlane, triggerer: Triggerer, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = [f"compact-{i:02d}" for i in range(30)]
    with uncached_plane.api_client() as api:
        namespace = create_namespace(api, "compact")
        cluster = Cluster(api, namespace)
        for name in names:
            cluster.execution(name, status={"phase": "Executing"})
        conn_id = use_connection(monkeypatch, uncached_plane.kubeconfig, namespace)
        triggerer.start(triggers(conn_id, namespace, names))
        hub = triggerer.watching(namespace, len(names))
        # Move history on past the watch's revision, then compact it away.
        other = create_namespace(api, "churn")
        for i in range(5):
            Cluster(api, other).execution(f"churn-{i}")
    fault = time.monotonic()
    uncached_plane.compact_etcd()
    uncached_plane.restart_apiserver()  # the shared watch resumes from a revision etcd no longer has
    with uncached_plane.api_client() as api:
        cluster = Cluster(api, namespace)
        finish(cluster, names[:10])
        relisted = triggerer.watching(namespace, len(names) - 10, 60)
        finish(cluster, names[10:], 10)
    triggerer.wait_fired(names, 120)
    triggerer.record("compaction_410", names, fault)
    record_figure("compaction_410_relists", hub.relists)
    assert_one_right_event_each(triggerer, names)
    assert relisted is hub, "the shared watch was replaced instead of relisting"
    assert hub.relists >= 1, "the watch never saw 410 Gone"


def test_triggers_rebuilt_from_their_kwargs_fire_for_executions_that_ended_unwatched(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    namespace = create_namespace(admin_api, "rebuilt")
    cluster = Cluster(admin_api, namespace)
    names = [f"rebuilt-{i:02d}" for i in range(40)]
    for name in names:
        cluster.execution(name, status={"phase": "Executing"})
    conn_id = use_connection(monkeypatch, control_plane.kubeconfig, namespace)
    first = Triggerer()
    try:
        original = triggers(conn_id, namespace, names)
        first.start(original)
        first.watching(namespace, len(names))
        serialized = [trigger.serialize() for trigger in original]
    finally:
        first.cancel()  # the triggerer dies: its waits and its watch go away
        first.close()
    assert not any(first.events.values()), "a wait fired before anything ended"
    # While nothing watches: some go through a suspension first, one is archived and deleted.
    for name in names[::4]:
        cluster.set_status("executions", name, {"phase": "Suspended"})
    finish(cluster, names)
    cluster.archive(cluster.get("executions", names[-1]))
    second = Triggerer()
    try:
        rebuilt = [rebuild(path, kwargs) for path, kwargs in serialized]
        started = time.monotonic()
        second.start(rebuilt)
        second.wait_fired(names, 60)
        elapsed = time.monotonic() - started
        second.record("triggerer_rebuilt", names, started)
        assert_one_right_event_each(second, names)
        assert second.events[names[-1]][0]["phase"] == expected_end(len(names) - 1, names[-1])[0]
        assert elapsed < 10, f"rebuilt triggers took {elapsed:.1f}s to fire for executions that had ended"
    finally:
        second.cancel()
        second.close()
