"""cancel, skip, retry and resume as protocols: what each checks on a fresh read, and what it writes."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    CancelOptions,
    ChildPolicy,
    ConflictError,
    InvalidStateError,
    RetryOptions,
    SkipOptions,
)
from airflow_provider_kontinue.client.constants import (
    ANNOTATION_ARCHIVED,
    DEFAULT_CANCEL_MESSAGE,
    LABEL_PARENT,
    LABEL_ROOT,
)
from airflow_provider_kontinue.client.executions import cancel, retry, skip
from airflow_provider_kontinue.client.protocol import Call, Op, Response
from airflow_provider_kontinue.client.resources import EXECUTIONS, SUSPENSIONS
from airflow_provider_kontinue.client.suspensions import resume_execution, resume_suspension
from airflow_provider_kontinue.client.timestamps import parse_timestamp

Server = Callable[[Call], Response]


def drive(op: Op[Any], server: Server) -> tuple[list[Call], Any]:
    """Answer every request of ``op`` with ``server``; the requests and the return value."""
    sent: list[Call] = []
    try:
        command = next(op)
        while True:
            assert isinstance(command, Call), command
            sent.append(command)
            command = op.send(server(command))
    except StopIteration as stop:
        return sent, stop.value


def execution(name: str = "run", phase: str | None = "Executing", **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "ns", "resourceVersion": "7", **extra.pop("metadata", {})},
        "spec": {"function": "f", **extra.pop("spec", {})},
    }
    if phase:
        body["status"] = {"phase": phase}
    return body


def merge(base: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    """A JSON merge patch applied to ``base``."""
    merged = dict(base)
    for key, value in patch.items():
        old = merged.get(key)
        merged[key] = merge(old, value) if isinstance(old, dict) and isinstance(value, dict) else value
    return merged


def echo(read: dict[str, Any]) -> Server:
    """A server whose GET answers ``read`` and whose PATCH answers the patch applied to it."""

    def answer(request: Call) -> Response:
        if request.method == "GET":
            return Response(200, read)
        return Response(200, merge(read, {k: v for k, v in request.body.items() if k != "metadata"}))

    return answer


def patches(sent: list[Call]) -> list[Call]:
    return [c for c in sent if c.method == "PATCH"]


def _recent(stamp: str) -> bool:
    return abs(parse_timestamp(stamp) - datetime.now(timezone.utc)) < timedelta(seconds=60)


@pytest.mark.parametrize("phase", ["Completed", "Failed", "Canceled", "Skipped"])
def test_cancel_and_skip_refuse_an_execution_that_already_ended(phase: str) -> None:
    for action, op in (
        ("cancel", cancel("ns", "run", CancelOptions())),
        ("skip", skip("ns", "run", SkipOptions())),
    ):
        with pytest.raises(
            InvalidStateError, match=rf"cannot {action} execution 'run': it already ended \({phase}\)"
        ) as err:
            drive(op, echo(execution(phase=phase)))
        assert err.value.name == "run"
        assert err.value.namespace == "ns"
        assert err.value.verb == "patch"
        assert err.value.resource == EXECUTIONS.resource


@pytest.mark.parametrize("op", [cancel, skip])
def test_an_archived_execution_cannot_be_changed(op: Callable[..., Op[Any]]) -> None:
    archived = execution(metadata={"annotations": {ANNOTATION_ARCHIVED: "true"}})
    options = CancelOptions() if op is cancel else SkipOptions()
    action = "cancel" if op is cancel else "skip"
    with pytest.raises(InvalidStateError, match=rf"cannot {action} execution 'run': it is archived") as err:
        drive(op("ns", "run", options), echo(archived))
    assert (err.value.name, err.value.namespace, err.value.verb) == ("run", "ns", "patch")
    assert err.value.resource == EXECUTIONS.resource


def test_an_archived_annotation_other_than_true_does_not_block_a_cancel() -> None:
    read = execution(metadata={"annotations": {ANNOTATION_ARCHIVED: "false"}})
    sent, _ = drive(cancel("ns", "run", CancelOptions()), echo(read))
    assert len(patches(sent)) == 1


def test_cancel_writes_the_canceled_status_with_its_reason_message_and_time() -> None:
    sent, result = drive(cancel("ns", "run", CancelOptions(message="stop it")), echo(execution()))
    assert sent[0].method == "GET"
    assert sent[0].path == EXECUTIONS.path("ns", "run")  # the fresh read is of that execution
    (patch,) = patches(sent)
    assert patch.path.endswith("/namespaces/ns/executions/run/status")
    status = patch.body["status"]
    assert status["phase"] == "Canceled"
    assert status["reason"] == "CanceledByClient"
    assert status["message"] == "stop it"
    assert _recent(status["finishedAt"])
    assert patch.body["metadata"] == {"resourceVersion": "7"}
    assert result.phase == "Canceled"
    assert result.name == "run"


def test_cancel_without_a_message_records_the_default_one() -> None:
    options = CancelOptions()
    sent, _ = drive(cancel("ns", "run", options), echo(execution()))
    assert patches(sent)[0].body["status"]["message"] == DEFAULT_CANCEL_MESSAGE


def test_skip_writes_the_skipped_status_with_the_result_for_the_parent() -> None:
    options = SkipOptions(message="not needed", result={"rows": 0})
    sent, result = drive(skip("ns", "run", options), echo(execution()))
    (patch,) = patches(sent)
    assert patch.path.endswith("/executions/run/status")
    status = patch.body["status"]
    assert status["phase"] == "Skipped"
    assert status["reason"] == "SkippedByClient"
    assert status["message"] == "not needed"
    assert status["result"] == {"rows": 0}
    assert _recent(status["finishedAt"])
    assert result.phase == "Skipped"


@pytest.mark.parametrize("phase", ["Executing", "Completed", "Skipped", None])
def test_retry_refuses_anything_but_failed_or_canceled(phase: str | None) -> None:
    with pytest.raises(InvalidStateError, match="only Failed or Canceled executions can be retried") as err:
        drive(retry("ns", "run", RetryOptions()), echo(execution(phase=phase)))
    assert (err.value.name, err.value.namespace, err.value.verb) == ("run", "ns", "patch")
    assert err.value.resource == EXECUTIONS.resource
    assert "'run'" in str(err.value)


@pytest.mark.parametrize("phase", ["Failed", "Canceled"])
def test_retry_allows_one_more_retry_than_the_spec_had(phase: str) -> None:
    read = execution(phase=phase, spec={"retry": {"retries": 2}})
    sent, _ = drive(retry("ns", "run", RetryOptions()), echo(read))
    (patch,) = patches(sent)
    assert patch.path.endswith("/executions/run")  # the spec, not the status subresource
    assert patch.body["spec"] == {"retry": {"retries": 3}}


def test_retry_of_an_execution_without_a_retry_spec_allows_exactly_one() -> None:
    sent, _ = drive(retry("ns", "run", RetryOptions()), echo(execution(phase="Failed")))
    assert patches(sent)[0].body["spec"] == {"retry": {"retries": 1}}


def test_retry_with_a_retry_spec_but_no_count_allows_exactly_one() -> None:
    read = execution(phase="Failed", spec={"retry": {"childPolicy": "RetryAll"}})
    sent, _ = drive(retry("ns", "run", RetryOptions()), echo(read))
    assert patches(sent)[0].body["spec"]["retry"]["retries"] == 1


def test_retry_passes_the_child_policy_when_one_is_given() -> None:
    options = RetryOptions(child_policy=ChildPolicy.RETRY_FAILED)
    sent, result = drive(retry("ns", "run", options), echo(execution(phase="Failed")))
    assert patches(sent)[0].body["spec"]["retry"] == {"retries": 1, "childPolicy": "RetryFailed"}
    assert result.name == "run"


# -- resume ----------------------------------------------------------------------------------------


def suspension(name: str, phase: str, parent: str = "run") -> dict[str, Any]:
    return {
        "metadata": {
            "name": name,
            "namespace": "ns",
            "resourceVersion": "3",
            "labels": {LABEL_PARENT: parent},
        },
        "spec": {"type": "Signal"},
        "status": {"phase": phase},
    }


def test_resuming_a_waiting_suspension_completes_it_as_resumed_by_the_client() -> None:
    sent, resumed = drive(resume_suspension("ns", "wait-1"), echo(suspension("wait-1", "Suspended")))
    assert resumed is True
    (patch,) = patches(sent)
    assert patch.path.endswith("/namespaces/ns/suspensions/wait-1/status")
    status = patch.body["status"]
    assert status["phase"] == "Completed"
    assert status["resumedBy"] == "Client"
    assert status["message"] == "Resumed by client"
    assert _recent(status["resumedAt"])
    assert patch.body["metadata"] == {"resourceVersion": "3"}


def test_resuming_an_already_resumed_suspension_writes_nothing_and_says_false() -> None:
    sent, resumed = drive(resume_suspension("ns", "wait-1"), echo(suspension("wait-1", "Completed")))
    assert resumed is False
    assert patches(sent) == []


def test_a_canceled_suspension_cannot_be_resumed() -> None:
    with pytest.raises(InvalidStateError, match=r"cannot resume suspension 'wait-1': it is Canceled") as err:
        drive(resume_suspension("ns", "wait-1"), echo(suspension("wait-1", "Canceled")))
    assert (err.value.name, err.value.namespace, err.value.verb) == ("wait-1", "ns", "patch")
    assert err.value.resource == SUSPENSIONS.resource


def tree_server(executions: list[dict[str, Any]], suspensions: list[dict[str, Any]]) -> Server:
    """Executions and suspensions by name; lists filter nothing (the operation must check)."""
    by_name = {s["metadata"]["name"]: s for s in suspensions}

    def answer(request: Call) -> Response:
        if request.method == "PATCH":
            name = request.path.rsplit("/", 2)[-2]
            return Response(200, {**by_name[name], "status": {"phase": "Completed"}})
        if "/suspensions/" in request.path:
            return Response(200, by_name[request.path.rsplit("/", 1)[-1]])
        if request.path.endswith("/suspensions"):
            return Response(200, {"items": suspensions})
        if request.path.endswith("/executions"):
            return Response(200, {"items": executions})
        return Response(200, executions[0])

    return answer


def test_resume_execution_resumes_only_its_own_waiting_suspensions() -> None:
    root = execution("run")
    suspensions = [
        suspension("b-wait", "Suspended"),
        suspension("a-wait", "Suspended"),
        suspension("done", "Completed"),
        suspension("other", "Suspended", parent="someone-else"),
    ]
    sent, resumed = drive(resume_execution("ns", "run", False), tree_server([root], suspensions))
    assert resumed == ["a-wait", "b-wait"]  # sorted, and only the waiting ones of this execution
    lists = [c for c in sent if c.method == "GET" and c.path.endswith("/suspensions")]
    assert lists[0].query["labelSelector"] == f"{LABEL_PARENT}=run"


def test_resume_execution_recursively_walks_the_whole_subtree_from_its_root() -> None:
    labels = {LABEL_ROOT: "root"}
    root = execution("root")
    child = execution("child", metadata={"labels": {**labels, LABEL_PARENT: "root"}})
    grandchild = execution("grandchild", metadata={"labels": {**labels, LABEL_PARENT: "child"}})
    cousin = execution("cousin", metadata={"labels": {**labels, LABEL_PARENT: "root"}})
    suspensions = [
        suspension("s-child", "Suspended", parent="child"),
        suspension("s-grandchild", "Suspended", parent="grandchild"),
        suspension("s-cousin", "Suspended", parent="cousin"),
    ]
    server = tree_server([child, root, grandchild, cousin], suspensions)

    def answer(request: Call) -> Response:
        if request.method == "GET" and request.path.endswith("/executions/child"):
            return Response(200, child)
        return server(request)

    sent, resumed = drive(resume_execution("ns", "child", True), answer)
    assert resumed == ["s-child", "s-grandchild"]
    selectors = [c.query.get("labelSelector") for c in sent if c.method == "GET" and "limit" not in c.query]
    assert f"{LABEL_ROOT}=root" in selectors


def test_resume_execution_recursively_from_a_root_uses_its_own_name_as_the_root() -> None:
    root = execution("root")
    child = execution("child", metadata={"labels": {LABEL_ROOT: "root", LABEL_PARENT: "root"}})
    suspensions = [
        suspension("s-root", "Suspended", parent="root"),
        suspension("s-child", "Suspended", "child"),
    ]
    sent, resumed = drive(resume_execution("ns", "root", True), tree_server([root, child], suspensions))
    assert resumed == ["s-child", "s-root"]
    listed = [c.query.get("labelSelector") for c in sent if c.path.endswith(("/executions", "/suspensions"))]
    assert listed == [f"{LABEL_ROOT}=root", f"{LABEL_ROOT}=root"]


def test_resume_execution_leaves_out_a_suspension_someone_else_resumed_first() -> None:
    waiting = [suspension("a", "Suspended"), suspension("b", "Suspended")]
    server = tree_server([execution("run")], waiting)

    def answer(request: Call) -> Response:
        if request.method == "GET" and request.path.endswith("/suspensions/a"):
            return Response(200, suspension("a", "Completed"))  # resumed meanwhile
        return server(request)

    _, resumed = drive(resume_execution("ns", "run", False), answer)
    assert resumed == ["b"]


@pytest.mark.parametrize(
    ("action", "make"),
    [
        ("cancel", lambda: cancel("ns", "run", CancelOptions())),
        ("skip", lambda: skip("ns", "run", SkipOptions())),
        ("retry", lambda: retry("ns", "run", RetryOptions())),
        ("resume", lambda: resume_suspension("ns", "run")),
    ],
)
def test_endless_conflicts_name_the_action(action: str, make: Callable[[], Op[Any]]) -> None:
    read = {**suspension("run", "Suspended"), "spec": {"function": "f", "type": "Signal"}}
    read["status"] = {"phase": "Failed" if action == "retry" else "Suspended"}

    def conflict(request: Call) -> Response:
        return Response(200, read) if request.method == "GET" else Response(409, {})

    with pytest.raises(ConflictError, match=rf"^could not {action} "):
        drive(make(), conflict)


def test_every_request_of_a_recursive_resume_stays_in_the_namespace() -> None:
    labels = {LABEL_ROOT: "root"}
    tree = [
        execution("root"),
        execution("a", metadata={"labels": {**labels, LABEL_PARENT: "root"}}),
        execution("b", metadata={"labels": {**labels, LABEL_PARENT: "a"}}),
        execution("c", metadata={"labels": {**labels, LABEL_PARENT: "b"}}),
    ]
    waiting = [suspension("s-c", "Suspended", parent="c")]
    sent, resumed = drive(resume_execution("ns", "root", True), tree_server(tree, waiting))
    assert resumed == ["s-c"]  # three levels down
    assert {c.namespace for c in sent} == {"ns"}


def test_lists_without_items_resume_nothing() -> None:
    def empty(request: Call) -> Response:
        return Response(200, {}) if not request.path.endswith("/run") else Response(200, execution("run"))

    assert drive(resume_execution("ns", "run", True), empty)[1] == []
    assert drive(resume_execution("ns", "run", False), empty)[1] == []
