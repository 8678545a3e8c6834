"""Faults at the trigger level: deferred waits in one triggerer loop while the cluster misbehaves.

Each test runs real ``KontinueExecutionTrigger`` waits (``trigger.run()`` tasks in one event loop,
as Airflow's triggerer runs them) against a real API server, injects one fault, and checks that
every wait ends with exactly one event carrying the execution's final phase and result.
"""

from __future__ import annotations

import importlib
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client.informer import Informer
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.cluster import Cluster, create_namespace
from tests.support.connections import use_connection
from tests.support.faults import CutProxy, kubeconfig_via, watch_requests
from tests.support.figures import record_figure
from tests.support.triggerer import Triggerer

FINAL_PHASES = ("Completed", "Failed", "Canceled")


def expected_end(index: int, name: str) -> tuple[str, Any]:
    """The end the test writes for execution ``index``: a mix of phases, each with its own result."""
    phase = FINAL_PHASES[index % len(FINAL_PHASES)]
    return phase, ({"name": name, "index": index} if phase == "Completed" else None)


def finish(cluster: Cluster, names: list[str], start: int = 0) -> list[dict[str, Any]]:
    """End each of ``names`` the way :func:`expected_end` says; the written objects, in order."""
    written = []
    for offset, name in enumerate(names):
        phase, result = expected_end(start + offset, name)
        extra: dict[str, Any] = {"result": result} if result is not None else {"message": f"{phase} {name}"}
        written.append(cluster.finish(name, phase, **extra))
    return written


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


def start_waits_through(
    proxy: CutProxy,
    plane: ControlPlane,
    api: k8s.ApiClient,
    stem: str,
    names: list[str],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> tuple[str, Cluster, Informer[Any]]:
    """``names`` Executing in a new namespace, each waited on by a trigger whose connection goes
    through ``proxy``; returns (namespace, cluster, shared watch) once every wait follows it."""
    namespace = create_namespace(api, stem)
    cluster = Cluster(api, namespace)
    for name in names:
        cluster.execution(name, status={"phase": "Executing"})
    conn_id = use_connection(monkeypatch, kubeconfig_via(proxy, plane.kubeconfig, tmp_path / "kc"), namespace)
    triggerer.start(triggers(conn_id, namespace, names))
    return namespace, cluster, triggerer.watching(namespace, len(names))


def resource_version(obj: dict[str, Any]) -> int:
    """An object's resourceVersion as a number: etcd's revision, which is what the sandbox's API
    server hands out (clients must treat it as opaque; a test of the server's answers may compare)."""
    return int(obj["metadata"]["resourceVersion"])


def test_100_trigger_waits_resume_their_watch_from_its_last_resource_version_after_a_cut(
    own_plane: ControlPlane,
    own_audit: Path,
    cut_proxy: Callable[[ControlPlane], CutProxy],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The API server keeps serving while the triggerer's connection is cut; 40 executions end in
    the gap. Only a watch reopened from the last resourceVersion it saw gets those endings as
    events (no relist is needed, the server still has that history), and each wait fires once."""
    names = [f"cut-{i:03d}" for i in range(100)]
    proxy = cut_proxy(own_plane)
    with own_plane.api_client() as api:
        namespace, cluster, hub = start_waits_through(
            proxy, own_plane, api, "cut", names, triggerer, monkeypatch, tmp_path
        )
        before = finish(cluster, names[:20])  # these end before the fault
        triggerer.wait_fired(names[:20], 60)
        opened = len(watch_requests(own_audit, namespace))
        fault = time.monotonic()
        with proxy.down():  # the API server serves the test's own connection meanwhile
            in_gap = finish(cluster, names[20:60], 20)
        triggerer.watching(namespace, 40)
        finish(cluster, names[60:], 60)
    triggerer.wait_fired(names, 120)
    triggerer.record("connection_cut", names, fault)
    assert_one_right_event_each(triggerer, names)
    reopened = watch_requests(own_audit, namespace)[opened:]
    assert reopened, "the shared watch was never reopened after the cut"
    resumed_from = int(reopened[0].resource_version or 0)
    assert resource_version(before[-1]) <= resumed_from < resource_version(in_gap[0]), (
        f"the reopened watch started from resourceVersion {reopened[0].resource_version!r}, not from "
        f"the last one it had seen (between {resource_version(before[-1])} and {resource_version(in_gap[0])})"
    )
    assert hub.relists == 0, "the watch relisted although the server still had its history"


def test_100_trigger_waits_ride_out_an_api_server_restart(
    own_plane: ControlPlane,
    cut_proxy: Callable[[ControlPlane], CutProxy],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The API server restarts while the triggerer cannot reach it, and 40 executions end before
    it can again: whether the watch resumes or relists after a 410 (the restarted server's cache
    may start past its resourceVersion), none of those endings is lost or repeated."""
    names = [f"restart-{i:03d}" for i in range(100)]
    proxy = cut_proxy(own_plane)
    with own_plane.api_client() as api:
        namespace, cluster, _ = start_waits_through(
            proxy, own_plane, api, "restart", names, triggerer, monkeypatch, tmp_path
        )
        finish(cluster, names[:20])  # these end before the fault
        triggerer.wait_fired(names[:20], 60)
    fault = time.monotonic()
    with proxy.down():
        own_plane.restart_apiserver()  # every connection drops; etcd keeps the data
        with own_plane.api_client() as api:
            cluster = Cluster(api, namespace)
            for name in names[20:60]:
                cluster.set_status("executions", name, {"phase": "Suspended"})
            finish(cluster, names[20:60], 20)
    triggerer.watching(namespace, 40)  # the waits for the last 40 follow a live watch again
    with own_plane.api_client() as api:
        finish(Cluster(api, namespace), names[60:], 60)
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
    uncached_plane: ControlPlane,
    cut_proxy: Callable[[ControlPlane], CutProxy],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """While the triggerer's connection is cut, 10 executions end and etcd compacts that history
    away: the reopened watch is answered 410 Gone, and only the re-read after the relist can see
    those 10 endings. The other 20 end afterwards, on the relisted watch."""
    names = [f"compact-{i:02d}" for i in range(30)]
    proxy = cut_proxy(uncached_plane)
    with uncached_plane.api_client() as api:
        namespace, cluster, hub = start_waits_through(
            proxy, uncached_plane, api, "compact", names, triggerer, monkeypatch, tmp_path
        )
        fault = time.monotonic()
        with proxy.down():
            finish(cluster, names[:10])
            uncached_plane.compact_etcd()  # the watch's revision is gone from etcd's history
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
