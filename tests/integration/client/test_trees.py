"""get_tree and watch_tree: linking, attempts, archives, constant request cost, live updates."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_kontinue.client import ExecutionTree, NodeKind, NotFoundError
from tests.support.clients import EventLoopThread
from tests.support.cluster import Cluster


def build_deploy_tree(cluster: Cluster) -> None:
    """§11.1: a root on its second attempt; attempt 1 had a failed Job, attempt 2 has three children."""
    cluster.execution(
        "deploy-x",
        status={
            "phase": "Suspended",
            "attempt": 2,
            "attempts": [
                {
                    "attempt": 1,
                    "phase": "Failed",
                    "message": "helm timeout",
                    "startedAt": "2025-03-01T10:00:00Z",
                    "finishedAt": "2025-03-01T10:04:55Z",
                }
            ],
        },
    )
    cluster.job("deploy-x-old", "deploy-x", "deploy-x", attempt=1)
    cluster.job("deploy-x-new", "deploy-x", "deploy-x", attempt=2)
    cluster.child("deploy-x-smoke", "deploy-x", "deploy-x", attempt=2, status={"phase": "Completed"})
    cluster.child("deploy-x-smoke-leaf", "deploy-x-smoke", "deploy-x", status={"phase": "Completed"})
    cluster.suspension("deploy-x-approve", "deploy-x", "deploy-x", attempt=2)


def shape(tree: ExecutionTree) -> list[tuple[int, str, str]]:
    return [(depth, str(node.kind), node.name) for node, depth in tree.walk()]


def test_get_tree_links_children_and_groups_previous_attempts(kontinue: Any, cluster: Cluster) -> None:
    build_deploy_tree(cluster)
    tree = kontinue.get_tree("deploy-x")
    assert not tree.is_archived()
    assert sorted(shape(tree)) == sorted(
        [
            (0, "Execution", "deploy-x"),
            (1, "Attempt", "deploy-x#1"),
            (2, "Job", "deploy-x-old"),
            (1, "Job", "deploy-x-new"),
            (1, "Execution", "deploy-x-smoke"),
            (2, "Execution", "deploy-x-smoke-leaf"),
            (1, "Suspension", "deploy-x-approve"),
        ]
    )
    root = tree.root()
    assert root.children[0].kind == NodeKind.ATTEMPT
    assert root.children[0].attempt_number == 1
    assert root.children[0].message == "helm timeout"
    assert root.execution() is not None
    assert tree.find("deploy-x-approve").suspension() is not None
    assert tree.find("deploy-x-new").job()["metadata"]["name"] == "deploy-x-new"


def test_get_tree_of_a_descendant_is_its_subtree(kontinue: Any, cluster: Cluster) -> None:
    build_deploy_tree(cluster)
    tree = kontinue.get_tree("deploy-x-smoke")
    assert shape(tree) == [(0, "Execution", "deploy-x-smoke"), (1, "Execution", "deploy-x-smoke-leaf")]


def test_get_tree_costs_the_same_requests_for_any_size(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("small")
    before = kontinue.requests_sent
    kontinue.get_tree("small")
    small_cost = kontinue.requests_sent - before
    cluster.execution("big")
    for i in range(40):
        cluster.child(f"big-{i}", "big", "big")
        cluster.suspension(f"big-s{i}", f"big-{i}", "big")
    before = kontinue.requests_sent
    tree = kontinue.get_tree("big")
    assert len(list(tree.walk())) == 81
    assert kontinue.requests_sent - before == small_cost == 4  # the execution, then one list per kind


def test_get_tree_falls_back_to_the_archive(kontinue: Any, cluster: Cluster) -> None:
    root = cluster.execution("arch-root", status={"phase": "Completed"})
    kid = cluster.child("arch-kid", "arch-root", "arch-root", status={"phase": "Completed"})
    cluster.archive(root, [kid])
    tree = kontinue.get_tree("arch-root")
    assert tree.is_archived()
    assert shape(tree) == [(0, "Execution", "arch-root"), (1, "Execution", "arch-kid")]
    with pytest.raises(NotFoundError, match="archived inside another root"):
        kontinue.get_tree("arch-kid")


@pytest.fixture
def sync_client(control_plane: Any, namespace: str) -> Any:
    from airflow_provider_kontinue.client import KontinueClient

    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as client:
        yield client


def test_sync_watch_tree_emits_the_tree_after_each_change(sync_client: Any, cluster: Cluster) -> None:
    cluster.execution("watched", status={"phase": "Executing"})
    with sync_client.watch_tree("watched") as watcher:
        updates = watcher.updates(timeout=10)
        assert [n.name for n, _ in next(updates).walk()] == ["watched"]
        cluster.child("watched-kid", "watched", "watched")
        assert {n.name for n, _ in next(updates).walk()} == {"watched", "watched-kid"}
        cluster.finish("watched")
        assert next(updates).root().phase == "Completed"
    assert list(watcher.updates(timeout=1)) == []


def test_async_watch_tree_follows_changes_until_archived(
    control_plane: Any, cluster: Cluster, event_loop_thread: EventLoopThread
) -> None:
    from airflow_provider_kontinue.client import AsyncKontinueClient

    cluster.execution("awatched", status={"phase": "Executing"})

    async def scenario() -> list[tuple[bool, list[str]]]:
        seen: list[tuple[bool, list[str]]] = []
        client = await AsyncKontinueClient.connect(control_plane.kubeconfig, namespace=cluster.namespace)
        async with client, client.watch_tree("awatched") as watcher:
            async for tree in watcher.updates(timeout=10):
                seen.append((tree.is_archived(), sorted(n.name for n, _ in tree.walk())))
                if len(seen) == 1:
                    await asyncio.to_thread(cluster.child, "awatched-kid", "awatched", "awatched")
                elif len(seen) == 2:
                    kid = await asyncio.to_thread(cluster.get, "executions", "awatched-kid")
                    done = await asyncio.to_thread(cluster.finish, "awatched")
                    await asyncio.to_thread(cluster.archive, done, [kid])
        return seen

    seen = event_loop_thread.run(scenario())
    assert seen[0] == (False, ["awatched"])
    assert seen[1] == (False, ["awatched", "awatched-kid"])
    assert seen[-1] == (True, ["awatched", "awatched-kid"])


def test_watch_tree_reports_410_gone_relists_and_goes_on(
    sync_client: Any, cluster: Cluster, monkeypatch: pytest.MonkeyPatch
) -> None:
    from airflow_provider_kontinue.client import trees

    cluster.execution("expire-me", status={"phase": "Executing"})
    real_load = trees.load_tree
    loads: list[str] = []

    def first_load_is_stale(namespace: str, name: str) -> Any:
        objects = yield from real_load(namespace, name)
        if not loads:  # resume the watches from a version the server no longer has: 410 Gone
            objects.resource_versions = dict.fromkeys(objects.resource_versions, "1")
        loads.append(name)
        return objects

    monkeypatch.setattr(trees, "load_tree", first_load_is_stale)
    with sync_client.watch_tree("expire-me") as watcher:
        assert "410" in str(next(watcher.errors(timeout=10)))
        updates = watcher.updates(timeout=10)
        next(updates)
        cluster.finish("expire-me")
        phases = []
        for tree in updates:
            phases.append(tree.root().phase)
            if phases[-1] == "Completed":
                break
    assert phases[-1] == "Completed"
    assert len(loads) >= 2
