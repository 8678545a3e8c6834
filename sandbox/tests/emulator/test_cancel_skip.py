"""Cancel and skip requested by a client (spec §3.7): honoured, and propagated down the tree."""

from __future__ import annotations

from support.emulator import Kontinue, Obj, status


def _tree(kontinue: Kontinue) -> None:
    kontinue.function("busy", [{"log": "working"}, {"sleep": "1h"}])
    kontinue.function("held", [{"suspend": "hold"}])
    kontinue.function(
        "tree",
        [
            {"spawn": {"function": "busy", "wait": False}},
            {"spawn": "held"},
            {"return": "never"},
        ],
    )


def test_cancel_by_a_client_cancels_every_descendant_and_suspends_their_jobs(kontinue: Kontinue) -> None:
    _tree(kontinue)
    kontinue.execution("tree", name="tree-1")
    kontinue.wait_phase("tree-1", "Suspended")
    busy: Obj
    held: Obj
    busy, held = sorted(
        kontinue.children("tree-1"), key=lambda c: c["metadata"]["labels"]["kontinue.cloud/step"]
    )
    busy_name, held_name = busy["metadata"]["name"], held["metadata"]["name"]
    kontinue.wait_phase(busy_name, "Executing")
    kontinue.wait_phase(held_name, "Suspended")
    kontinue.cancel("tree-1", "stop it")
    for child in (busy_name, held_name):
        canceled = kontinue.wait_phase(child, "Canceled")
        assert status(canceled)["reason"] == "ParentCanceled"
        assert status(canceled)["message"] == "parent execution tree-1 was canceled"
        assert "finishedAt" in status(canceled)
    [suspension] = kontinue.children(held_name, "suspensions")
    suspension = kontinue.wait(
        "suspensions", suspension["metadata"]["name"], lambda s: status(s).get("phase") == "Canceled"
    )
    assert status(suspension)["message"] == f"parent execution {held_name} was canceled"
    job = kontinue.wait(
        "jobs",
        kontinue.worker_job(busy_name)["metadata"]["name"],
        lambda j: bool(j and j["spec"].get("suspend") and status(j).get("conditions")),
    )
    assert [c["type"] for c in job["status"]["conditions"]] == ["Suspended"]
    assert job["status"].get("active", 0) == 0
    pod = kontinue.worker_pod(job)
    assert pod["status"]["phase"] == "Failed"
    assert kontinue.log(pod["metadata"]["name"]).startswith("working\n")
    root = kontinue.get("executions", "tree-1")
    assert (status(root)["phase"], status(root)["reason"], status(root)["message"]) == (
        "Canceled",
        "CanceledByClient",
        "stop it",
    )
    root_job = kontinue.wait(
        "jobs",
        kontinue.worker_job("tree-1")["metadata"]["name"],
        lambda j: bool(j and j["spec"].get("suspend")),
    )
    assert root_job["spec"]["suspend"] is True


def test_a_canceled_execution_is_not_retried_automatically(kontinue: Kontinue) -> None:
    kontinue.function("stuck", [{"suspend": "hold"}])
    kontinue.execution("stuck", name="stuck-1", retry={"retries": 3, "backoff": "1s"})
    kontinue.wait_phase("stuck-1", "Suspended")
    kontinue.cancel("stuck-1")
    observed = kontinue.wait(
        "suspensions",
        kontinue.children("stuck-1", "suspensions")[0]["metadata"]["name"],
        lambda s: status(s).get("phase") == "Canceled",
    )
    assert observed
    final = kontinue.get("executions", "stuck-1")
    assert (status(final)["phase"], status(final)["attempt"]) == ("Canceled", 1)


def test_a_canceled_execution_can_be_retried_manually(kontinue: Kontinue) -> None:
    kontinue.function("restartable", [{"suspend": "hold"}, {"return": "{{ attempt }}"}])
    kontinue.execution("restartable", name="restartable-1")
    kontinue.wait_phase("restartable-1", "Suspended")
    kontinue.cancel("restartable-1")
    kontinue.retry("restartable-1", child_policy="RetryFailed")
    kontinue.wait(
        "executions",
        "restartable-1",
        lambda o: status(o).get("attempt") == 2 and status(o).get("phase") == "Suspended",
    )
    new = [
        s for s in kontinue.children("restartable-1", "suspensions") if status(s).get("phase") == "Suspended"
    ]
    assert len(new) == 1
    kontinue.resume(new[0]["metadata"]["name"])
    done = kontinue.wait_phase("restartable-1", "Completed")
    assert status(done)["result"] == 2
    assert [a["phase"] for a in status(done)["attempts"]] == ["Canceled"]


