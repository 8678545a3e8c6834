"""patch_with_retries as a protocol: what it asks for after each answer (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.client import ConflictError, Execution, NotFoundError
from airflow_provider_kontinue.client.protocol import Call, Response
from airflow_provider_kontinue.client.resources import EXECUTIONS
from airflow_provider_kontinue.client.writes import CONFLICT_RETRIES, patch_with_retries


def read_version(versions: list[str]) -> Any:
    def read() -> Any:
        version = versions.pop(0)
        yield Call("GET", "/read")
        return Execution.model_validate(
            {"metadata": {"name": "x", "resourceVersion": version}, "spec": {"function": "f"}}
        )

    return read


def drive(op: Any, answers: list[Response]) -> tuple[list[Call], Any]:
    sent: list[Call] = []
    try:
        command = next(op)
        while True:
            sent.append(command)
            command = op.send(answers.pop(0))
    except StopIteration as stop:
        return sent, stop.value


def test_a_conflict_rereads_and_patches_with_the_new_version() -> None:
    op = patch_with_retries(
        EXECUTIONS,
        "ns",
        "x",
        "cancel",
        read_version(["1", "2"]),
        lambda e: {"status": {"phase": "Canceled"}},
        subresource="status",
    )
    ok = Response(200, {"metadata": {"name": "x"}})
    sent, result = drive(op, [ok, Response(409, {}), ok, ok])
    patches = [c for c in sent if c.method == "PATCH"]
    assert [p.body["metadata"]["resourceVersion"] for p in patches] == ["1", "2"]
    assert patches[0].path.endswith("/executions/x/status")
    assert result == {"metadata": {"name": "x"}}


def test_nothing_to_do_writes_nothing() -> None:
    op = patch_with_retries(EXECUTIONS, "ns", "x", "resume", read_version(["1"]), lambda e: None)
    sent, result = drive(op, [Response(200, {})])
    assert [c.method for c in sent] == ["GET"]
    assert result is None


def test_endless_conflicts_end_in_a_conflict_error_naming_the_action() -> None:
    op = patch_with_retries(
        EXECUTIONS, "ns", "x", "cancel", read_version([str(i) for i in range(9)]), lambda e: {"status": {}}
    )
    with pytest.raises(ConflictError, match=f"could not cancel execution 'x'.*{CONFLICT_RETRIES} conflicts"):
        drive(op, [Response(200, {}), Response(409, {})] * CONFLICT_RETRIES)


def test_the_patch_goes_to_the_objects_namespace_and_build_sees_the_fresh_read() -> None:
    seen: list[Any] = []

    def build(current: Any) -> dict[str, Any]:
        seen.append(current.resource_version)
        return {"spec": {}}

    op = patch_with_retries(EXECUTIONS, "team-a", "x", "retry", read_version(["4"]), build)
    sent, _ = drive(op, [Response(200, {}), Response(200, {})])
    assert seen == ["4"]
    assert sent[1].path == EXECUTIONS.path("team-a", "x")


def test_a_failed_patch_raises_the_servers_error_for_that_request() -> None:
    op = patch_with_retries(EXECUTIONS, "ns", "x", "cancel", read_version(["1"]), lambda e: {"status": {}})
    with pytest.raises(NotFoundError) as caught:
        drive(op, [Response(200, {}), Response(404, {"kind": "Status", "code": 404, "message": "gone"})])
    assert (caught.value.verb, caught.value.name, caught.value.namespace) == ("patch", "x", "ns")


def test_the_conflict_error_names_the_object() -> None:
    op = patch_with_retries(
        EXECUTIONS, "ns", "x", "cancel", read_version([str(i) for i in range(9)]), lambda e: {"status": {}}
    )
    with pytest.raises(ConflictError) as caught:
        drive(op, [Response(200, {}), Response(409, {})] * CONFLICT_RETRIES)
    error = caught.value
    assert (error.verb, error.resource, error.namespace, error.name) == (
        "patch",
        EXECUTIONS.resource,
        "ns",
        "x",
    )
