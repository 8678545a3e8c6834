"""The execution trigger against the real API server: one shared watch for many waits, the event on
a terminal phase, and waits that survive an API server restart (broken watches, 410 Gone)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any, TypeVar

import pytest

from airflow_provider_kontinue.client import AsyncKontinueClient, Execution, KontinueClient
from airflow_provider_kontinue.client.informer import Informer
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.airflow_runs import Airflow
from tests.support.connections import use_connection
from tests.support.faults import CutProxy, kubeconfig_via
from tests.support.polling import wait_until

T = TypeVar("T")


def test_many_triggers_share_one_watch_and_each_gets_its_own_event(
    airflow: Airflow, kontinue: KontinueClient
) -> None:
    executions = [kontinue.spawn("sleeper", {"duration": f"{10 + i % 3}s"}) for i in range(20)]

    async def scenario() -> tuple[list[Any], int, int]:
        triggers = [
            KontinueExecutionTrigger(name=e.name, namespace=airflow.namespace, stream_logs=False)
            for e in executions
        ]
        waiting = [asyncio.ensure_future(anext(t.run())) for t in triggers]
        events = await asyncio.wait_for(asyncio.gather(*waiting), 60)
        hubs = Informer.active()
        assert len(hubs) == 1, hubs  # one watch of Executions in the namespace, for all 20
        assert hubs[0].peak_subscribers == len(triggers)
        requests = hubs[0].client.requests_sent
        await Informer.shutdown()
        return events, requests, len(Informer.active())

    events, requests, left = asyncio.run(scenario())
    assert [e.payload["name"] for e in events] == [e.name for e in executions]
    assert {e.payload["phase"] for e in events} == {"Completed"}
    assert events[0].payload["result"] == "slept 10s"
    # one list to start the watch, the watch itself, and one batched read (a page of the list)
    # for all twenty: not one request per trigger
    assert requests <= 5, requests
    assert left == 0


async def _established(namespace: str) -> Informer[Any]:
    """Return this loop's shared watch of ``namespace`` once it is established."""
    while True:
        hub = _hub(namespace)
        if hub is not None and hub.ready.done():
            return hub
        await asyncio.sleep(0.05)


def _hub(namespace: str) -> Informer[Any] | None:
    """This loop's open shared watch of ``namespace`` (other tests' loops may have left theirs)."""
    found = [hub for hub in Informer.active() if hub.key.namespace == namespace]
    return found[0] if found else None


def test_a_wait_survives_an_api_server_restart_with_the_approval_given_while_it_was_down(
    airflow: Airflow,
    kontinue: KontinueClient,
    control_plane: ControlPlane,
    cut_proxy: Callable[[ControlPlane], CutProxy],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """The trigger reaches the API server through a proxy that stays cut across the restart, so
    the approval and the execution's end land while its watch is down, every run."""
    execution = kontinue.spawn("deploy", {"version": "9.9.9"})  # suspends until approved
    proxy = cut_proxy(control_plane)
    conn_id = use_connection(
        monkeypatch, kubeconfig_via(proxy, control_plane.kubeconfig, tmp_path / "kc"), airflow.namespace
    )
    # The trigger runs on an event loop in a thread: the API server must be restarted from the main
    # thread (its process dies with the thread that started it).
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()

    def on_loop(coroutine: Coroutine[Any, Any, T], timeout: float = 90) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, loop).result(timeout)

    async def start() -> asyncio.Future[Any]:
        trigger = KontinueExecutionTrigger(
            name=execution.name, namespace=airflow.namespace, kontinue_conn_id=conn_id, stream_logs=False
        )
        return asyncio.ensure_future(anext(trigger.run()))

    async def finish(waiting: asyncio.Future[Any]) -> tuple[Any, int]:
        event = await asyncio.wait_for(waiting, 90)
        hub = _hub(airflow.namespace)
        assert hub is not None
        watches = hub.client.requests_by_verb.get("watch", 0)
        await Informer.shutdown()
        return event, watches

    try:
        waiting = on_loop(start())
        wait_until(lambda: kontinue.get(execution.name).phase == "Suspended", 60)
        on_loop(asyncio.wait_for(_established(airflow.namespace), 30))  # the trigger is watching
        with proxy.down():
            control_plane.restart_apiserver()  # every watch breaks
            with KontinueClient.connect(control_plane.kubeconfig, namespace=airflow.namespace) as fresh:
                wait_until(lambda: fresh.resume_execution(execution.name), 30, "the approval")
                wait_until(lambda: fresh.get(execution.name).phase == "Completed", 60, "the end")
            assert not waiting.done(), "the trigger fired while it could not reach the API server"
        event, watches = on_loop(finish(waiting))
    finally:
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
    # The broken watch was opened again: resumed from its resourceVersion, or relisted after a 410
    # if the restarted server's cache starts past it (which depends on other writes in between).
    assert watches >= 2, watches
    assert event.payload["status"] == "done", event.payload
    assert event.payload["phase"] == "Completed"
    assert event.payload["result"]["version"] == "9.9.9"


def test_waiters_arriving_together_build_one_client_and_one_watch(
    airflow: Airflow, control_plane: ControlPlane
) -> None:
    made: list[AsyncKontinueClient] = []

    async def make_client() -> AsyncKontinueClient:
        await asyncio.sleep(0.2)  # slow, like reading a connection and a kubeconfig
        client = await AsyncKontinueClient.connect(control_plane.kubeconfig, namespace=airflow.namespace)
        made.append(client)
        return client

    async def one(i: int) -> int:
        names = frozenset({f"x-{i}"})
        async with Informer.subscribe(
            "kontinue_default", airflow.namespace, Execution, make_client, names
        ) as sub:
            return id(sub.informer)

    async def scenario() -> set[int]:
        hubs = set(await asyncio.gather(*(one(i) for i in range(50))))
        await Informer.shutdown()
        return hubs

    assert len(asyncio.run(scenario())) == 1
    assert len(made) == 1