def test_skipping_a_child_hands_its_result_to_the_waiting_parent(kontinue: Kontinue) -> None:
    kontinue.function("slow-child", [{"suspend": "hold"}])
    kontinue.function(
        "patient-parent", [{"spawn": "slow-child", "as": "r"}, {"return": {"got": "{{ results.r }}"}}]
    )
    kontinue.execution("patient-parent", name="pp-1")
    kontinue.wait_phase("pp-1", "Suspended")
    [child] = kontinue.children("pp-1")
    kontinue.wait_phase(child["metadata"]["name"], "Suspended")
    kontinue.skip(child["metadata"]["name"], {"substitute": True})
    done = kontinue.wait_phase("pp-1", "Completed")
    assert status(done)["result"] == {"got": {"substitute": True}}
    [suspension] = kontinue.children(child["metadata"]["name"], "suspensions")
    kontinue.wait(
        "suspensions", suspension["metadata"]["name"], lambda s: status(s).get("phase") == "Canceled"
    )


def test_canceling_a_child_fails_the_waiting_parent_with_child_canceled(kontinue: Kontinue) -> None:
    kontinue.function("victim", [{"suspend": "hold"}])
    kontinue.function("bystander", [{"spawn": "victim"}, {"return": "never"}])
    kontinue.execution("bystander", name="by-1")
    kontinue.wait_phase("by-1", "Suspended")
    [child] = kontinue.children("by-1")
    kontinue.cancel(child["metadata"]["name"])
    done = kontinue.wait_phase("by-1", "Failed")
    assert status(done)["reason"] == "ChildCanceled"
    assert status(done)["message"] == f"child execution {child['metadata']['name']} was canceled"


def test_cancel_of_a_pending_execution_needs_no_worker(kontinue: Kontinue) -> None:
    kontinue.execution("not-registered", name="orphan-1")
    kontinue.wait(
        "executions",
        "orphan-1",
        lambda o: status(o).get("reason") == "FunctionNotFound",
        what="FunctionNotFound",
    )
    kontinue.cancel("orphan-1")
    done = kontinue.wait(
        "executions",
        "orphan-1",
        lambda o: status(o).get("observedGeneration") == 1 and status(o)["phase"] == "Canceled",
    )
    assert "worker" not in status(done)
    assert kontinue.list("jobs", "kontinue.cloud/parent=orphan-1") == []


def test_a_cancel_written_as_the_phase_alone_is_finished_like_a_client_cancel(kontinue: Kontinue) -> None:
    """``kubectl patch --subresource=status -p '{"status":{"phase":"Canceled"}}'`` leaves the
    running reason behind and no finishedAt; the emulator completes the end, so the TTL applies."""
    kontinue.function("idle", [{"sleep": "1h"}])
    kontinue.execution("idle", name="idle-1", ttl={"archiveAfter": "20s"})  # 1 s at speed 20
    assert status(kontinue.wait_phase("idle-1", "Executing"))["reason"] == "Running"
    kontinue.patch_status("executions", "idle-1", {"phase": "Canceled"})
    ended = kontinue.wait("executions", "idle-1", lambda o: bool(o and status(o).get("finishedAt")))
    assert (status(ended)["phase"], status(ended)["reason"], status(ended)["message"]) == (
        "Canceled",
        "CanceledByClient",
        "Canceled by client",
    )
    kontinue.wait("archivedexecutions", "idle-1", lambda o: o is not None, what="the archive", timeout=15)
    kontinue.wait_gone("executions", "idle-1")


def test_a_skip_written_as_the_phase_alone_is_finished_like_a_client_skip(kontinue: Kontinue) -> None:
    kontinue.function("idle", [{"sleep": "1h"}])
    kontinue.execution("idle", name="idle-2")
    kontinue.wait_phase("idle-2", "Executing")
    kontinue.patch_status("executions", "idle-2", {"phase": "Skipped"})
    ended = kontinue.wait("executions", "idle-2", lambda o: bool(o and status(o).get("finishedAt")))
    assert (status(ended)["reason"], status(ended)["message"]) == ("SkippedByClient", "Skipped by client")
