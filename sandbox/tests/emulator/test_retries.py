"""Failed attempts, backoff, retries, timeouts and manual retries (spec §3.4, §3.6)."""

from __future__ import annotations

from support.emulator import Kontinue, Obj, parse_time, status

FLAKY: list[Obj] = [
    {"log": "attempt {{ attempt }}"},
    {"fail": {"message": "transient failure on attempt {{ attempt }}", "firstAttempts": 1}},
    {"return": "ok on attempt {{ attempt }}"},
]


def test_a_failed_attempt_backs_off_then_a_new_attempt_succeeds(kontinue: Kontinue) -> None:
    kontinue.function("flaky", FLAKY)
    kontinue.execution("flaky", name="flaky-1", retry={"retries": 2, "backoff": "10s"})
    with kontinue.phases("flaky-1") as seen:
        backing_off = kontinue.wait_phase("flaky-1", "Backoff")
        done = kontinue.wait_phase("flaky-1", "Completed")
    assert seen == ["Pending", "Executing", "Backoff", "Pending", "Executing", "Completed"]
    backoff_status = status(backing_off)
    assert backoff_status["reason"] == "Error"
    assert backoff_status["message"] == "transient failure on attempt 1"
    assert "finishedAt" not in backoff_status
    next_at = parse_time(backoff_status["nextAttemptAt"])
    st = status(done)
    assert st["attempt"] == 2
    assert st["result"] == "ok on attempt 2"
    assert st["resumptions"] == 1
    [record] = st["attempts"]
    assert record["attempt"] == 1
    assert (record["phase"], record["reason"], record["message"]) == (
        "Failed",
        "Error",
        "transient failure on attempt 1",
    )
    failed_at = parse_time(record["finishedAt"])
    assert abs((next_at - failed_at).total_seconds() - 10 / 20) < 0.01  # 10s backoff at speed 20
    assert parse_time(st["attemptStartedAt"]) >= next_at.replace(microsecond=0)
    assert record["startedAt"] == st["startedAt"]
    assert [c["kind"] for c in st["children"]] == ["Job"]
    assert st["children"][0]["attempt"] == 2
    first_job = kontinue.wait(
        "jobs",
        kontinue.worker_job("flaky-1", attempt=1)["metadata"]["name"],
        lambda j: any(c["type"] == "Failed" for c in ((j or {}).get("status") or {}).get("conditions") or []),
    )
    assert first_job["status"]["failed"] == 1
    assert {c["type"] for c in first_job["status"]["conditions"]} == {"FailureTarget", "Failed"}
    second_pod = kontinue.worker_pod(kontinue.worker_job("flaky-1", attempt=2))["metadata"]["name"]
    assert kontinue.log(second_pod) == "attempt 2\n"


def test_when_retries_run_out_the_execution_fails_with_the_last_error(kontinue: Kontinue) -> None:
    kontinue.function("doomed", [{"fail": "broken on attempt {{ attempt }}"}])
    kontinue.execution("doomed", name="doomed-1", retry={"retries": 1, "backoff": "1s"})
    done = kontinue.wait_phase("doomed-1", "Failed")
    st = status(done)
    assert (st["reason"], st["message"], st["attempt"]) == ("Error", "broken on attempt 2", 2)
    assert [a["message"] for a in st["attempts"]] == ["broken on attempt 1"]
    assert "finishedAt" in st


def test_a_non_retryable_error_fails_at_once_despite_retries(kontinue: Kontinue) -> None:
    kontinue.function("fatal", [{"fail": {"message": "bad config", "retryable": False}}])
    kontinue.execution("fatal", name="fatal-1", retry={"retries": 3, "backoff": "1s"})
    done = kontinue.wait_phase("fatal-1", "Failed")
    st = status(done)
    assert (st["reason"], st["message"], st["attempt"]) == ("NonRetryableError", "bad config", 1)
    assert "attempts" not in st


def test_an_attempt_timeout_is_a_retryable_failure(kontinue: Kontinue) -> None:
    kontinue.function("slow", [{"log": "start"}, {"sleep": "10m"}, {"return": 1}])
    kontinue.execution(
        "slow", name="slow-1", timeout={"attempt": "4s"}, retry={"retries": 1, "backoff": "1s"}
    )  # 4s at speed 20: 200 ms per attempt
    done = kontinue.wait_phase("slow-1", "Failed", timeout=20)
    st = status(done)
    assert (st["reason"], st["attempt"]) == ("AttemptTimeout", 2)
    assert st["message"] == "attempt 2 exceeded its timeout of 4s"
    assert [(a["phase"], a["reason"]) for a in st["attempts"]] == [("Failed", "AttemptTimeout")]
    elapsed = (parse_time(st["finishedAt"]) - parse_time(st["lastResumedAt"])).total_seconds()
    assert 0.2 <= elapsed < 2.0


