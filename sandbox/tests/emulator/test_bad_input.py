"""Bad input fails the one execution it concerns, clearly, and nothing else."""

from __future__ import annotations

from typing import Any

import pytest
from kubernetes.client.exceptions import ApiException

from support.emulator import Kontinue, status


def test_a_malformed_behaviour_script_fails_its_executions_and_spares_the_others(kontinue: Kontinue) -> None:
    kontinue.function("broken", emulator={"steps": [{"log": "ok"}, {"explode": True}]})
    kontinue.function("fine", [{"return": "fine"}])
    kontinue.execution("broken", name="broken-1", retry={"retries": 2, "backoff": "1s"})
    kontinue.execution("fine", name="fine-1")
    failed = kontinue.wait_phase("broken-1", "Failed")
    st = status(failed)
    assert st["reason"] == "NonRetryableError"
    assert st["message"] == (
        "function broken has a malformed emulator behaviour script: spec.emulator.steps[1]: a step needs "
        "exactly one of log, sleep, spawn, suspend, fail, return; found explode"
    )
    assert st["attempt"] == 1
    assert status(kontinue.wait_phase("fine-1", "Completed"))["result"] == "fine"
    assert kontinue.log(st["worker"]).startswith("error: function broken has a malformed")
    assert kontinue.emulator.alive()


@pytest.mark.parametrize(
    ("script", "message"),
    [
        ({"steps": "log hello"}, "spec.emulator.steps must be a list of steps"),
        ({"steps": [{"sleep": "soon"}]}, "spec.emulator.steps[0].sleep.duration: invalid duration 'soon'"),
        ({"steps": [{"log": "{{ args. }}"}]}, "spec.emulator.steps[0].log: expected a field name"),
        ({"steps": [{"spawn": {}}]}, "spec.emulator.steps[0].spawn.function: required"),
        ({"speed": -1}, "spec.emulator.speed must be a positive number"),
        ({"steps": [{"id": "a", "log": "x"}, {"id": "a", "log": "y"}]}, "step id 'a' is used twice"),
    ],
)
def test_each_kind_of_script_error_is_named_in_the_failure(
    kontinue: Kontinue, script: dict[str, Any], message: str
) -> None:
    kontinue.function("bad", emulator=script)
    kontinue.execution("bad", name="bad-1")
    assert message in status(kontinue.wait_phase("bad-1", "Failed"))["message"]


def test_an_unknown_function_stays_pending_until_the_function_is_registered(kontinue: Kontinue) -> None:
    kontinue.execution("later", {"who": "you"}, name="later-1")
    pending = kontinue.wait(
        "executions",
        "later-1",
        lambda o: status(o).get("reason") == "FunctionNotFound",
        what="FunctionNotFound",
    )
    assert status(pending)["phase"] == "Pending"
    assert status(pending)["message"] == "function later is not registered"
    assert "startedAt" not in status(pending)
    kontinue.function(
        "later", [{"return": "hi {{ args.who }}"}], arguments=[{"name": "lang", "default": "en"}]
    )
    done = kontinue.wait_phase("later-1", "Completed")
    assert status(done)["result"] == "hi you"
    assert done["spec"]["arguments"] == {"who": "you", "lang": "en"}


def test_arguments_that_do_not_match_the_declared_ones_fail_without_retry(kontinue: Kontinue) -> None:
    kontinue.function(
        "strict",
        [{"return": 1}],
        arguments=[
            {"name": "count", "type": "integer", "required": True},
            {"name": "mode", "type": "string", "enum": ["fast", "slow"]},
            {"name": "tags", "type": "array"},
        ],
    )
    kontinue.execution("strict", {"mode": "warp", "tags": "a,b"}, name="strict-1", retry={"retries": 3})
    kontinue.execution("strict", {"count": "3"}, name="strict-2")
    kontinue.execution("strict", {"count": 3, "mode": "slow", "tags": [], "extra": True}, name="strict-3")
    one = status(kontinue.wait_phase("strict-1", "Failed"))
    assert (one["reason"], one["attempt"]) == ("NonRetryableError", 1)
    assert one["message"] == (
        "invalid arguments: argument 'count' is required; "
        "argument 'mode' must be one of fast, slow, got 'warp'; "
        "argument 'tags' must be of type array, got string"
    )
    two = status(kontinue.wait_phase("strict-2", "Failed"))
    assert two["message"] == "invalid arguments: argument 'count' must be of type integer, got string"
    assert status(kontinue.wait_phase("strict-3", "Completed"))["result"] == 1


def test_a_template_that_cannot_be_evaluated_fails_the_execution_naming_the_step(kontinue: Kontinue) -> None:
    kontinue.function("typo", [{"log": "hello {{ args.nmae }}"}])
    kontinue.function("math", [{"return": "{{ args.a / args.b }}"}])
    kontinue.execution("typo", {"name": "x"}, name="typo-1")
    kontinue.execution("math", {"a": 1, "b": 0}, name="math-1")
    typo = status(kontinue.wait_phase("typo-1", "Failed"))
    assert typo["reason"] == "NonRetryableError"
    assert typo["message"] == "step 0 (log): {{args.nmae}}: args.nmae is not defined"
    assert (
        status(kontinue.wait_phase("math-1", "Failed"))["message"] == "step 0 (return): division by zero (/)"
    )


def test_an_execution_the_api_server_refuses_never_reaches_the_emulator(kontinue: Kontinue) -> None:
    with pytest.raises(ApiException) as refused:
        kontinue.create(
            "executions",
            {
                "apiVersion": "kontinue.cloud/v1alpha1",
                "kind": "Execution",
                "metadata": {"name": "x"},
                "spec": {},
            },
        )
    assert refused.value.status == 422
    kontinue.function("alive", [{"return": True}])
    kontinue.execution("alive", name="alive-1")
    assert status(kontinue.wait_phase("alive-1", "Completed"))["result"] is True


def test_a_child_the_api_server_refuses_fails_the_parent_with_the_servers_reason(kontinue: Kontinue) -> None:
    kontinue.function("child", [{"return": 1}])
    kontinue.function("careless", [{"spawn": {"function": "child", "retry": {"retries": "many"}}}])
    kontinue.execution("careless", name="careless-1")
    failed = status(kontinue.wait_phase("careless-1", "Failed"))
    assert failed["reason"] == "NonRetryableError"
    assert failed["message"].startswith("cannot create execution careless-1-")
    assert "spec.retry.retries" in failed["message"]
    assert failed["resumptions"] == 0
