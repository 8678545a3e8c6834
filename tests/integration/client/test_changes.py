"""cancel, skip, retry and resume: preconditions on a fresh read, the writes kontinue expects, races."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    ChildPolicy,
    ExecutionPhase,
    InvalidStateError,
    RetryOptions,
    SkipOptions,
)
from tests.support.cluster import Cluster


def test_cancel_marks_a_running_execution_canceled_by_the_client(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("run", status={"phase": "Executing"})
    kontinue.cancel("run")
    status = cluster.get("executions", "run")["status"]
    assert status["phase"] == "Canceled"
    assert status["reason"] == "CanceledByClient"
    assert status["message"] == "Canceled by client"
    assert status["finishedAt"]


def test_cancel_carries_the_callers_message(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("run2")
    kontinue.cancel(kontinue.get("run2"), {"message": "aborted by the on-call"})
    assert cluster.get("executions", "run2")["status"]["message"] == "aborted by the on-call"


@pytest.mark.parametrize("phase", ["Completed", "Failed", "Canceled", "Skipped"])
def test_cancel_and_skip_refuse_an_execution_that_already_ended(
    kontinue: Any, cluster: Cluster, phase: str
) -> None:
    cluster.execution("ended", status={"phase": phase})
    with pytest.raises(InvalidStateError, match=f"already ended \\({phase}\\)"):
        kontinue.cancel("ended")
    with pytest.raises(InvalidStateError):
        kontinue.skip("ended")
    assert cluster.get("executions", "ended")["status"]["phase"] == phase


def test_cancel_of_an_archived_execution_is_refused(kontinue: Any, cluster: Cluster) -> None:
    cluster.archive(cluster.execution("arch", status={"phase": "Completed"}))
    with pytest.raises(InvalidStateError, match="archived"):
        kontinue.cancel("arch")


def test_skip_hands_the_result_to_the_parent(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("skippable", status={"phase": "Suspended"})
    kontinue.skip("skippable", SkipOptions(message="maintenance", result={"status": "skipped"}))
    status = cluster.get("executions", "skippable")["status"]
    assert (status["phase"], status["reason"], status["message"]) == (
        "Skipped",
        "SkippedByClient",
        "maintenance",
    )
    assert status["result"] == {"status": "skipped"}
    assert kontinue.parse_result(kontinue.get("skippable")) == {"status": "skipped"}


@pytest.mark.parametrize("phase", ["Failed", "Canceled"])
def test_retry_adds_one_retry_and_sets_the_child_policy(kontinue: Any, cluster: Cluster, phase: str) -> None:
    cluster.execution("again", retry={"retries": 2}, status={"phase": phase})
    generation = cluster.get("executions", "again")["metadata"]["generation"]
    kontinue.retry_execution("again", RetryOptions(child_policy=ChildPolicy.RETRY_FAILED))
    stored = cluster.get("executions", "again")
    assert stored["spec"]["retry"]["retries"] == 3
    assert stored["spec"]["retry"]["childPolicy"] == "RetryFailed"
    assert stored["metadata"]["generation"] == generation + 1


def test_retry_without_a_retry_block_creates_one(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("first-retry", status={"phase": "Failed"})
    kontinue.retry_execution("first-retry")
    assert cluster.get("executions", "first-retry")["spec"]["retry"]["retries"] == 1


@pytest.mark.parametrize("phase", [None, "Executing", "Completed", "Skipped"])
def test_retry_of_an_execution_that_did_not_fail_is_refused(
    kontinue: Any, cluster: Cluster, phase: str | None
) -> None:
    cluster.execution("fine", status={"phase": phase} if phase else None)
    with pytest.raises(InvalidStateError, match="only Failed or Canceled"):
        kontinue.retry_execution("fine")
    assert "retry" not in cluster.get("executions", "fine")["spec"]


def test_resume_suspension_completes_it_once(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("waiting", status={"phase": "Suspended"})
    cluster.suspension("approval", "waiting", "waiting")
    assert kontinue.get_suspension("approval").phase == "Suspended"
    assert kontinue.resume_suspension("approval") is True
    status = cluster.get("suspensions", "approval")["status"]
    assert (status["phase"], status["resumedBy"]) == ("Completed", "Client")
    assert kontinue.resume_suspension(kontinue.get_suspension("approval")) is False


def test_resume_of_a_canceled_suspension_is_refused(kontinue: Any, cluster: Cluster) -> None:
    cluster.suspension("dead", "x", "x", phase="Canceled")
    with pytest.raises(InvalidStateError, match="Canceled"):
        kontinue.resume_suspension("dead")


def test_resume_execution_resumes_direct_or_all_descendant_suspensions(
    kontinue: Any, cluster: Cluster
) -> None:
    cluster.execution("top")
    cluster.child("mid", "top", "top")
    cluster.suspension("top-s", "top", "top")
    cluster.suspension("mid-s", "mid", "top")
    cluster.suspension("top-done", "top", "top", phase="Completed")
    assert kontinue.resume_execution("top") == ["top-s"]
    assert cluster.get("suspensions", "mid-s")["status"]["phase"] == "Suspended"
    assert kontinue.resume_execution("top", {"recursive": True}) == ["mid-s"]
    assert kontinue.resume_execution("top", {"recursive": True}) == []


def test_two_racing_resumes_resume_once(mode: str, kontinue: Any, cluster: Cluster) -> None:
    cluster.suspension("contended", "p", "p")
    results: list[bool] = []
    barrier = threading.Barrier(2)

    def resume() -> None:
        barrier.wait()
        results.append(kontinue.resume_suspension("contended"))

    threads = [threading.Thread(target=resume, daemon=True) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(results) == [False, True]


def test_two_racing_cancels_cancel_once(kontinue: Any, cluster: Cluster) -> None:
    cluster.execution("doomed", status={"phase": "Executing"})
    outcomes: list[str] = []
    barrier = threading.Barrier(2)

    def cancel() -> None:
        barrier.wait()
        try:
            kontinue.cancel("doomed", {"message": threading.current_thread().name})
            outcomes.append("canceled")
        except InvalidStateError:
            outcomes.append("refused")

    threads = [threading.Thread(target=cancel, name=f"t{i}", daemon=True) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(outcomes) == ["canceled", "refused"]
    assert cluster.get("executions", "doomed")["status"]["phase"] == ExecutionPhase.CANCELED.value
