"""Worker log lines into the Airflow task log while a task waits (best effort).

A kontinue execution's work runs as one batch/v1 Job per attempt (``status.children`` lists it
with ``kind: Job, step: worker``). While a trigger (or the sync path of an operator) waits, a
:class:`LogForwarder` follows the current attempt's Job log through the client's
``get_job_logs(follow=True)`` and writes each line to the given logger, prefixed with the attempt,
so the lines show in the task log in the Airflow UI. Lines are read with timestamps, so a stream
that breaks is resumed without repeating what was already written.

Logs never decide the outcome: a failure to read them is written once as a warning and the wait
goes on. Following a running worker costs one connection per waiting task; turn it off
(``stream_logs=False``) for large fan-outs.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from airflow_provider_kontinue.client import AsyncKontinueClient, Execution, KontinueError

RETRIES = 20
RETRY_DELAY = 0.5
DRAIN_SECONDS = 5.0
"""After the execution ended, how long the last lines may take to arrive before we stop reading."""


def worker_job(execution: Execution) -> tuple[str, int] | None:
    """The Job of the execution's current attempt, and the attempt, from ``status.children``."""
    jobs = [c for c in execution.children if c.kind == "Job" and (c.step in (None, "worker")) and c.name]
    if not jobs:
        return None
    current = max(jobs, key=lambda c: c.attempt or 0)
    assert current.name is not None
    return current.name, current.attempt or execution.attempt or 1


def split_timestamp(line: str) -> tuple[str, str]:
    """``"<RFC 3339 time> text"`` (what ``timestamps=true`` gives) as ``(time, text)``."""
    stamp, _, text = line.partition(" ")
    return stamp, text


class LogForwarder:
    """Follows the worker Jobs of one execution, attempt after attempt, into ``logger``."""

    def __init__(self, client: AsyncKontinueClient, namespace: str, logger: logging.Logger | Any) -> None:
        self.client = client
        self.namespace = namespace
        self.logger = logger
        self.lines = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}

    def update(self, execution: Execution) -> None:
        """Start following the Job of a new attempt, if the execution shows one."""
        found = worker_job(execution)
        if found is None or found[0] in self._tasks:
            return
        job, attempt = found
        self._tasks[job] = asyncio.ensure_future(self._follow(job, attempt))

    async def _follow(self, job: str, attempt: int) -> None:
        last_stamp = ""
        failures = 0
        while True:
            try:
                stream = await self.client.get_job_logs(
                    job, {"follow": True, "timestamps": True}, namespace=self.namespace
                )
                async with stream:
                    async for raw in stream:
                        stamp, text = split_timestamp(raw)
                        if stamp and stamp <= last_stamp:
                            continue  # already written before a reconnect
                        last_stamp = stamp or last_stamp
                        self.lines += 1
                        self.logger.info("[kontinue worker, attempt %d] %s", attempt, text)
                return  # the stream ends when the worker's pod has ended
            except asyncio.CancelledError:
                raise
            except KontinueError as err:
                failures += 1
                if failures > RETRIES:
                    self.logger.warning("kontinue: cannot read the worker log of job %s: %s", job, err)
                    return
                await asyncio.sleep(RETRY_DELAY)

    async def finish(self, drain: float = DRAIN_SECONDS) -> None:
        """Let the followers write the last lines (at most ``drain`` seconds), then stop them."""
        tasks = list(self._tasks.values())
        if not tasks:
            return
        _, pending = await asyncio.wait(tasks, timeout=drain)
        for task in pending:
            task.cancel()
        for task in pending:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
