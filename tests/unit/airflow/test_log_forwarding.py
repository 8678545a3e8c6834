"""The log forwarder's bookkeeping: timestamps that sort, positions that survive shared stamps,
and a cursor that lets a second forwarder of the same try go on where the first one stopped."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from airflow_provider_kontinue.client import Execution, KontinueError, LogPiece
from airflow_provider_kontinue.triggers import logs as logs_module
from airflow_provider_kontinue.triggers.logs import (
    ANNOTATION_LOG_CURSOR,
    CONTINUES,
    LogCursor,
    LogForwarder,
    Position,
    stamp_key,
)

JOB = "run-1-worker-1"


def execution(annotations: dict[str, str] | None = None) -> Execution:
    return Execution.model_validate(
        {
            "metadata": {"name": "run-1", "namespace": "ns", "annotations": annotations or {}},
            "spec": {"function": "f"},
            "status": {
                "phase": "Executing",
                "attempt": 1,
                "children": [{"kind": "Job", "name": JOB, "step": "worker", "attempt": 1}],
            },
        }
    )


class Stream:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    async def __aenter__(self) -> Stream:
        return self

    async def __aexit__(self, *_: Any) -> None:
        return None

    def __aiter__(self) -> Any:
        async def lines() -> Any:
            for line in self.lines:
                yield line

        return lines()


class FakeClient:
    """Serves one Job log (all of it, whatever ``since_time`` says, as a coarse kubelet may) and
    keeps the execution's annotations as merge patches leave them."""

    def __init__(self, log: list[str], annotations: dict[str, str] | None = None) -> None:
        self.log = log
        self.annotations = dict(annotations or {})
        self.log_options: list[dict[str, Any]] = []
        self.annotate_error: Exception | None = None

    async def get_job_logs(self, job: str, options: dict[str, Any], *, namespace: str) -> Stream:
        assert (job, namespace) == (JOB, "ns")
        self.log_options.append(options)
        return Stream(self.log)

    async def annotate(self, name: str, annotations: dict[str, str], *, namespace: str) -> None:
        assert (name, namespace) == ("run-1", "ns")
        if self.annotate_error is not None:
            raise self.annotate_error
        self.annotations.update(annotations)


class Logger:
    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    def warning(self, msg: str, *args: Any) -> None:
        self.warnings.append(msg % args)

    def worker_lines(self) -> list[str]:
        return [line.split("] ", 1)[1] for line in self.lines if line.startswith("[kontinue worker")]


LOG = [
    "2026-01-01T10:00:00.5Z one",
    "2026-01-01T10:00:01Z two",
    "2026-01-01T10:00:01Z three (the same stamp as two)",
    "2026-01-01T10:00:01.000000001Z four",
]


async def forward(client: FakeClient, reader: str | None, execution_: Execution) -> Logger:
    log = Logger()
    forwarder = LogForwarder(client, "ns", log, reader=reader)  # type: ignore[arg-type]
    forwarder.update(execution_)
    await forwarder.finish()
    return log


def test_stamps_sort_as_times_whatever_fraction_the_kubelet_wrote() -> None:
    stamps = ["2026-01-01T10:00:00.5Z", "2026-01-01T10:00:01Z", "2026-01-01T10:00:00.123456789Z"]
    assert sorted(stamps, key=stamp_key) == [stamps[2], stamps[0], stamps[1]]
    assert stamp_key("2026-01-01T10:00:01Z") == "2026-01-01T10:00:01.000000000Z"
    assert stamp_key("2026-01-01T12:00:01.25+02:00") == "2026-01-01T10:00:01.250000000Z"
    assert stamp_key("") == ""


def test_a_position_counts_the_lines_that_share_its_stamp() -> None:
    position = Position()
    position.advance("b")
    position.advance("b")
    assert (position.stamp, position.count) == ("b", 2)
    assert position.seen("a", 0)
    assert position.seen("b", 0)
    assert position.seen("b", 1)
    assert not position.seen("b", 2)
    assert not position.seen("c", 0)
    assert not position.seen("", 0)  # a line without a stamp is never taken for one written


def test_a_cursor_belongs_to_its_reader_and_bad_annotations_read_as_empty() -> None:
    cursor = LogCursor("d/r/t/-1/1", {JOB: Position("s", 2)})
    written = execution({ANNOTATION_LOG_CURSOR: cursor.annotation()})
    assert LogCursor.of("d/r/t/-1/1", written) == cursor
    assert LogCursor.of("d/r/t/-1/2", written).positions == {}  # a new try forwards from the start
    for bad in ("not json", "[]", '{"reader": "d/r/t/-1/1", "jobs": {"j": ["s"]}}'):
        assert LogCursor.of("d/r/t/-1/1", execution({ANNOTATION_LOG_CURSOR: bad})).positions == {}


