"""Child executions: labels, owner references, deterministic names, waiting, replay, child policies."""

from __future__ import annotations

import hashlib

import pytest

from support.emulator import Kontinue, labels, status


def child_name(parent: str, kind: str, step: str, attempt: int) -> str:
    return f"{parent[:45]}-{hashlib.sha256(f'{parent}/{kind}/{step}/{attempt}'.encode()).hexdigest()[:8]}"


def test_a_spawned_child_has_labels_owner_and_deterministic_name_and_its_result_reaches_the_parent(
    kontinue: Kontinue,
) -> None:
    kontinue.function("double", [{"sleep": "2s"}, {"return": "{{ args.x * 2 }}"}], group="math")
    kontinue.function(
        "caller",
        [
            {"spawn": {"function": "double", "arguments": {"x": "{{ args.x }}"}}, "as": "doubled"},
            {"return": {"doubled": "{{ results.doubled }}"}},
        ],
    )
    parent = kontinue.execution("caller", {"x": 21}, name="caller-1")
    suspended = kontinue.wait_phase("caller-1", "Suspended")
    expected = child_name("caller-1", "Execution", "0", 1)
    assert status(suspended)["reason"] == "WaitingForChild"
    assert status(suspended)["message"] == f"waiting for child execution {expected}"
    assert {"kind": "Execution", "name": expected, "step": "0", "attempt": 1} in status(suspended)["children"]
    done = kontinue.wait_phase("caller-1", "Completed")
    assert status(done)["result"] == {"doubled": 42}
    assert status(done)["resumptions"] == 1
    assert status(done)["state"]["spawn/0"] == {"value": 42}
    [child] = kontinue.children("caller-1")
    assert child["metadata"]["name"] == expected
    assert labels(child) == {
        "kontinue.cloud/function": "double",
        "kontinue.cloud/worker-group": "math",
        "kontinue.cloud/parent": "caller-1",
        "kontinue.cloud/root": "caller-1",
        "kontinue.cloud/attempt": "1",
        "kontinue.cloud/step": "0",
    }
    [owner] = child["metadata"]["ownerReferences"]
    assert owner == {
        "apiVersion": "kontinue.cloud/v1alpha1",
        "kind": "Execution",
        "name": "caller-1",
        "uid": parent["metadata"]["uid"],
        "controller": True,
        "blockOwnerDeletion": True,
    }
    assert child["spec"] == {"function": "double", "arguments": {"x": 21}}
    assert status(child)["result"] == 42


def test_grandchildren_carry_the_root_label_of_the_tree(kontinue: Kontinue) -> None:
    kontinue.function("leaf", [{"return": "leaf"}])
    kontinue.function("middle", [{"spawn": "leaf", "as": "r"}, {"return": "{{ results.r }}+middle"}])
    kontinue.function("top", [{"spawn": "middle", "as": "r"}, {"return": "{{ results.r }}+top"}])
    kontinue.execution("top", name="top-1")
    assert status(kontinue.wait_phase("top-1", "Completed"))["result"] == "leaf+middle+top"
    [middle] = kontinue.children("top-1")
    [leaf] = kontinue.children(middle["metadata"]["name"])
    assert labels(leaf)["kontinue.cloud/root"] == "top-1"
    assert labels(leaf)["kontinue.cloud/parent"] == middle["metadata"]["name"]
    assert len(kontinue.list("executions", "kontinue.cloud/root=top-1")) == 2
    assert len(kontinue.list("jobs", "kontinue.cloud/root=top-1")) == 3  # one worker job per execution


def test_a_fan_out_spawns_children_in_parallel_and_collects_their_results_in_order(
    kontinue: Kontinue,
) -> None:
    kontinue.function("square", [{"sleep": "{{ (3 - args.x) * 2 }}s"}, {"return": "{{ args.x * args.x }}"}])
    kontinue.function(
        "fan",
        [
            {"spawn": {"function": "square", "arguments": {"x": "{{ i }}"}, "count": 3}, "as": "squares"},
            {"return": {"all": "{{ results.squares }}", "sum": "{{ sum(results.squares) }}"}},
        ],
    )
    kontinue.execution("fan", name="fan-1")
    done = kontinue.wait_phase("fan-1", "Completed")
    assert status(done)["result"] == {"all": [0, 1, 4], "sum": 5}
    steps = sorted(labels(c)["kontinue.cloud/step"] for c in kontinue.children("fan-1"))
    assert steps == ["0.0", "0.1", "0.2"]
    assert status(done)["resumptions"] >= 1


