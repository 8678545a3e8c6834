"""``watch``: every change of a kind in a namespace, on both clients, against the real API server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    Execution,
    Function,
    KontinueClient,
    ObjectChange,
    Suspension,
    ValidationError,
)
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.cluster import Cluster


def _summary(change: ObjectChange[Any]) -> tuple[str, str, str]:
    assert change.object is not None
    return change.type, change.object.name, str(change.object.status.phase if change.object.status else "")


def test_the_sync_watch_sees_changes_after_it_opened_and_honours_the_selector(
    control_plane: ControlPlane, cluster: Cluster, namespace: str
) -> None:
    cluster.execution("before")  # exists before the watch: not reported
    with (
        KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as kontinue,
        kontinue.watch(Execution, label_selector="team=data") as changes,
    ):
        cluster.execution("other")
        cluster.execution("mine", labels={"team": "data"})
        cluster.set_status("executions", "mine", {"phase": "Executing"})
        cluster.delete("executions", "mine")
        seen = []
        for change in changes:
            seen.append(_summary(change))
            if change.type == "DELETED":
                break
    assert seen == [
        ("ADDED", "mine", ""),
        ("MODIFIED", "mine", "Executing"),
        ("DELETED", "mine", "Executing"),
    ]


def test_the_async_watch_gives_typed_suspensions(
    control_plane: ControlPlane, cluster: Cluster, namespace: str
) -> None:
    async def scenario() -> list[tuple[str, str, str]]:
        async with await AsyncKontinueClient.connect(
            control_plane.kubeconfig, namespace=namespace
        ) as kontinue:
            stream = await kontinue.watch(Suspension)
            await asyncio.to_thread(cluster.suspension, "gate", "run", "run")
            seen = []
            async with stream:
                async for change in stream:
                    assert isinstance(change.object, Suspension)
                    seen.append(_summary(change))
                    if change.object.status and change.object.status.phase == "Suspended":
                        break
            return seen

    assert asyncio.run(scenario()) == [("ADDED", "gate", ""), ("MODIFIED", "gate", "Suspended")]


def test_only_watchable_kinds_are_accepted(control_plane: ControlPlane, namespace: str) -> None:
    with (
        KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as kontinue,
        pytest.raises(ValidationError, match="cannot watch 'Function'"),
    ):
        kontinue.watch(Function)