async def test_every_line_is_forwarded_once_and_the_cursor_is_left_on_the_execution() -> None:
    client = FakeClient(LOG)
    log = await forward(client, "d/r/t/-1/1", execution())
    assert log.worker_lines() == ["one", "two", "three (the same stamp as two)", "four"]
    cursor = json.loads(client.annotations[ANNOTATION_LOG_CURSOR])
    assert cursor == {"reader": "d/r/t/-1/1", "jobs": {JOB: ["2026-01-01T10:00:01.000000001Z", 1]}}


LONG = [  # one line too long for MAX_LOG_LINE, as the client hands it on: parts, then its end
    "2026-01-01T10:00:00Z before",
    LogPiece("2026-01-01T10:00:01Z aaaa"),
    LogPiece("bbbb"),
    "cc",
    "2026-01-01T10:00:02Z after",
]


async def test_a_long_line_is_written_in_parts_each_but_the_last_marked_and_counted_under_its_stamp() -> None:
    client = FakeClient(LONG[:3])
    first = await forward(client, "d/r/t/-1/1", execution())
    assert first.worker_lines() == ["before", f"aaaa{CONTINUES}", f"bbbb{CONTINUES}"]
    client.log = LONG  # a later forwarder of the same try reads the line again from its start
    second = await forward(client, "d/r/t/-1/1", execution(client.annotations))
    assert second.worker_lines() == ["cc", "after"]


async def test_a_second_forwarder_of_the_same_try_goes_on_after_the_lines_already_written() -> None:
    client = FakeClient(LOG[:2])
    first = await forward(client, "d/r/t/-1/1", execution())
    client.log = LOG  # the worker logged on meanwhile
    second = await forward(client, "d/r/t/-1/1", execution(client.annotations))
    assert first.worker_lines() + second.worker_lines() == [
        "one",
        "two",
        "three (the same stamp as two)",
        "four",
    ]
    assert client.log_options[-1]["since_time"].isoformat() == "2026-01-01T10:00:01+00:00"
    assert second.lines[0] == (
        "kontinue: the task log holds the worker log up to 2026-01-01T10:00:01.000000000Z; "
        "going on from there"
    )


async def test_a_cursor_left_before_the_first_line_says_nothing_of_where_it_goes_on() -> None:
    client = FakeClient(LOG)
    cursor = json.dumps({"reader": "d/r/t/-1/1", "jobs": {JOB: ["", 0]}})
    log = await forward(client, "d/r/t/-1/1", execution({ANNOTATION_LOG_CURSOR: cursor}))
    assert log.worker_lines() == ["one", "two", "three (the same stamp as two)", "four"]
    assert not [line for line in log.lines if "going on from there" in line]


async def test_another_try_forwards_the_whole_log_again() -> None:
    client = FakeClient(LOG)
    await forward(client, "d/r/t/-1/1", execution())
    again = await forward(client, "d/r/t/-1/2", execution(client.annotations))
    assert len(again.worker_lines()) == len(LOG)


async def test_without_a_reader_nothing_is_written_on_the_execution() -> None:
    client = FakeClient(LOG)
    log = await forward(client, None, execution())
    assert len(log.worker_lines()) == len(LOG)
    assert client.annotations == {}


async def test_a_cursor_that_cannot_be_written_is_warned_about_once_and_forwarding_goes_on(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(logs_module, "CURSOR_SECONDS", 0.001)
    client = FakeClient(LOG)
    client.annotate_error = KontinueError("forbidden: cannot patch executions")
    log = Logger()
    forwarder = LogForwarder(client, "ns", log, reader="d/r/t/-1/1")  # type: ignore[arg-type]
    forwarder.update(execution())
    await asyncio.sleep(0.05)
    await forwarder.finish()
    assert len(log.worker_lines()) == len(LOG)
    assert len(log.warnings) == 1
    assert "cannot keep the log cursor on execution run-1" in log.warnings[0]


async def test_the_cursor_is_written_while_lines_arrive(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logs_module, "CURSOR_SECONDS", 0.01)
    client = FakeClient(LOG)
    forwarder = LogForwarder(client, "ns", Logger(), reader="d/r/t/-1/1")  # type: ignore[arg-type]
    forwarder.update(execution())
    await asyncio.sleep(0.1)
    assert ANNOTATION_LOG_CURSOR in client.annotations  # before finish: a SIGKILL loses little
    await forwarder.finish(0.0)
