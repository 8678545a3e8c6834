"""An execution's life from creation to a terminal phase: phases, bookkeeping, defaults, its Job and Pod."""

from __future__ import annotations

import hashlib

from support.emulator import Kontinue, labels, parse_time, status


def test_an_execution_goes_pending_executing_completed_with_its_result_and_bookkeeping(
    kontinue: Kontinue,
) -> None:
    kontinue.function(
        "greet", [{"log": "hi {{ args.name }}"}, {"return": {"greeting": "hi {{ args.name }}"}}]
    )
    created = kontinue.execution("greet", {"name": "ada"}, name="greet-1")
    with kontinue.phases("greet-1", since=created["metadata"]["resourceVersion"]) as seen:
        done = kontinue.wait_phase("greet-1", "Completed")
    assert seen[0] == "Pending"
    assert seen[-1] == "Completed"
    assert seen == ["Pending", "Executing", "Completed"]
    st = status(done)
    assert st["reason"] == "Succeeded"
    assert st["result"] == {"greeting": "hi ada"}
    assert st["attempt"] == 1
    assert st["resumptions"] == 0
    assert "attempts" not in st or st["attempts"] == []
    assert st["observedGeneration"] == done["metadata"]["generation"]
    created_at = parse_time(created["metadata"]["creationTimestamp"])
    started, finished = parse_time(st["startedAt"]), parse_time(st["finishedAt"])
    assert created_at.replace(microsecond=0) <= started.replace(microsecond=0) <= finished
    assert st["attemptStartedAt"] == st["startedAt"] == st["lastResumedAt"]
    job = kontinue.worker_job("greet-1")
    assert st["children"] == [
        {"kind": "Job", "name": job["metadata"]["name"], "step": "worker", "attempt": 1}
    ]
    assert st["worker"] == kontinue.worker_pod(job)["metadata"]["name"]


def test_a_function_that_returns_nothing_completes_without_a_result_field(kontinue: Kontinue) -> None:
    kontinue.function("quiet", [{"log": "nothing to say"}])
    kontinue.execution("quiet", name="quiet-1")
    done = kontinue.wait_phase("quiet-1", "Completed")
    assert "result" not in status(done)


def test_a_kubectl_created_execution_gets_the_function_defaults_and_labels_once(kontinue: Kontinue) -> None:
    kontinue.function(
        "defaulted",
        [{"return": "{{ args.region }}-{{ args.size }}-{{ args.mode }}"}],
        arguments=[
            {"name": "region", "type": "string", "default": "eu"},
            {"name": "size", "type": "integer", "default": 3},
        ],
        defaults={
            "arguments": {"mode": "fast", "size": 5},
            "retry": {"retries": 2, "backoff": "1s"},
            "timeout": {"overall": "1h"},
            "ttl": {"deleteAfter": "24h"},
        },
        group="batchers",
    )
    kontinue.execution("defaulted", {"region": "us"}, name="defaulted-1")
    done = kontinue.wait_phase("defaulted-1", "Completed")
    spec = done["spec"]
    assert spec["arguments"] == {"region": "us", "size": 5, "mode": "fast"}
    assert spec["retry"] == {"retries": 2, "backoff": "1s", "childPolicy": "None"}
    assert spec["timeout"] == {"overall": "1h"}
    assert spec["ttl"] == {"deleteAfter": "24h"}
    assert labels(done)["kontinue.cloud/function"] == "defaulted"
    assert labels(done)["kontinue.cloud/worker-group"] == "batchers"
    assert status(done)["result"] == "us-5-fast"
    assert done["metadata"]["generation"] == 2
    assert status(done)["observedGeneration"] == 2


def test_explicit_settings_win_over_function_defaults(kontinue: Kontinue) -> None:
    kontinue.function(
        "tuned", [{"return": "{{ args.n }}"}], defaults={"arguments": {"n": 1}, "retry": {"retries": 4}}
    )
    kontinue.execution("tuned", {"n": 7}, name="tuned-1", retry={"retries": 0})
    done = kontinue.wait_phase("tuned-1", "Completed")
    assert done["spec"]["retry"]["retries"] == 0
    assert status(done)["result"] == 7


def test_each_attempt_runs_as_a_job_with_one_pod_on_the_fake_node(kontinue: Kontinue) -> None:
    kontinue.function("worked", [{"log": "working"}, {"return": 1}])
    execution = kontinue.execution("worked", name="worked-1")
    kontinue.wait_phase("worked-1", "Completed")
    job = kontinue.worker_job("worked-1")
    digest = hashlib.sha256(b"worked-1/Job/worker/1").hexdigest()[:8]
    assert job["metadata"]["name"] == f"worked-1-{digest}"
    assert labels(job) == {
        "kontinue.cloud/parent": "worked-1",
        "kontinue.cloud/root": "worked-1",
        "kontinue.cloud/worker-group": "default",
        "kontinue.cloud/attempt": "1",
        "kontinue.cloud/step": "worker",
    }
    owner = job["metadata"]["ownerReferences"][0]
    assert (owner["kind"], owner["name"], owner["uid"], owner["controller"], owner["blockOwnerDeletion"]) == (
        "Execution",
        "worked-1",
        execution["metadata"]["uid"],
        True,
        True,
    )
    assert job["spec"]["managedBy"] == "kontinue.cloud/emulator"
    job = kontinue.wait(
        "jobs", job["metadata"]["name"], lambda j: bool(j and (j.get("status") or {}).get("completionTime"))
    )
    job_status = job["status"]
    assert job_status["succeeded"] == 1
    assert job_status.get("active", 0) == 0
    assert {c["type"] for c in job_status["conditions"]} == {"SuccessCriteriaMet", "Complete"}
    assert job_status["startTime"] <= job_status["completionTime"]
    pod = kontinue.worker_pod(job)
    assert pod["spec"]["nodeName"] == "kontinue-emulator"
    assert labels(pod)["job-name"] == job["metadata"]["name"]
    assert pod["metadata"]["ownerReferences"][0]["kind"] == "Job"
    assert pod["status"]["phase"] == "Succeeded"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert terminated["exitCode"] == 0
    assert terminated["reason"] == "Completed"
