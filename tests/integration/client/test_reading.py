"""get, list and get_child_executions: live objects, archived ones, and every filter."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_kontinue.client import ExecutionPhase, ListOptions, NotFoundError
from tests.support.cluster import Cluster


def test_get_returns_the_live_execution(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("live-1", status={"phase": "Executing"})
    execution = kontinue.get("live-1")
    assert execution.name == "live-1"
    assert execution.phase == ExecutionPhase.EXECUTING
    assert not execution.is_archived
    assert kontinue.get_execution("live-1").name == "live-1"


def test_get_falls_back_to_the_archived_execution(kontinue: Any, cluster: Cluster) -> None:
    root = cluster.execution("old-root", status={"phase": "Completed", "result": {"ok": True}})
    cluster.archive(root)
    execution = kontinue.get("old-root")
    assert execution.is_archived
    assert execution.phase == ExecutionPhase.COMPLETED
    assert execution.result == {"ok": True}


def test_get_of_an_execution_that_never_existed_is_not_found(kontinue: Any) -> None:
    with pytest.raises(NotFoundError, match="neither live nor archived"):
        kontinue.get("ghost")


def test_get_in_another_namespace_uses_the_namespace_keyword(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("elsewhere")
    other = kontinue.with_namespace("default")
    with pytest.raises(NotFoundError):
        other.get("elsewhere")
    assert other.get("elsewhere", namespace=cluster.namespace).name == "elsewhere"


def test_list_filters_on_the_server_and_phases_on_the_client(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("a-1", "alpha", status={"phase": "Executing"})
    time.sleep(1.05)  # creationTimestamp has second precision: make the order observable
    cluster.execution("a-2", "alpha", status={"phase": "Completed"})
    cluster.execution("b-1", "beta", status={"phase": "Executing"})
    cluster.child("a-2-child", "a-2", "a-2", function="alpha")
    assert [e.name for e in kontinue.list({"function": "alpha", "only_root": True})] == ["a-2", "a-1"]
    executing = kontinue.list(ListOptions(phases=[ExecutionPhase.EXECUTING]))
    assert sorted(e.name for e in executing) == ["a-1", "b-1"]
    assert [e.name for e in kontinue.list({"root": "a-2"})] == ["a-2-child"]
    assert {e.name for e in kontinue.list()} == {"a-1", "a-2", "b-1", "a-2-child"}


def test_list_includes_archived_roots_and_label_selectors_apply(kontinue: Any, cluster: Cluster) -> None:
    old = cluster.execution("archived-1", "alpha", labels={"team": "data"}, status={"phase": "Failed"})
    cluster.archive(old)
    cluster.execution("live-2", "alpha", labels={"team": "web"})
    names = {e.name: e.is_archived for e in kontinue.list({"function": "alpha"})}
    assert names == {"archived-1": True, "live-2": False}
    assert [e.name for e in kontinue.list({"label_selector": {"team": "data"}})] == ["archived-1"]
    assert [e.name for e in kontinue.list({"phases": ["Failed"]})] == ["archived-1"]


def test_list_by_root_includes_descendants_from_the_archive(kontinue: Any, cluster: Cluster) -> None:
    root = cluster.execution("tree-root", status={"phase": "Completed"})
    child = cluster.child("tree-child", "tree-root", "tree-root", status={"phase": "Completed"})
    cluster.archive(root, [child])
    listed = kontinue.list({"root": "tree-root"})
    assert [(e.name, e.is_archived) for e in listed] == [("tree-child", True)]


def test_children_are_direct_children_oldest_first(kontinue: Any, cluster: Cluster) -> None:
    parent = cluster.execution("parent")
    cluster.child("parent-c1", "parent", "parent")
    time.sleep(1.05)
    cluster.child("parent-c2", "parent", "parent", attempt=2)
    cluster.child("parent-c1-g", "parent-c1", "parent")
    children = kontinue.get_child_executions("parent")
    assert [c.name for c in children] == ["parent-c1", "parent-c2"]
    assert [c.name for c in kontinue.get_child_executions(kontinue.get("parent"))] == [
        "parent-c1",
        "parent-c2",
    ]
    assert parent["metadata"]["name"] == "parent"


def test_children_of_an_archived_parent_come_from_the_archive(kontinue: Any, cluster: Cluster) -> None:
    root = cluster.execution("gone", status={"phase": "Completed"})
    kid = cluster.child("gone-kid", "gone", "gone", status={"phase": "Completed"})
    cluster.archive(root, [kid])
    assert [(c.name, c.is_archived) for c in kontinue.get_child_executions("gone")] == [("gone-kid", True)]