def test_time_spent_suspended_does_not_count_against_the_attempt_timeout(kontinue: Kontinue) -> None:
    kontinue.function("patient", [{"suspend": {"for": "20s"}}, {"return": "woke"}])  # 1 s at speed 20
    kontinue.execution("patient", name="patient-1", timeout={"attempt": "6s"})  # 300 ms
    done = kontinue.wait_phase("patient-1", "Completed", "Failed")
    assert status(done)["phase"] == "Completed", status(done)
    assert status(done)["resumptions"] == 1


def test_manual_retry_of_a_failed_execution_runs_a_new_attempt(kontinue: Kontinue) -> None:
    kontinue.function("fix-me", FLAKY)
    kontinue.execution("fix-me", name="fix-me-1")
    failed = kontinue.wait_phase("fix-me-1", "Failed")
    assert status(failed)["attempt"] == 1
    kontinue.retry("fix-me-1")
    done = kontinue.wait_phase("fix-me-1", "Completed")
    st = status(done)
    assert st["attempt"] == 2
    assert st["result"] == "ok on attempt 2"
    assert st["observedGeneration"] == done["metadata"]["generation"]
    [record] = st["attempts"]
    assert (record["phase"], record["reason"]) == ("Failed", "Error")
    assert record["finishedAt"] == status(failed)["finishedAt"]
    assert parse_time(st["startedAt"]) > parse_time(status(failed)["startedAt"])  # cleared, then set again
    assert st["resumptions"] == 0


def test_an_unrelated_spec_edit_of_a_finished_execution_is_not_a_retry(kontinue: Kontinue) -> None:
    kontinue.function("steady", [{"fail": {"message": "no", "retryable": False}}])
    kontinue.execution("steady", name="steady-1", retry={"retries": 0})
    kontinue.wait_phase("steady-1", "Failed")
    kontinue.custom.patch_namespaced_custom_object(
        "kontinue.cloud",
        "v1alpha1",
        kontinue.namespace,
        "executions",
        "steady-1",
        {"spec": {"arguments": {"x": 1}}},
    )
    observed = kontinue.wait(
        "executions",
        "steady-1",
        lambda o: bool(o and status(o).get("observedGeneration") == o["metadata"]["generation"]),
    )
    assert status(observed)["phase"] == "Failed"
    assert status(observed)["attempt"] == 1


def test_the_overall_timeout_fails_the_execution_even_while_suspended_and_cancels_its_descendants(
    kontinue: Kontinue,
) -> None:
    kontinue.function("hold", [{"suspend": "forever"}])
    kontinue.function("bounded", [{"spawn": "hold"}, {"return": "never"}])
    kontinue.execution(
        "bounded", name="bounded-1", timeout={"overall": "10s"}, retry={"retries": 3}
    )  # 500 ms at speed 20
    kontinue.wait_phase("bounded-1", "Suspended")
    done = kontinue.wait_phase("bounded-1", "Failed")
    st = status(done)
    assert (st["reason"], st["message"], st["attempt"]) == (
        "OverallTimeout",
        "execution exceeded its overall timeout of 10s",
        1,
    )
    assert 0.5 <= (parse_time(st["finishedAt"]) - parse_time(st["startedAt"])).total_seconds() < 3
    [child] = kontinue.children("bounded-1")
    canceled = status(kontinue.wait_phase(child["metadata"]["name"], "Canceled"))
    assert canceled["reason"] == "ParentCanceled"
    assert canceled["message"] == "parent execution bounded-1 was failed (overall timeout)"
    [suspension] = kontinue.children(child["metadata"]["name"], "suspensions")
    kontinue.wait(
        "suspensions", suspension["metadata"]["name"], lambda s: status(s).get("phase") == "Canceled"
    )


def test_skipping_a_running_execution_stops_its_attempt_and_keeps_the_given_result(
    kontinue: Kontinue,
) -> None:
    kontinue.function("grinding", [{"log": "grinding"}, {"sleep": "1h"}, {"return": "late"}])
    kontinue.execution("grinding", name="grinding-1")
    running = status(kontinue.wait_phase("grinding-1", "Executing"))
    kontinue.skip("grinding-1", {"skipped": True})
    pod = kontinue.wait(
        "pods", running["worker"], lambda p: status(p).get("phase") == "Failed", what="pod ended"
    )
    assert pod["status"]["containerStatuses"][0]["state"]["terminated"]["exitCode"] == 137
    final = status(kontinue.get("executions", "grinding-1"))
    assert (final["phase"], final["reason"], final["result"]) == (
        "Skipped",
        "SkippedByClient",
        {"skipped": True},
    )
