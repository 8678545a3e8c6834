"""The Watcher's resume logic as a protocol: reconnects from the last resourceVersion, bookmarks,
backoff, 410 Gone and error events, driven with scripted answers (no server)."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from airflow_provider_kontinue.client import ForbiddenError, GoneError, ServerError, WatchError
from airflow_provider_kontinue.client.protocol import (
    CloseStream,
    OpenStream,
    ReadAny,
    ReadLine,
    Sleep,
    TransportError,
)
from airflow_provider_kontinue.client.resources import EXECUTIONS, WATCH_TIMEOUT_SECONDS
from airflow_provider_kontinue.client.watcher import (
    BACKOFF_INITIAL,
    BACKOFF_MAX,
    EXPIRED,
    Watcher,
    WatchEvent,
    next_of_many,
    parse_event,
)


@pytest.fixture(autouse=True)
def no_jitter(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """Jitter at its top (factor 1.0), so backoffs are exact; the bounds asked for are recorded."""
    asked: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        asked.append((low, high))
        return 1.0

    monkeypatch.setattr(random, "uniform", uniform)
    return asked


def line(event_type: str, rv: str | None = None, **obj: Any) -> bytes:
    if rv is not None:
        obj = {**obj, "metadata": {"name": "a", "resourceVersion": rv}}
    return json.dumps({"type": event_type, "object": obj}).encode()


def status(code: int, reason: str = "") -> bytes:
    return line("ERROR", kind="Status", code=code, reason=reason, message=f"status {code}")


def watcher(rv: str = "10", **kwargs: Any) -> Watcher:
    return Watcher(EXECUTIONS, "ns", rv, **kwargs)


def test_open_asks_for_a_watch_from_the_resource_version_with_the_selectors() -> None:
    w = watcher("10", label_selector="team=a", field_selector="metadata.name=x", timeout_seconds=60)
    op = w.open()
    command = next(op)
    assert isinstance(command, OpenStream)
    assert command.read_timeout == 90  # the server's timeout plus a margin
    query = command.call.query
    assert query["resourceVersion"] == "10"
    assert query["labelSelector"] == "team=a"
    assert query["fieldSelector"] == "metadata.name=x"
    assert query["timeoutSeconds"] == "60"
    assert command.call.namespace == "ns"
    with pytest.raises(StopIteration) as done:
        op.send("stream")
    assert done.value.value is True
    assert w.stream == "stream"


def test_the_default_watch_timeout_is_the_resources_one() -> None:
    command = next(watcher().open())
    assert isinstance(command, OpenStream)
    assert command.call.query["timeoutSeconds"] == str(WATCH_TIMEOUT_SECONDS)
    assert "labelSelector" not in command.call.query
    assert "fieldSelector" not in command.call.query


def test_an_open_stream_is_not_opened_again() -> None:
    w = watcher()
    op = w.open()
    next(op)
    with pytest.raises(StopIteration):
        op.send("stream")
    with pytest.raises(StopIteration) as done:
        next(w.open())
    assert done.value.value is True


def test_open_answers_false_on_410_gone() -> None:
    op = watcher().open()
    next(op)
    with pytest.raises(StopIteration) as done:
        op.throw(GoneError("too old"))
    assert done.value.value is False


@pytest.mark.parametrize("error", [TransportError("reset"), ServerError("503")])
def test_open_backs_off_then_retries_from_the_same_version(error: Exception) -> None:
    w = watcher("10")
    op = w.open()
    next(op)
    assert op.throw(error) == Sleep(BACKOFF_INITIAL)
    command = op.send(None)
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == "10"


def test_open_lets_other_errors_through() -> None:
    op = watcher().open()
    next(op)
    with pytest.raises(ForbiddenError):
        op.throw(ForbiddenError("no"))


def test_backoff_doubles_from_its_start_up_to_its_cap_with_jitter_between_half_and_full(
    no_jitter: list[tuple[float, float]],
) -> None:
    w = watcher()
    delays = [w._backoff() for _ in range(10)]
    assert delays[:4] == [BACKOFF_INITIAL, BACKOFF_INITIAL * 2, BACKOFF_INITIAL * 4, BACKOFF_INITIAL * 8]
    assert delays[-1] == BACKOFF_MAX
    assert max(delays) == BACKOFF_MAX
    assert no_jitter[0] == (0.5, 1.0)


def test_backoff_scales_with_the_jitter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(random, "uniform", lambda low, high: low)
    assert watcher()._backoff() == BACKOFF_INITIAL * 0.5


def opened(rv: str = "10") -> Watcher:
    w = watcher(rv)
    op = w.open()
    next(op)
    with pytest.raises(StopIteration):
        op.send("stream")
    return w


def run(op: Any, answers: list[Any] | None = None) -> tuple[list[Any], Any]:
    """Run ``op`` answering each command with the next of ``answers`` (``None`` when they run out)."""
    answers = list(answers or [])
    commands: list[Any] = []
    try:
        command = next(op)
        while True:
            commands.append(command)
            command = op.send(answers.pop(0) if answers else None)
    except StopIteration as stop:
        return commands, stop.value


def test_an_event_is_returned_and_moves_the_resource_version() -> None:
    w = opened("10")
    commands, result = run(w.handle(line("MODIFIED", "12")))
    assert commands == []
    assert isinstance(result, WatchEvent)
    assert result.type == "MODIFIED"
    assert result.resource_version == "12"
    assert w.resource_version == "12"


def test_a_bookmark_moves_the_resource_version_without_waking_the_caller() -> None:
    w = opened("10")
    commands, result = run(w.handle(line("BOOKMARK", "15")))
    assert (commands, result) == ([], None)
    assert w.resource_version == "15"
    assert w.stream == "stream"


def test_an_event_without_a_resource_version_keeps_the_last_one() -> None:
    w = opened("10")
    _, result = run(w.handle(line("ADDED", kind="Execution")))
    assert isinstance(result, WatchEvent)
    assert result.resource_version == ""
    assert w.resource_version == "10"


def test_an_event_without_an_object_gives_an_empty_one() -> None:
    _, result = run(opened().handle(json.dumps({"type": "ADDED"}).encode()))
    assert result == WatchEvent("ADDED", {})


def test_a_keep_alive_line_is_nothing() -> None:
    w = opened()
    assert run(w.handle(b"  \n")) == ([], None)
    assert w.stream == "stream"


def test_the_end_of_a_watch_closes_the_stream_so_the_next_open_resumes() -> None:
    w = opened("12")
    commands, result = run(w.handle(None))
    assert (commands, result) == ([CloseStream("stream")], None)
    assert w.stream is None
    command = next(w.open())
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == "12"


def test_a_broken_stream_is_closed_then_reconnected_after_a_backoff() -> None:
    w = opened()
    commands, result = run(w.handle(TransportError("reset")))
    assert commands == [CloseStream("stream"), Sleep(BACKOFF_INITIAL)]
    assert result is None
    assert w.stream is None


def test_an_error_that_is_not_a_transport_one_is_raised() -> None:
    with pytest.raises(ValueError, match="boom"):
        run(opened().handle(ValueError("boom")))


def test_an_event_resets_the_backoff() -> None:
    w = opened()
    run(w.handle(TransportError("reset")))
    run(w.handle(TransportError("reset")))
    assert w._backoff() == BACKOFF_INITIAL * 4
    w = opened()
    run(w.handle(TransportError("reset")))
    run(w.handle(line("MODIFIED", "11")))
    assert w._backoff() == BACKOFF_INITIAL


def test_a_410_error_event_closes_the_stream_and_says_expired() -> None:
    w = opened()
    commands, result = run(w.handle(status(410, "Expired")))
    assert commands == [CloseStream("stream")]
    assert result is EXPIRED
    assert repr(result) == "EXPIRED"


def test_a_5xx_error_event_closes_backs_off_and_reconnects() -> None:
    w = opened("10")
    commands, result = run(w.handle(status(500)))
    assert commands == [CloseStream("stream"), Sleep(BACKOFF_INITIAL)]
    assert result is None
    assert w.resource_version == "10"


def test_another_error_event_is_raised_naming_the_watch() -> None:
    with pytest.raises(ForbiddenError) as err:
        run(opened().handle(status(403, "Forbidden")))
    assert err.value.verb == "watch"
    assert err.value.resource == EXECUTIONS.resource
    assert err.value.namespace == "ns"


def test_parse_event_refuses_what_is_not_a_watch_event() -> None:
    assert parse_event(b'{"type": "ADDED", "object": {}}\n') == {"type": "ADDED", "object": {}}
    assert parse_event(b"\r\n") is None
    with pytest.raises(WatchError, match="not JSON") as caught:
        parse_event(b"<" * 200)
    assert str(caught.value).count("<") == 120  # an excerpt, not the whole line
    with pytest.raises(WatchError, match="unexpected line") as caught:
        parse_event(b'{"x": "' + b"y" * 200 + b'"}')
    assert str(caught.value).count("y") == 120 - len('{"x": "')
    with pytest.raises(WatchError, match="unexpected line"):
        parse_event(b'{"object": {}}')
    with pytest.raises(WatchError, match="unexpected line"):
        parse_event(b'["type"]')


def test_next_event_reads_past_bookmarks_and_reconnects_after_the_stream_ends() -> None:
    w = watcher("10")
    op = w.next_event()
    assert isinstance(next(op), OpenStream)
    assert op.send("s1") == ReadLine("s1")
    assert op.send(line("BOOKMARK", "11")) == ReadLine("s1")
    assert op.send(None) == CloseStream("s1")  # the server ended the watch
    command = op.send(None)
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == "11"
    assert op.send("s2") == ReadLine("s2")
    with pytest.raises(StopIteration) as done:
        op.send(line("DELETED", "12"))
    assert done.value.value == WatchEvent("DELETED", {"metadata": {"name": "a", "resourceVersion": "12"}})


def test_next_event_treats_a_read_that_fails_as_a_broken_stream() -> None:
    w = opened()
    op = w.next_event()
    assert next(op) == ReadLine("stream")
    assert op.throw(TransportError("reset")) == CloseStream("stream")
    assert op.send(None) == Sleep(BACKOFF_INITIAL)
    assert isinstance(op.send(None), OpenStream)


def test_next_event_says_expired_when_the_reopen_meets_410() -> None:
    op = watcher().next_event()
    next(op)
    with pytest.raises(StopIteration) as done:
        op.throw(GoneError("too old"))
    assert done.value.value is EXPIRED


def test_next_of_many_reads_all_streams_at_once_and_says_which_watcher_changed() -> None:
    first, second = opened("1"), watcher("2")
    op = next_of_many([first, second], timeout=5)
    assert isinstance(next(op), OpenStream)  # only the one not open yet
    command = op.send("second-stream")
    assert command == ReadAny(("stream", "second-stream"), 5)
    assert op.send(("second-stream", line("BOOKMARK", "3"))) == ReadAny(("stream", "second-stream"), 5)
    assert second.resource_version == "3"
    with pytest.raises(StopIteration) as done:
        op.send(("second-stream", line("ADDED", "4")))
    owner, event = done.value.value
    assert owner is second
    assert isinstance(event, WatchEvent)
    assert event.type == "ADDED"
    assert first.resource_version == "1"


def test_next_of_many_gives_none_after_its_timeout() -> None:
    op = next_of_many([opened()], timeout=0.5)
    assert next(op) == ReadAny(("stream",), 0.5)
    with pytest.raises(StopIteration) as done:
        op.send(None)
    assert done.value.value is None


def test_next_of_many_says_which_watcher_expired() -> None:
    first, second = opened(), watcher()
    op = next_of_many([first, second])
    next(op)
    with pytest.raises(StopIteration) as done:
        op.throw(GoneError("too old"))
    assert done.value.value == (second, EXPIRED)


def test_next_of_many_reports_an_expiry_seen_on_a_stream() -> None:
    first = opened()
    op = next_of_many([first])
    next(op)
    assert op.send(("stream", status(410))) == CloseStream("stream")
    with pytest.raises(StopIteration) as done:
        op.send(None)
    assert done.value.value == (first, EXPIRED)
