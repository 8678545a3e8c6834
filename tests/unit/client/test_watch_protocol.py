"""The ``watch`` operation as a sans-IO protocol: opened marker, events, and a relist after 410 Gone."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_kontinue.client import Execution, Function, GoneError, ObjectChange, ValidationError
from airflow_provider_kontinue.client.protocol import (
    Call,
    Emit,
    OpenStream,
    ReadLine,
    Response,
    Sleep,
    TransportError,
)
from airflow_provider_kontinue.client.watch import AsyncChangeStream, ChangeStream, kind_of, watch_objects


def _execution(name: str, rv: str, phase: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"metadata": {"name": name, "resourceVersion": rv}, "spec": {"function": "f"}}
    if phase:
        body["status"] = {"phase": phase}
    return body


def _line(event_type: str, obj: dict[str, Any]) -> bytes:
    return json.dumps({"type": event_type, "object": obj}).encode()


def test_watch_opens_from_a_one_item_list_then_reports_events_and_relists_after_410() -> None:
    op = watch_objects(Execution, "ns", label_selector="team=data")
    command = next(op)
    assert isinstance(command, Call)
    assert command.query["limit"] == "1"
    assert command.query["labelSelector"] == "team=data"
    command = op.send(Response(200, {"metadata": {"resourceVersion": "10"}, "items": []}))
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == "10"
    stream = object()
    assert op.send(stream) == Emit(None)  # the watch is established
    command = op.send(None)
    assert command == ReadLine(stream)
    command = op.send(_line("BOOKMARK", {"metadata": {"resourceVersion": "11"}}))
    assert command == ReadLine(stream)  # bookmarks are not reported
    emitted = op.send(_line("MODIFIED", _execution("a", "12", "Executing")))
    assert isinstance(emitted, Emit)
    change = emitted.value
    assert isinstance(change, ObjectChange)
    assert change.type == "MODIFIED"
    assert isinstance(change.object, Execution)
    assert change.object.phase == "Executing"
    command = op.send(None)
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
    command = op.send(_line("ERROR", gone))
    while not (isinstance(command, Call) and command.verb == "list"):  # closes the expired stream
        command = op.send(None)
    assert command.query["limit"] == "500"
    page = {"metadata": {"resourceVersion": "20", "continue": "next"}, "items": [_execution("a", "19")]}
    command = op.send(Response(200, page))
    assert isinstance(command, Call)
    assert command.query["continue"] == "next"
    last = {"metadata": {"resourceVersion": "21"}, "items": [_execution("b", "21", "Completed")]}
    emitted = op.send(Response(200, last))
    assert isinstance(emitted, Emit)
    relisted = emitted.value
    assert relisted.type == "RELISTED"
    assert relisted.object is None
    assert [e.name for e in relisted.objects] == ["a", "b"]
    command = op.send(None)
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == "21"  # continues from the list


def test_a_relist_that_meets_a_restarting_api_server_backs_off_and_lists_again() -> None:
    op = watch_objects(Execution, "ns")
    next(op)
    op.send(Response(200, {"metadata": {"resourceVersion": "10"}, "items": []}))
    stream = object()
    op.send(stream)  # the opened marker
    command = op.send(None)
    gone = {"kind": "Status", "code": 410, "reason": "Expired", "message": "too old resource version"}
    command = op.send(_line("ERROR", gone))
    while not (isinstance(command, Call) and command.verb == "list"):
        command = op.send(None)
    command = op.throw(TransportError("cannot reach the API server"))
    assert isinstance(command, Sleep)
    command = op.send(None)
    assert isinstance(command, Call)
    assert command.verb == "list"  # listed again after the backoff
    command = op.send(Response(503, {"kind": "Status", "code": 503, "message": "not ready"}))
    assert isinstance(command, Sleep)
    command = op.send(None)
    assert isinstance(command, Call)
    emitted = op.send(Response(200, {"metadata": {"resourceVersion": "30"}, "items": []}))
    assert isinstance(emitted, Emit)
    assert emitted.value.type == "RELISTED"


def _opened(op: Any, version: str = "10") -> object:
    """Answer the first list and the watch; the stream handle."""
    command = next(op)
    assert isinstance(command, Call)
    command = op.send(Response(200, {"metadata": {"resourceVersion": version}, "items": []}))
    assert isinstance(command, OpenStream)
    stream = object()
    assert op.send(stream) == Emit(None)
    assert op.send(None) == ReadLine(stream)
    return stream


@pytest.mark.parametrize("event_type", ["ADDED", "MODIFIED", "DELETED"])
def test_each_event_type_is_reported_as_itself(event_type: str) -> None:
    op = watch_objects(Execution, "ns")
    _opened(op)
    emitted = op.send(_line(event_type, _execution("a", "12")))
    assert isinstance(emitted, Emit)
    assert emitted.value.type == event_type
    assert emitted.value.object.name == "a"


def test_the_namespace_and_both_selectors_reach_the_list_the_watch_and_the_relist() -> None:
    op = watch_objects(Execution, "team-a", label_selector="app=x", field_selector="metadata.name=a")
    first = next(op)
    assert isinstance(first, Call)
    assert first.namespace == "team-a"
    assert first.query["fieldSelector"] == "metadata.name=a"
    command = op.send(Response(200, {"metadata": {"resourceVersion": "10"}, "items": []}))
    assert isinstance(command, OpenStream)
    assert command.call.namespace == "team-a"
    assert command.call.query["labelSelector"] == "app=x"
    assert command.call.query["fieldSelector"] == "metadata.name=a"
    stream = object()
    op.send(stream)
    op.send(None)
    command = op.send(_line("ERROR", {"kind": "Status", "code": 410, "reason": "Expired"}))
    while not (isinstance(command, Call) and command.verb == "list"):
        command = op.send(None)
    assert command.namespace == "team-a"
    assert command.query["labelSelector"] == "app=x"
    assert command.query["fieldSelector"] == "metadata.name=a"
    assert "continue" not in command.query


def test_a_watch_that_expires_at_once_starts_from_a_fresh_list() -> None:
    op = watch_objects(Execution, "team-a", label_selector="app=x", field_selector="f=1")
    next(op)
    op.send(Response(200, {"metadata": {"resourceVersion": "10"}, "items": []}))
    command = op.throw(GoneError("too old"))
    assert isinstance(command, Call)
    assert command.verb == "list"
    assert command.namespace == "team-a"
    assert (command.query["labelSelector"], command.query["fieldSelector"]) == ("app=x", "f=1")
    assert op.send(Response(200, {"metadata": {"resourceVersion": "30"}, "items": []})) == Emit(None)
    command = op.send(None)
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == "30"


def test_a_relist_that_fails_backs_off_with_the_watchers_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("airflow_provider_kontinue.client.watcher.random.uniform", lambda low, high: 1.0)
    op = watch_objects(Execution, "ns")
    next(op)
    op.send(Response(200, {"metadata": {"resourceVersion": "10"}, "items": []}))
    op.throw(GoneError("too old"))
    assert op.throw(TransportError("down")) == Sleep(0.2)


def test_a_list_without_a_resource_version_watches_from_now() -> None:
    op = watch_objects(Execution, "ns")
    next(op)
    command = op.send(Response(200, {"items": []}))
    assert isinstance(command, OpenStream)
    assert command.call.query["resourceVersion"] == ""
    assert "labelSelector" not in command.call.query  # no selector unless one is given
    assert "fieldSelector" not in command.call.query


def test_the_blocking_change_stream_closes_its_watch() -> None:
    closed: list[bool] = []

    def items() -> Any:
        try:
            yield None
            yield "change"
        finally:
            closed.append(True)

    with ChangeStream[Execution](items()) as stream:
        assert closed == []  # open until closed, whether or not it was read to the end
    assert closed == [True]
    stream.close()
    ChangeStream[Execution](iter([None])).close()  # an iterator without close is fine


async def test_the_async_change_stream_closes_its_watch() -> None:
    closed: list[bool] = []

    async def items() -> Any:
        try:
            yield "change"
        finally:
            closed.append(True)

    async with AsyncChangeStream[Execution](items()) as stream:
        async for _ in stream:
            break  # one change read, the watch left open
        assert closed == []
    assert closed == [True]


class _MyExecution(Execution):
    """Carries Execution's KIND, but is not the model a watch decodes into."""


@pytest.mark.parametrize("model", [Function, _MyExecution])
def test_only_executions_suspensions_and_scheduled_executions_can_be_watched(model: Any) -> None:
    with pytest.raises(ValidationError) as refused:
        kind_of(model)
    assert refused.value.message == (
        f"watch: cannot watch {model.__name__!r}; pass Execution, Suspension or ScheduledExecution"
    )
    assert refused.value.field == "model"


def test_a_watch_of_an_instance_instead_of_a_class_names_what_it_was_given() -> None:
    instance = Execution.model_validate({"metadata": {"name": "x"}, "spec": {"function": "f"}})
    with pytest.raises(ValidationError) as refused:
        kind_of(instance)  # type: ignore[arg-type]
    assert refused.value.message.startswith("watch: cannot watch Execution(api_version=")
