"""wait_for_execution and parse_result: one watch, resumed across 410, drops and archiving."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pydantic import BaseModel

from airflow_provider_kontinue.client import (
    Execution,
    ExecutionCanceledError,
    ExecutionFailedError,
    ExecutionPhase,
    InvalidStateError,
    KontinueTimeoutError,
    NotFoundError,
    ResultDecodeError,
)
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.clients import EventLoopThread, close_client, make_client
from tests.support.cluster import Cluster


def later(seconds: float, action: Callable[[], Any]) -> threading.Timer:
    timer = threading.Timer(seconds, action)
    timer.start()
    return timer


class Deploy(BaseModel):
    cluster_id: str
    endpoint: str


def test_wait_returns_when_the_execution_completes(kontinue: Any, cluster: Cluster) -> None:
    created = cluster.execution("slow", status={"phase": "Executing"})
    later(0.5, lambda: cluster.finish("slow", result={"cluster_id": "c-1", "endpoint": "https://c1"}))
    started = time.monotonic()
    done = kontinue.wait_for_execution("slow")
    assert time.monotonic() - started >= 0.4
    assert done.phase == ExecutionPhase.COMPLETED
    assert kontinue.parse_result(done, Deploy) == Deploy(cluster_id="c-1", endpoint="https://c1")
    assert created["metadata"]["name"] == done.name


def test_wait_returns_failed_and_parse_result_raises_its_message(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("bad", status={"phase": "Executing"})
    later(0.3, lambda: cluster.finish("bad", "Failed", message="helm upgrade failed"))
    done = kontinue.wait_for_execution("bad")
    assert done.phase == ExecutionPhase.FAILED
    with pytest.raises(ExecutionFailedError, match="helm upgrade failed"):
        kontinue.parse_result(done)


def test_parse_result_refuses_canceled_unfinished_and_mistyped_results(
    kontinue: Any, cluster: Cluster
) -> None:
    cluster.execution("c", status={"phase": "Canceled", "message": "stop"})
    cluster.execution("r", status={"phase": "Executing"})
    cluster.execution("m", status={"phase": "Completed", "result": {"cluster_id": 1}})
    with pytest.raises(ExecutionCanceledError, match="stop"):
        kontinue.parse_result(kontinue.get("c"))
    with pytest.raises(InvalidStateError, match="has not finished"):
        kontinue.parse_result(kontinue.get("r"))
    with pytest.raises(ResultDecodeError, match="is not a Deploy"):
        kontinue.parse_result(kontinue.get("m"), Deploy)


def test_wait_on_a_finished_execution_returns_at_once(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("done", status={"phase": "Skipped"})
    before = kontinue.requests_sent
    assert kontinue.wait_for_execution("done").phase == ExecutionPhase.SKIPPED
    assert kontinue.requests_sent - before == 1


def test_spawn_then_wait_costs_one_create_one_read_and_one_watch(kontinue: Any, cluster: Cluster) -> None:
    cluster.function("quick")
    kontinue.spawn("quick")  # the Function is now cached, as for any burst of spawns
    before = dict(kontinue.requests_by_verb)
    execution = kontinue.spawn("quick")
    later(0.3, lambda: cluster.finish(execution.name))
    assert kontinue.wait_for_execution(execution).phase == ExecutionPhase.COMPLETED
    sent = {verb: n - before.get(verb, 0) for verb, n in kontinue.requests_by_verb.items()}
    assert {verb: n for verb, n in sent.items() if n} == {"create": 1, "get": 1, "watch": 1}


def test_a_wait_given_an_old_object_returns_the_live_outcome_not_the_attempt_before_a_retry(
    kontinue: Any, cluster: Cluster
) -> None:
    cluster.execution("flaky", status={"phase": "Executing", "attempt": 1, "observedGeneration": 1})
    kept = kontinue.get("flaky")  # what a caller kept from before the first attempt failed
    cluster.finish("flaky", "Failed", message="first attempt failed")
    kontinue.retry_execution("flaky")  # generation 2
    cluster.set_status("executions", "flaky", {"phase": "Pending", "attempt": 2, "observedGeneration": 2})
    cluster.finish("flaky", result="second attempt")
    done = kontinue.wait_for_execution(kept)  # watching from kept's version would replay the Failed
    assert (done.phase, done.attempt, done.result) == (ExecutionPhase.COMPLETED, 2, "second attempt")


def test_a_wait_on_what_retry_execution_returned_waits_for_the_new_attempt(
    kontinue: Any, cluster: Cluster
) -> None:
    cluster.execution("again", status={"phase": "Executing", "attempt": 1, "observedGeneration": 1})
    cluster.finish("again", "Failed", message="first attempt failed")
    retried = kontinue.retry_execution("again")
    assert retried.phase == ExecutionPhase.FAILED  # the controller has not observed generation 2 yet

    def controller_runs_the_retry() -> None:
        cluster.set_status("executions", "again", {"phase": "Pending", "attempt": 2, "observedGeneration": 2})
        time.sleep(0.2)
        cluster.finish("again", result="second attempt")

    later(0.5, controller_runs_the_retry)
    done = kontinue.wait_for_execution(retried)
    assert (done.phase, done.attempt, done.result) == (ExecutionPhase.COMPLETED, 2, "second attempt")


def test_wait_follows_the_execution_into_its_archive(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("archiving", status={"phase": "Executing"})

    def finish_and_archive() -> None:
        done = cluster.finish("archiving", result=42)
        time.sleep(0.05)
        cluster.archive(done)

    # Watch from before the finish, so the DELETED event (not the MODIFIED one) may be what ends it.
    known = Execution.model_validate(cluster.get("executions", "archiving"))
    later(0.3, finish_and_archive)
    done = kontinue.wait_for_execution(known)
    assert done.phase == ExecutionPhase.COMPLETED
    assert kontinue.parse_result(done) == 42


def test_wait_for_a_deleted_execution_raises_not_found(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("vanishing", status={"phase": "Executing"})
    later(0.3, lambda: cluster.delete("executions", "vanishing"))
    with pytest.raises(NotFoundError):
        kontinue.wait_for_execution("vanishing")


def test_wait_gives_up_at_the_clients_timeout(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("forever", status={"phase": "Executing"})
    started = time.monotonic()
    with pytest.raises(KontinueTimeoutError):
        kontinue.with_timeout(1.0).wait_for_execution("forever")
    assert time.monotonic() - started < 5


@pytest.fixture
def own_plane() -> Iterator[ControlPlane]:
    """A control plane of its own: this test restarts its API server."""
    with ControlPlane() as plane:
        yield plane


def test_wait_survives_an_api_server_restart(
    mode: str, own_plane: ControlPlane, event_loop_thread: EventLoopThread
) -> None:
    with own_plane.api_client() as api:
        from kubernetes import client as k8s

        k8s.CoreV1Api(api).create_namespace({"metadata": {"name": "restart"}})
        cluster = Cluster(api, "restart")
        cluster.execution("survivor", status={"phase": "Executing"})
        kontinue = make_client(mode, own_plane, "restart", event_loop_thread)
        outcome: list[Any] = []
        waiter = threading.Thread(
            target=lambda: outcome.append(kontinue.wait_for_execution("survivor")), daemon=True
        )
        waiter.start()
        time.sleep(0.5)
        own_plane.restart_apiserver()  # the watch connection drops; etcd keeps the data
        with own_plane.api_client() as fresh:
            Cluster(fresh, "restart").finish("survivor", result="made it")
        waiter.join(60)
        assert not waiter.is_alive(), "the wait hung after the API server restarted"
        close_client(kontinue, event_loop_thread)
    assert outcome
    assert outcome[0].phase == ExecutionPhase.COMPLETED
    assert outcome[0].result == "made it"


def test_twenty_waits_relist_after_etcd_compaction_and_all_complete(
    mode: str, event_loop_thread: EventLoopThread
) -> None:
    """Without the watch cache, a watch resuming from a compacted revision gets 410 Gone."""
    from kubernetes import client as k8s

    names = [f"w-{i}" for i in range(20)]
    with ControlPlane(extra_apiserver_args=("--watch-cache=false",)) as plane, plane.api_client() as api:
        k8s.CoreV1Api(api).create_namespace({"metadata": {"name": "compacted"}})
        cluster = Cluster(api, "compacted")
        for name in names:
            cluster.execution(name, status={"phase": "Executing"})
        for i in range(2):  # later writes, so every execution's version is below the compacted one
            k8s.CoreV1Api(api).create_namespaced_config_map("compacted", {"metadata": {"name": f"pad-{i}"}})
        kontinue = make_client(
            mode, plane, "compacted", event_loop_thread, options={"qps": 500, "burst": 500}
        )
        outcomes: dict[str, Any] = {}
        waiters = [
            threading.Thread(
                target=lambda n=name: outcomes.setdefault(n, kontinue.wait_for_execution(n)), daemon=True
            )
            for name in names
        ]
        for waiter in waiters:
            waiter.start()
        time.sleep(1.0)  # every wait is watching now
        gets_before = kontinue.requests_by_verb.get("get", 0)
        plane.compact_etcd()
        plane.restart_apiserver()  # the watches drop and resume from revisions etcd no longer has
        with plane.api_client() as fresh:
            for name in names:
                Cluster(fresh, "compacted").finish(name, result=name)
        for waiter in waiters:
            waiter.join(60)
        assert not any(w.is_alive() for w in waiters), "a wait hung after the relist"
        relisted = kontinue.requests_by_verb.get("get", 0) - gets_before
        close_client(kontinue, event_loop_thread)
    assert sorted(outcomes) == sorted(names)
    assert all(outcome.result == name for name, outcome in outcomes.items())
    assert relisted >= len(names)  # a reconnect is a watch; only a 410 makes a wait read again
