"""The shared watch's batched first reads against the real API server: waits starting together
read their executions with one paged list, decoding only the names they asked for, each page
answered before the next is read."""

from __future__ import annotations

import asyncio
import math
from typing import Any

import pytest

from airflow_provider_kontinue.client import AsyncKontinueClient, Execution
from airflow_provider_kontinue.client import watch as watch_module
from airflow_provider_kontinue.client.informer import LIST_THRESHOLD, Informer
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.cluster import Cluster

WANTED = [f"wanted-{i}" for i in range(LIST_THRESHOLD + 2)]
OTHERS = [f"other-{i}" for i in range(7)]
PAGE = 4


@pytest.fixture
def executions(cluster: Cluster) -> None:
    for name in WANTED + OTHERS:
        cluster.execution(name, status={"phase": "Executing"})


async def _pages(plane: ControlPlane, namespace: str, names: list[str]) -> list[set[str]]:
    """The names ``list_named`` hands on, page by page."""
    async with await AsyncKontinueClient.connect(plane.kubeconfig, namespace=namespace) as client:
        op = watch_module.list_named(Execution, namespace, names)
        return [set(page) async for page in client._iterate(op)]


async def _first_reads(plane: ControlPlane, namespace: str, names: list[str]) -> tuple[Any, dict[str, int]]:
    client = await AsyncKontinueClient.connect(plane.kubeconfig, namespace=namespace)

    async def make() -> AsyncKontinueClient:
        return client

    async with Informer.subscribe("reads", namespace, Execution, make, frozenset(names)) as sub:
        before = dict(client.requests_by_verb)
        found = await asyncio.gather(*(sub.read(name) for name in names))
        sent = {verb: n - before.get(verb, 0) for verb, n in client.requests_by_verb.items()}
    await Informer.shutdown()
    return found, {verb: n for verb, n in sent.items() if n}


@pytest.mark.usefixtures("executions")
def test_reads_arriving_together_are_one_paged_list_returning_only_the_names_asked_for(
    control_plane: ControlPlane, namespace: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(watch_module, "RELIST_PAGE", PAGE)
    found, sent = asyncio.run(_first_reads(control_plane, namespace, WANTED))
    assert [e.name for e in found] == WANTED
    assert {str(e.phase) for e in found} == {"Executing"}
    assert sent == {"list": math.ceil(len(WANTED + OTHERS) / PAGE)}  # no GET, no list of the archive
    pages = asyncio.run(_pages(control_plane, namespace, WANTED))
    assert len(pages) == math.ceil(len(WANTED + OTHERS) / PAGE)  # each page handed on as it is read
    assert set().union(*pages) == set(WANTED)  # the others never decoded


@pytest.mark.usefixtures("executions")
def test_a_name_the_list_did_not_find_is_read_on_its_own_and_reads_as_none(
    control_plane: ControlPlane, namespace: str
) -> None:
    found, sent = asyncio.run(_first_reads(control_plane, namespace, [*WANTED, "never-created"]))
    assert [e.name for e in found[:-1]] == WANTED
    assert found[-1] is None
    # one list page; then the live GET of the missing name and its archive's GET, both 404
    assert sent == {"list": 1, "get": 2}


async def _write_as_the_loop_ends(plane: ControlPlane, namespace: str) -> AsyncKontinueClient:
    """A subscriber that annotates its execution in its ``finally``, canceled together with the
    watch as ``asyncio.run`` cancels every task left when the loop's main coroutine returns (what a
    triggerer that stops does to its triggers)."""
    client = await AsyncKontinueClient.connect(plane.kubeconfig, namespace=namespace)
    inside = asyncio.Event()
    running: list[asyncio.Future[None]] = []

    async def make() -> AsyncKontinueClient:
        return client

    async def subscriber() -> None:
        async with Informer.subscribe("ending", namespace, Execution, make, frozenset({"wanted-0"})) as sub:
            try:
                inside.set()
                await sub.next(timeout=None)
            finally:
                await asyncio.sleep(0.2)  # as a trigger first stops its log followers
                last_words = {"example.com/last-words": "written"}
                await sub.client.annotate("wanted-0", last_words, namespace=namespace)

    running.append(asyncio.ensure_future(subscriber()))
    await inside.wait()
    return client  # the subscriber and the watch are still running: asyncio.run cancels both


@pytest.mark.usefixtures("executions")
def test_a_subscriber_canceled_with_the_watch_still_writes_through_the_client_which_closes_after_it(
    control_plane: ControlPlane, namespace: str, cluster: Cluster
) -> None:
    client = asyncio.run(_write_as_the_loop_ends(control_plane, namespace))
    written = cluster.get("executions", "wanted-0")
    assert written["metadata"]["annotations"]["example.com/last-words"] == "written"
    assert client._driver.http.is_closed, "the last to leave (here the subscriber) closes the client"
