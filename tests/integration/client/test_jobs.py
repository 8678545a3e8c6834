"""get_job and get_job_logs, with the emulator's workers: real Jobs, real Pods, logs through pods/log."""

from __future__ import annotations

import time
from typing import Any

import pytest

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient, NotFoundError
from airflow_provider_kontinue.client.errors import ValidationError
from airflow_provider_kontinue.client.timestamps import parse_timestamp
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.clients import EventLoopThread
from tests.support.cluster import Cluster

LOGGER = {
    "steps": [{"log": {"message": "line {{ i }}", "count": 6, "interval": "200ms"}}, {"return": "done"}]
}


def worker_job(kontinue: Any, name: str) -> str:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        execution = kontinue.get(name)
        jobs: list[str] = [c.name for c in execution.children if c.kind == "Job"]
        if jobs:
            return jobs[0]
        time.sleep(0.1)  # nothing to watch for here but the emulator's first status write
    raise AssertionError(f"no worker job for {name}")


def test_get_job_returns_the_worker_job(kontinue: Any, cluster: Cluster, emulator: None) -> None:
    cluster.function("logger", emulator=LOGGER)
    execution = kontinue.spawn("logger")
    job = kontinue.get_job(worker_job(kontinue, execution.name))
    assert job["metadata"]["labels"]["kontinue.cloud/parent"] == execution.name
    assert job["kind"] == "Job"


def test_follow_streams_lines_while_the_worker_runs(
    control_plane: ControlPlane, cluster: Cluster, emulator: None, namespace: str
) -> None:
    cluster.function("logger", emulator=LOGGER)
    kontinue = KontinueClient.connect(control_plane.kubeconfig, namespace=namespace)
    execution = kontinue.spawn("logger")
    job = worker_job(kontinue, execution.name)
    arrivals = []
    with kontinue.get_job_logs(job, {"follow": True}) as stream:
        for line in stream:
            arrivals.append((time.monotonic(), line))
    assert [line for _, line in arrivals] == [f"line {i}" for i in range(6)]
    assert arrivals[-1][0] - arrivals[0][0] >= 0.5  # lines came as they were written, not at the end
    assert kontinue.wait_for_execution(execution).result == "done"
    after = kontinue.get_job_logs(job, {"tail_lines": 2}).read()
    assert after == b"line 4\nline 5\n"
    kontinue.close()


def test_async_log_stream_follows_too(
    control_plane: ControlPlane,
    cluster: Cluster,
    emulator: None,
    namespace: str,
    event_loop_thread: EventLoopThread,
) -> None:
    cluster.function("logger", emulator=LOGGER)
    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as sync:
        job = worker_job(sync, sync.spawn("logger").name)

    async def read() -> list[str]:
        client = await AsyncKontinueClient.connect(control_plane.kubeconfig, namespace=namespace)
        async with client, await client.get_job_logs(job, {"follow": True}) as stream:
            return [line async for line in stream]

    assert event_loop_thread.run(read()) == [f"line {i}" for i in range(6)]


def test_logs_of_a_job_without_pods_are_not_found(kontinue: Any, cluster: Cluster) -> None:
    cluster.job("lonely", "x", "x")
    with pytest.raises(NotFoundError, match="no pods found for job 'lonely'"):
        kontinue.get_job_logs("lonely")
    with pytest.raises(NotFoundError):
        kontinue.get_job("missing")


SLOW_LOGGER = {
    "steps": [{"log": {"message": "line {{ i }}", "count": 3, "interval": "1100ms"}}, {"return": "done"}]
}
"""Lines more than a second apart: Kubernetes reads ``sinceTime`` to the second."""


def test_since_time_reads_only_the_lines_written_from_then_on(
    control_plane: ControlPlane, cluster: Cluster, emulator: None, namespace: str
) -> None:
    """The kubelet's own timestamps (``timestamps=True``) tell where to resume; the Kubernetes
    names work as well as the Python ones (``tailLines``, ``since_time``)."""
    cluster.function("slow-logger", emulator=SLOW_LOGGER)
    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as kontinue:
        execution = kontinue.spawn("slow-logger")
        job = worker_job(kontinue, execution.name)
        kontinue.wait_for_execution(execution)
        stamped = kontinue.get_job_logs(job, {"timestamps": True}).read().decode().splitlines()
        assert [line.split(" ", 1)[1] for line in stamped] == ["line 0", "line 1", "line 2"]
        second = parse_timestamp(stamped[1].split(" ", 1)[0])
        assert kontinue.get_job_logs(job, {"since_time": second}).read() == b"line 1\nline 2\n"
        assert kontinue.get_job_logs(job, {"tailLines": 1}).read() == b"line 2\n"
        with pytest.raises(
            ValidationError, match=r"PodLogOptions\.since_time: give since_time or since_seconds"
        ):
            kontinue.get_job_logs(job, {"since_time": second, "since_seconds": 5})
