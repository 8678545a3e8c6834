"""Attempt log lines go through the API server's real pods/log endpoint, served by the fake kubelet."""

from __future__ import annotations

import threading
import time

import pytest
from kubernetes.client.exceptions import ApiException

from support.emulator import Kontinue, status


def test_logs_are_readable_through_pods_log_after_completion_with_tail_and_timestamps(
    kontinue: Kontinue,
) -> None:
    kontinue.function("chatty", [{"log": {"message": "line {{ i }} for {{ args.who }}", "count": 5}}])
    kontinue.execution("chatty", {"who": "ops"}, name="chatty-1")
    kontinue.wait_phase("chatty-1", "Completed")
    pod = kontinue.worker_pod(kontinue.worker_job("chatty-1"))["metadata"]["name"]
    assert kontinue.log(pod) == "".join(f"line {i} for ops\n" for i in range(5))
    assert kontinue.log(pod, tail_lines=2) == "line 3 for ops\nline 4 for ops\n"
    stamped = kontinue.log(pod, timestamps=True).splitlines()
    assert len(stamped) == 5
    stamp, _, text = stamped[0].partition(" ")
    assert text == "line 0 for ops"
    assert stamp.endswith("Z")
    assert "T" in stamp
    assert kontinue.log(pod, limit_bytes=10) == "line 0 for"
    assert kontinue.log(pod, since_seconds=3600).count("\n") == 5


def test_logs_stream_with_follow_while_the_attempt_runs_and_end_when_it_finishes(kontinue: Kontinue) -> None:
    # speed 1 for this function: one line every 0.3 s, so the stream is visibly live.
    kontinue.function(
        "ticker",
        [{"log": {"message": "tick {{ i }}", "count": 6, "interval": "300ms"}}, {"return": "done"}],
        speed=1,
    )
    kontinue.execution("ticker", name="ticker-1")
    running = kontinue.wait_phase("ticker-1", "Executing")
    pod = status(running)["worker"]
    received: list[tuple[float, str]] = []
    response = kontinue.core.read_namespaced_pod_log(
        pod, kontinue.namespace, follow=True, _preload_content=False
    )
    phases_during_stream: list[str] = []

    def read() -> None:
        buffer = b""
        for chunk in response.stream(64):
            buffer += chunk
            while b"\n" in buffer:
                line, buffer = buffer.split(b"\n", 1)
                received.append((time.monotonic(), line.decode()))
                if len(received) == 1:
                    phases_during_stream.append(status(kontinue.get("executions", "ticker-1"))["phase"])

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(20)
    assert not reader.is_alive(), "the follow stream did not end when the container finished"
    assert [text for _, text in received] == [f"tick {i}" for i in range(6)]
    assert phases_during_stream == ["Executing"], "the first line arrived only after the attempt ended"
    spread = received[-1][0] - received[0][0]
    assert spread > 0.8, f"lines arrived in one burst ({spread:.2f}s), not as they were written"
    assert status(kontinue.wait_phase("ticker-1", "Completed"))["result"] == "done"


def test_a_failed_attempt_logs_its_error(kontinue: Kontinue) -> None:
    kontinue.function("breaks", [{"log": "starting"}, {"fail": {"message": "disk full", "retryable": False}}])
    kontinue.execution("breaks", name="breaks-1")
    kontinue.wait_phase("breaks-1", "Failed")
    pod = kontinue.worker_pod(kontinue.worker_job("breaks-1"))
    pod = kontinue.wait(
        "pods", pod["metadata"]["name"], lambda p: (p or {}).get("status", {}).get("phase") == "Failed"
    )
    assert kontinue.log(pod["metadata"]["name"]) == "starting\nerror: disk full\n"
    terminated = pod["status"]["containerStatuses"][0]["state"]["terminated"]
    assert (terminated["exitCode"], terminated["message"]) == (1, "disk full")


def test_reading_the_logs_of_a_previous_container_is_refused_like_a_kubelet_would(kontinue: Kontinue) -> None:
    kontinue.function("once", [{"log": "only once"}])
    kontinue.execution("once", name="once-1")
    kontinue.wait_phase("once-1", "Completed")
    pod = kontinue.worker_pod(kontinue.worker_job("once-1"))["metadata"]["name"]
    with pytest.raises(ApiException) as refused:
        kontinue.log(pod, previous=True)
    assert "previous terminated container" in str(refused.value.body)
