"""``list()`` and ``iter_executions()`` read the namespace in pages against the real API server,
and a list whose continue token expires (etcd compacted under it, as the API server does every 5
minutes) starts again and yields every execution once."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from airflow_provider_kontinue.client import pages
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.clients import EventLoopThread
from tests.support.cluster import Cluster

LIVE = [f"run-{index:02d}" for index in range(23)]
ARCHIVED = "archived-root"
PAGE = 5


@pytest.fixture
def executions(cluster: Cluster, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(pages, "LIST_PAGE", PAGE)
    cluster.archive(cluster.execution(ARCHIVED, status={"phase": "Completed"}))
    for name in LIVE:
        cluster.execution(name, status={"phase": "Executing"})


def iterate(
    kontinue: Any, loop: EventLoopThread, after_first: Callable[[], None] = lambda: None
) -> list[str]:
    """The names ``iter_executions()`` yields, calling ``after_first`` once the first one came."""
    names: list[str] = []
    if getattr(kontinue, "is_async", False):

        async def collect() -> list[str]:
            async for execution in kontinue._client.iter_executions():
                names.append(execution.name)
                if len(names) == 1:
                    after_first()
            return names

        return loop.run(collect())
    for execution in kontinue.iter_executions():
        names.append(execution.name)
        if len(names) == 1:
            after_first()
    return names


@pytest.mark.usefixtures("executions")
def test_list_and_the_iterator_read_page_by_page_and_find_the_same_executions(
    kontinue: Any, event_loop_thread: EventLoopThread
) -> None:
    before = kontinue.requests_by_verb.get("list", 0)
    listed = kontinue.list()
    assert sorted(e.name for e in listed) == sorted([*LIVE, ARCHIVED])
    # one request a page of live executions, and the one page of archives
    assert kontinue.requests_by_verb["list"] - before == math.ceil(len(LIVE) / PAGE) + 1
    # the iterator: live ones in the API server's (name) order, then the archived ones
    assert iterate(kontinue, event_loop_thread) == [*LIVE, ARCHIVED]


@pytest.mark.usefixtures("executions")
def test_an_iteration_whose_continue_token_expires_starts_again_and_yields_each_execution_once(
    kontinue: Any, event_loop_thread: EventLoopThread, control_plane: ControlPlane, cluster: Cluster
) -> None:
    def expire_the_snapshot() -> None:
        cluster.execution("created-meanwhile", status={"phase": "Executing"})  # a revision past the list's
        control_plane.compact_etcd()
        # The API server answers a continue token from its watch cache while the cache still has
        # that snapshot; one that restarted has none, asks etcd, and etcd has compacted it away.
        control_plane.restart_apiserver()

    before = kontinue.requests_by_verb.get("list", 0)
    names = iterate(kontinue, event_loop_thread, after_first=expire_the_snapshot)
    assert names == [*LIVE, ARCHIVED]  # "created-meanwhile" sorts before the point reached
    pages_read = math.ceil(len(LIVE) / PAGE) + 1
    assert kontinue.requests_by_verb["list"] - before > pages_read, "no page was refused as expired"
