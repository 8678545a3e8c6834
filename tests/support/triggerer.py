"""A triggerer in miniature, and the parts of a task instance the operators read.

The triggers run as ``trigger.run()`` tasks in one event loop on its own thread (what Airflow's
triggerer does), so faults can be injected from the test's thread while they wait.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import time
import uuid
from collections.abc import Iterable
from typing import Any

import pytest

from airflow_provider_kontinue.client.informer import Informer
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from tests.support.clients import EventLoopThread
from tests.support.figures import record_figure
from tests.support.polling import wait_until


class TaskInstanceStub:
    """The parts of a running task instance the spawn operator reads, and the XComs it pushes."""

    def __init__(self) -> None:
        self.dag_id, self.task_id, self.map_index, self.try_number = "security", "spawn", -1, 1
        self.run_id = f"manual__{uuid.uuid4().hex[:8]}"
        self.xcom: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.xcom[key] = value


class Triggerer:
    """A triggerer in miniature: one event loop on its own thread running ``trigger.run()`` tasks.

    ``events[name]`` collects every event each trigger yields (exactly one is expected);
    ``fired_at[name]`` is when the first came (``time.monotonic()``).
    """

    def __init__(self) -> None:
        self.thread = EventLoopThread()
        self.events: dict[str, list[dict[str, Any]]] = {}
        self.fired_at: dict[str, float] = {}
        self.tasks: dict[str, concurrent.futures.Future[None]] = {}

    def start(self, triggers: Iterable[KontinueExecutionTrigger]) -> None:
        for trigger in triggers:
            self.events[trigger.name] = []
            self.tasks[trigger.name] = asyncio.run_coroutine_threadsafe(self._run(trigger), self.thread.loop)

    async def _run(self, trigger: KontinueExecutionTrigger) -> None:
        async for event in trigger.run():
            self.events[trigger.name].append(event.payload)
            self.fired_at.setdefault(trigger.name, time.monotonic())

    def hubs(self, namespace: str) -> list[Informer[Any]]:
        """The open shared watches of ``namespace`` in this loop (read on the loop's thread)."""

        async def find() -> list[Informer[Any]]:
            return [h for h in Informer.active() if h.key.namespace == namespace]

        return self.thread.run(find())

    def watching(self, namespace: str, count: int, timeout: float = 60.0) -> Informer[Any]:
        """Return the shared watch once it is established, ``count`` waits follow it and their
        first reads are answered: from then on, only a change (or a fault) can end a wait."""

        async def state() -> Informer[Any] | None:
            for hub in Informer.active():
                if hub.key.namespace != namespace or not hub.ready.done():
                    continue
                reading = hub._pending_reads or (hub._read_task is not None and not hub._read_task.done())
                if hub.subscribers == count and not reading:
                    return hub
            return None

        return wait_until(
            lambda: self.thread.run(state()), timeout, f"{count} trigger waits watching {namespace}"
        )

    def wait_fired(self, names: Iterable[str], timeout: float = 120.0) -> None:
        """Block until the triggers of ``names`` have ended (their ``run()`` returned)."""
        futures = [self.tasks[name] for name in names]
        done, pending = concurrent.futures.wait(futures, timeout)
        if pending:
            silent = sorted(name for name, future in self.tasks.items() if future in pending)
            pytest.fail(f"{len(pending)} trigger waits did not end within {timeout:.0f}s: {silent[:10]}")
        for future in done:
            future.result()  # a trigger that raised fails the test with its error

    def record(self, scenario: str, names: list[str], since: float) -> None:
        """Record how many of ``names`` fired, the extra events, and the seconds from ``since`` to
        the last event."""
        record_figure(f"{scenario}_waits_completed", sum(1 for name in names if self.events.get(name)))
        record_figure(f"{scenario}_duplicates", sum(max(0, len(self.events.get(n, [])) - 1) for n in names))
        record_figure(f"{scenario}_last_event_s", max(self.fired_at[n] for n in names) - since)

    def cancel(self) -> None:
        """Cancel every trigger task (the triggerer goes away) and wait until they are gone."""
        for future in self.tasks.values():
            future.cancel()
        concurrent.futures.wait(list(self.tasks.values()), 30)

    def close(self) -> None:
        """Close this loop's shared watches (their connections) and stop the loop."""
        self.thread.run(Informer.shutdown())
        self.thread.close()
