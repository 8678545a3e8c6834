"""The ``watch`` operation as a sans-IO protocol: opened marker, events, and a relist after 410 Gone."""

from __future__ import annotations

import json
from typing import Any

from airflow_provider_kontinue.client import Execution, ObjectChange
from airflow_provider_kontinue.client.protocol import (
    Call,
    Emit,
    OpenStream,
    ReadLine,
    Response,
    Sleep,
    TransportError,
)
from airflow_provider_kontinue.client.watch import watch_objects


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