def test_a_fire_and_forget_child_does_not_hold_the_parent(kontinue: Kontinue) -> None:
    kontinue.function("background", [{"suspend": {"message": "held"}}])
    kontinue.function(
        "launcher",
        [{"spawn": {"function": "background", "wait": False}, "as": "bg"}, {"return": "{{ results.bg }}"}],
    )
    kontinue.execution("launcher", name="launcher-1")
    done = kontinue.wait_phase("launcher-1", "Completed")
    [child] = kontinue.children("launcher-1")
    assert status(done)["result"] == child["metadata"]["name"]
    assert status(kontinue.wait_phase(child["metadata"]["name"], "Suspended"))["phase"] == "Suspended"


def test_a_failed_child_fails_the_waiting_parent_with_child_failed(kontinue: Kontinue) -> None:
    kontinue.function("bad-child", [{"fail": {"message": "child broke", "retryable": False}}])
    kontinue.function("waiting-parent", [{"spawn": "bad-child"}, {"return": "unreachable"}])
    kontinue.execution("waiting-parent", name="wp-1", retry={"retries": 3, "backoff": "1s"})
    done = kontinue.wait_phase("wp-1", "Failed")
    child = child_name("wp-1", "Execution", "0", 1)
    assert status(done)["reason"] == "ChildFailed"
    assert status(done)["message"] == f"child execution {child} failed: child broke"
    assert status(done)["attempt"] == 1  # ChildFailed is not retryable


def test_replaying_after_a_suspension_does_not_redo_completed_steps(kontinue: Kontinue) -> None:
    kontinue.function(
        "replayed",
        [
            {"log": "before"},
            {"id": "nap", "suspend": {"for": "2s"}},
            {"log": "after"},
            {"return": "{{ attempt }}"},
        ],
    )
    kontinue.execution("replayed", name="replayed-1")
    done = kontinue.wait_phase("replayed-1", "Completed")
    st = status(done)
    assert st["resumptions"] == 1
    assert set(st["state"]) == {"log/0", "suspend/nap", "log/2"}
    assert st["state"]["suspend/nap"]["value"]["resumedBy"] == "Timer"
    pod = st["worker"]
    assert kontinue.log(pod) == "before\nafter\n"


def _policy_functions(kontinue: Kontinue) -> None:
    kontinue.function("steady-child", [{"return": "steady"}])
    kontinue.function(
        "moody-child",
        [
            {
                "fail": {"message": "moody on parent attempt 1", "retryable": False},
                "when": "args.parentAttempt == 1",
            },
            {"return": "happy"},
        ],
    )
    kontinue.function(
        "policy-parent",
        [
            {"spawn": "steady-child", "as": "a"},
            {
                "spawn": {"function": "moody-child", "arguments": {"parentAttempt": "{{ attempt }}"}},
                "as": "b",
            },
            {"return": ["{{ results.a }}", "{{ results.b }}"]},
        ],
    )


@pytest.mark.parametrize(
    ("policy", "phase", "children"),
    [("None", "Failed", 2), ("RetryFailed", "Completed", 3), ("RetryAll", "Completed", 4)],
)
def test_a_manual_retry_reuses_or_replaces_children_per_child_policy(
    kontinue: Kontinue, policy: str, phase: str, children: int
) -> None:
    _policy_functions(kontinue)
    kontinue.execution("policy-parent", name="pp-1")
    first = kontinue.wait_phase("pp-1", "Failed")
    assert status(first)["reason"] == "ChildFailed"
    kontinue.retry("pp-1", child_policy=policy)
    done = kontinue.wait(
        "executions",
        "pp-1",
        lambda o: bool(
            o and status(o).get("attempt") == 2 and status(o).get("phase") in ("Completed", "Failed")
        ),
    )
    assert status(done)["phase"] == phase
    made = kontinue.children("pp-1")
    assert len(made) == children
    by_step_attempt = {(labels(c)["kontinue.cloud/step"], labels(c)["kontinue.cloud/attempt"]) for c in made}
    # status.children lists the children the current attempt used, the reused ones among them
    used = {(c["step"], c["attempt"]) for c in status(done)["children"] if c["kind"] == "Execution"}
    if policy == "None":
        assert status(done)["reason"] == "ChildFailed"
        assert by_step_attempt == {("0", "1"), ("1", "1")}
        assert used == {("0", 1), ("1", 1)}
    elif policy == "RetryFailed":
        assert status(done)["result"] == ["steady", "happy"]
        assert by_step_attempt == {("0", "1"), ("1", "1"), ("1", "2")}
        assert used == {("0", 1), ("1", 2)}
    else:
        assert status(done)["result"] == ["steady", "happy"]
        assert by_step_attempt == {("0", "1"), ("1", "1"), ("0", "2"), ("1", "2")}
        assert used == {("0", 2), ("1", 2)}
