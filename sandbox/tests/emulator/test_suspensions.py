"""Suspensions (spec §5): Manual ones wait for a client, Sleep ones end at resumeAt."""

from __future__ import annotations

import hashlib

import pytest
from kubernetes.client.exceptions import ApiException

from support.emulator import Kontinue, labels, parse_time, status


def suspension_of(kontinue: Kontinue, execution: str) -> dict:  # type: ignore[type-arg]
    found = kontinue.wait_list(
        "suspensions",
        lambda objects: len(objects) == 1,
        selector=f"kontinue.cloud/parent={execution}",
        what=f"the suspension of {execution}",
    )
    return next(iter(found.values()))


def test_a_manual_suspension_holds_the_execution_suspended_until_a_client_resumes_it(
    kontinue: Kontinue,
) -> None:
    kontinue.function(
        "approve",
        [
            {"log": "asking"},
            {"id": "gate", "suspend": {"message": "waiting for {{ args.who }}", "displayName": "Approval"}},
            {"log": "approved"},
            {"return": "shipped"},
        ],
    )
    kontinue.execution("approve", {"who": "alice"}, name="approve-1")
    suspended = kontinue.wait_phase("approve-1", "Suspended")
    assert status(suspended)["reason"] == "WaitingForChild"
    assert status(suspended)["message"] == "waiting for alice"
    suspension = suspension_of(kontinue, "approve-1")
    name = suspension["metadata"]["name"]
    digest = hashlib.sha256(b"approve-1/Suspension/gate/1").hexdigest()[:8]
    assert name == f"approve-1-{digest}"
    assert suspension["spec"] == {"type": "Manual", "message": "waiting for alice"}
    assert suspension["metadata"]["annotations"]["kontinue.cloud/display-name"] == "Approval"
    assert labels(suspension) == {
        "kontinue.cloud/parent": "approve-1",
        "kontinue.cloud/root": "approve-1",
        "kontinue.cloud/worker-group": "default",
        "kontinue.cloud/attempt": "1",
        "kontinue.cloud/step": "gate",
    }
    assert suspension["metadata"]["ownerReferences"][0]["name"] == "approve-1"
    kontinue.wait(
        "suspensions", name, lambda s: status(s).get("phase") == "Suspended", what="phase Suspended"
    )
    assert {"kind": "Suspension", "name": name, "step": "gate", "attempt": 1} in status(suspended)["children"]
    # it stays suspended: nothing happens until a client resumes it
    assert status(kontinue.get("executions", "approve-1"))["phase"] == "Suspended"
    kontinue.resume(name)
    done = kontinue.wait_phase("approve-1", "Completed")
    assert status(done)["result"] == "shipped"
    assert kontinue.log(status(done)["worker"]) == "asking\napproved\n"


def test_resuming_a_manual_suspension_continues_the_execution(kontinue: Kontinue) -> None:
    kontinue.function(
        "gated",
        [
            {"log": "asking"},
            {"suspend": "approve me", "as": "approval"},
            {"return": "{{ results.approval.resumedBy }}"},
        ],
    )
    kontinue.execution("gated", name="gated-1")
    kontinue.wait_phase("gated-1", "Suspended")
    suspension = suspension_of(kontinue, "gated-1")
    resumed = kontinue.resume(suspension["metadata"]["name"])
    with kontinue.phases("gated-1") as seen:
        done = kontinue.wait_phase("gated-1", "Completed")
    assert seen[-2:] == ["Executing", "Completed"] or seen[-1:] == ["Completed"]
    st = status(done)
    assert st["result"] == "Client"
    assert st["resumptions"] == 1
    assert parse_time(st["lastResumedAt"]) >= parse_time(status(resumed)["resumedAt"])
    after = kontinue.get("suspensions", suspension["metadata"]["name"])
    assert status(after)["phase"] == "Completed"
    assert status(after)["resumedBy"] == "Client"
    assert kontinue.log(st["worker"]) == "asking\n"


def test_a_sleep_suspension_completes_by_timer_at_resume_at(kontinue: Kontinue) -> None:
    kontinue.function(
        "napper", [{"suspend": {"for": "20s"}, "as": "nap"}, {"return": "{{ results.nap.resumedBy }}"}]
    )
    kontinue.execution("napper", name="napper-1")
    suspended = kontinue.wait_phase("napper-1", "Suspended")
    suspension = suspension_of(kontinue, "napper-1")
    assert suspension["spec"]["type"] == "Sleep"
    resume_at = parse_time(suspension["spec"]["resumeAt"])
    assert status(suspended)["message"] == f"sleeping until {suspension['spec']['resumeAt']}"
    done = kontinue.wait_phase("napper-1", "Completed")
    assert status(done)["result"] == "Timer"
    after = kontinue.get("suspensions", suspension["metadata"]["name"])
    assert status(after)["resumedBy"] == "Timer"
    assert parse_time(status(after)["resumedAt"]) >= resume_at
    slept = (resume_at - parse_time(suspension["metadata"]["creationTimestamp"])).total_seconds()
    assert 0 <= slept <= 2.0  # 20 s at speed 20, against a second-precision creationTimestamp


def test_a_client_may_end_a_sleep_early(kontinue: Kontinue) -> None:
    kontinue.function("long-nap", [{"suspend": {"for": "24h"}}, {"return": "early"}])
    kontinue.execution("long-nap", name="long-nap-1")
    kontinue.wait_phase("long-nap-1", "Suspended")
    kontinue.resume(suspension_of(kontinue, "long-nap-1")["metadata"]["name"])
    assert status(kontinue.wait_phase("long-nap-1", "Completed"))["result"] == "early"


def test_resuming_a_suspension_that_does_not_exist_is_refused_and_changes_nothing(kontinue: Kontinue) -> None:
    kontinue.function("still-waiting", [{"suspend": "hold"}])
    kontinue.execution("still-waiting", name="still-1")
    kontinue.wait_phase("still-1", "Suspended")
    with pytest.raises(ApiException) as refused:
        kontinue.resume("no-such-suspension")
    assert refused.value.status == 404
    assert status(kontinue.get("executions", "still-1"))["phase"] == "Suspended"
    assert kontinue.emulator.alive()
