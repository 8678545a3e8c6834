"""Worker log lines into the Airflow task log while a task waits (best effort).

A kontinue execution's work runs as one batch/v1 Job per attempt (``status.children`` lists it
with ``kind: Job, step: worker``). While a trigger (or the sync path of an operator) waits, a
:class:`LogForwarder` follows the current attempt's Job log through the client's
``get_job_logs(follow=True)`` and writes each line to the given logger, prefixed with the attempt,
so the lines show in the task log in the Airflow UI. Lines are read with timestamps, so a stream
that breaks is resumed without repeating what was already written.

A trigger also keeps a :class:`LogCursor` on the execution (annotation
``airflow.apache.org/log-cursor``): how far its task instance's try has forwarded each Job's log.
It is written every :data:`CURSOR_SECONDS` while lines arrive and once more when the trigger
stops, so a trigger that starts again after a triggerer restart, or on the other triggerer,
goes on after the last line the task log holds instead of from the first. A try that starts
afresh (a retry, a clear) has a log of its own and forwards from the first line.

A worker line longer than the client's ``MAX_LOG_LINE`` (64 KiB) is written as several task-log
lines, each but the last ending with :data:`CONTINUES`: what a stream holds stays bounded, however
long a line the worker writes. Bytes that are not UTF-8 show as U+FFFD.

Logs never decide the outcome: a failure to read them (or to keep the cursor) is written once as
a warning and the wait goes on. The follows of one triggerer share HTTP/2 connections to the API
server (up to 100 streams each), so a thousand running workers cost about ten connections.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

from airflow_provider_kontinue.client import AsyncKontinueClient, Execution, KontinueError, LogPiece

RETRIES = 20
RETRY_DELAY = 0.5
DRAIN_SECONDS = 5.0
"""After the execution ended, how long the last lines may take to arrive before we stop reading."""
ANNOTATION_LOG_CURSOR = "airflow.apache.org/log-cursor"
CURSOR_SECONDS = 5.0
"""How often a forwarder writes its cursor while lines arrive: after a triggerer is SIGKILLed, at
most the lines of this last interval show twice (a stop that lets the trigger end writes it exactly)."""
CURSOR_WRITE_TIMEOUT = 5.0
CONTINUES = " [line continues]"
"""Ends each task-log line that holds a part of a worker line longer than ``MAX_LOG_LINE``."""


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


def stamp_key(stamp: str) -> str:
    """A log timestamp as a string that sorts as the time does: UTC, nine fraction digits.

    The kubelet writes RFC 3339 with nanoseconds and trailing zeros trimmed (``...:05Z``,
    ``...:05.5Z``), which do not sort as text; ``""`` (no timestamp) stays ``""``.
    """
    if not stamp:
        return ""
    body = stamp[:-1] if stamp.endswith("Z") else stamp
    if "+" in body[10:] or "-" in body[10:]:  # an offset: convert to UTC
        seconds, _, rest = body.partition(".")
        digits = rest[: len(rest) - len(rest.lstrip("0123456789"))]
        offset = rest[len(digits) :] if "." in body else seconds[19:]
        try:
            when = datetime.fromisoformat(f"{seconds[:19]}.{digits[:6].ljust(6, '0')}{offset}")
        except ValueError:
            return stamp
        body = when.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{digits.ljust(9, '0')[:9]}"
    seconds, _, fraction = body.partition(".")
    return f"{seconds}.{fraction[:9].ljust(9, '0')}Z"


@dataclass
class Position:
    """Where a Job's log was left: the last line's timestamp (``stamp_key``), and how many lines
    with exactly that timestamp were written (two lines may share one)."""

    stamp: str = ""
    count: int = 0

    def seen(self, stamp: str, already: int) -> bool:
        """Whether the line at ``stamp``, the ``already``-th before it with that same stamp, was written."""
        return bool(stamp) and (stamp < self.stamp or (stamp == self.stamp and already < self.count))

    def advance(self, stamp: str) -> None:
        if stamp == self.stamp:
            self.count += 1
        elif stamp:
            self.stamp, self.count = stamp, 1


@dataclass
class LogCursor:
    """How far one reader (a task instance's try) has forwarded each worker Job's log."""

    reader: str
    positions: dict[str, Position] = field(default_factory=dict)

    @classmethod
    def of(cls, reader: str, execution: Execution) -> LogCursor:
        """The cursor ``reader`` left on ``execution``; empty if another reader (or nobody) left it."""
        try:
            data = json.loads(execution.annotations.get(ANNOTATION_LOG_CURSOR) or "{}")
        except ValueError:
            data = {}
        jobs = data.get("jobs") if isinstance(data, dict) and data.get("reader") == reader else None
        positions = {}
        for job, where in (jobs or {}).items() if isinstance(jobs, dict) else ():
            if (
                isinstance(where, list)
                and len(where) == 2
                and isinstance(where[0], str)
                and isinstance(where[1], int)
            ):
                positions[str(job)] = Position(where[0], where[1])
        return cls(reader, positions)

    def annotation(self) -> str:
        jobs = {job: [p.stamp, p.count] for job, p in sorted(self.positions.items())}
        return json.dumps({"reader": self.reader, "jobs": jobs}, separators=(",", ":"))


class LogForwarder:
    """Follows the worker Jobs of one execution, attempt after attempt, into ``logger``.

    With ``reader`` (a trigger's task instance and try), it starts where that reader's
    :class:`LogCursor` on the execution says, and keeps the cursor up to date.
    """

    def __init__(
        self,
        client: AsyncKontinueClient,
        namespace: str,
        logger: logging.Logger | Any,
        *,
        reader: str | None = None,
    ) -> None:
        self.client = client
        self.namespace = namespace
        self.logger = logger
        self.reader = reader
        self.lines = 0
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._cursor: LogCursor | None = None
        self._execution = ""
        self._written = ""
        self._saver: asyncio.Task[None] | None = None
        self._cursor_warned = False
        self._stopping = False

    def update(self, execution: Execution) -> None:
        """Start following the Job of a new attempt, if the execution shows one."""
        if self.reader is not None and self._cursor is None:
            self._cursor = LogCursor.of(self.reader, execution)
            self._execution, self._written = execution.name, self._cursor.annotation()
            last = max((p.stamp for p in self._cursor.positions.values()), default="")
            if last:  # a Job followed before any line of it arrived holds no position yet
                self.logger.info(
                    "kontinue: the task log holds the worker log up to %s; going on from there", last
                )
        found = worker_job(execution)
        if found is None or found[0] in self._tasks:
            return
        job, attempt = found
        self._tasks[job] = asyncio.ensure_future(self._follow(job, attempt))
        if self._cursor is not None and self._saver is None:
            self._saver = asyncio.ensure_future(self._keep_cursor())

    async def _follow(self, job: str, attempt: int) -> None:
        cursor = self._cursor.positions if self._cursor is not None else {}
        position = cursor.setdefault(job, Position())
        failures = 0
        while True:
            same_stamp, previous, continued = 0, "", None
            options: dict[str, Any] = {"follow": True, "timestamps": True}
            if position.stamp:  # read from the last line's second on, not the whole log again
                options["since_time"] = datetime.strptime(position.stamp[:19], "%Y-%m-%dT%H:%M:%S").replace(
                    tzinfo=timezone.utc
                )
            try:
                stream = await self.client.get_job_logs(job, options, namespace=self.namespace)
                async with stream:
                    async for raw in stream:
                        # A part after the first of a long line carries no timestamp: its line's.
                        stamp, text = (continued, raw) if continued is not None else split_timestamp(raw)
                        continued = stamp if isinstance(raw, LogPiece) else None
                        key = stamp_key(stamp)
                        same_stamp = same_stamp + 1 if key == previous else 0
                        previous = key
                        if position.seen(key, same_stamp):
                            continue  # already written before a reconnect, or by an earlier trigger
                        position.advance(key)
                        self.lines += 1
                        mark = CONTINUES if continued is not None else ""
                        self.logger.info("[kontinue worker, attempt %d] %s%s", attempt, text, mark)
                return  # the stream ends when the worker's pod has ended
            except asyncio.CancelledError:
                raise
            except KontinueError as err:
                failures += 1
                if failures > RETRIES:
                    self.logger.warning("kontinue: cannot read the worker log of job %s: %s", job, err)
                    return
                await asyncio.sleep(RETRY_DELAY)

    async def _keep_cursor(self) -> None:
        # Ends on the flag, not only on cancel: asyncio.wait_for (Python < 3.12) can swallow a
        # cancel that arrives as the write completes.
        while not self._stopping:
            await asyncio.sleep(CURSOR_SECONDS)
            if not self._stopping:
                await self._write_cursor()

    async def _write_cursor(self) -> None:
        """Write the cursor on the execution if it moved since the last write (bounded, never raises)."""
        if self._cursor is None:
            return
        value = self._cursor.annotation()
        if value == self._written:
            return
        try:
            await asyncio.wait_for(
                self.client.annotate(
                    self._execution, {ANNOTATION_LOG_CURSOR: value}, namespace=self.namespace
                ),
                CURSOR_WRITE_TIMEOUT,
            )
            self._written = value
        except (KontinueError, asyncio.TimeoutError) as err:
            if not self._cursor_warned:
                self._cursor_warned = True
                self.logger.warning(
                    "kontinue: cannot keep the log cursor on execution %s (after a triggerer "
                    "restart its worker lines may show twice): %s",
                    self._execution,
                    err,
                )

    async def finish(self, drain: float = DRAIN_SECONDS) -> None:
        """Let the followers write the last lines (at most ``drain`` seconds), stop them, and
        write the cursor where they stopped."""
        tasks = list(self._tasks.values())
        if tasks:
            _, pending = await asyncio.wait(tasks, timeout=drain)
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
        if self._saver is not None:
            self._stopping = True
            self._saver.cancel()
            await asyncio.wait([self._saver], timeout=CURSOR_WRITE_TIMEOUT + 1)
        await self._write_cursor()
