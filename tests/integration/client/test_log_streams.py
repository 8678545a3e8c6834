"""Many followed worker logs at once (the logs-at-scale behaviour of make scale, at 50 streams):
every line once and in order per pod, over shared HTTP/2 connections to the real API server."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlparse

import psutil

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.clients import EventLoopThread
from tests.support.cluster import Cluster

STREAMS = 50
FAST = {"qps": 200, "burst": 200}
LINES = 40
STEADY = {
    "steps": [
        {"log": {"message": "line {{ i }}", "count": LINES, "interval": "100ms"}},
        {"return": "done"},
    ]
}


def api_connections(port: int) -> int:
    """This process's established TCP connections to the API server's port."""
    return sum(
        1
        for c in psutil.Process().net_connections(kind="tcp")
        if c.raddr and c.raddr.port == port and c.status == psutil.CONN_ESTABLISHED
    )


def worker_jobs(kontinue: KontinueClient, names: list[str]) -> list[str]:
    jobs: dict[str, str] = {}
    deadline = time.monotonic() + 120
    while len(jobs) < len(names) and time.monotonic() < deadline:
        for name in names:
            if name not in jobs:
                children = [c.name for c in kontinue.get(name).children if c.kind == "Job" and c.name]
                if children:
                    jobs[name] = children[0]
        time.sleep(0.2)  # the emulator's first status writes; nothing to watch for here
    assert len(jobs) == len(names), f"{len(names) - len(jobs)} executions have no worker Job"
    return [jobs[name] for name in names]


def test_fifty_followed_logs_share_one_http2_connection_and_each_line_comes_once_in_order(
    control_plane: ControlPlane,
    cluster: Cluster,
    emulator: None,
    namespace: str,
    event_loop_thread: EventLoopThread,
) -> None:
    cluster.function("steady", emulator=STEADY)
    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace, options=FAST) as sync:
        names = [sync.spawn("steady").name for _ in range(STREAMS)]
        jobs = worker_jobs(sync, names)
    port = int(urlparse(control_plane.server).port or 443)

    async def follow_all() -> tuple[list[list[str]], int]:
        client = await AsyncKontinueClient.connect(
            control_plane.kubeconfig, namespace=namespace, options=FAST
        )
        async with client:
            await client.get(names[0])  # the client's pool for requests has its connection now
            before = api_connections(port)
            streams = [await client.get_job_logs(job, {"follow": True}) for job in jobs]
            during = api_connections(port) - before

            async def read(stream: object) -> list[str]:
                async with stream:  # type: ignore[attr-defined]
                    return [line async for line in stream]  # type: ignore[attr-defined]

            lines = await asyncio.gather(*(read(s) for s in streams))
            return lines, during

    lines, during = event_loop_thread.run(follow_all(), timeout=240)
    expected = [f"line {i}" for i in range(LINES)]
    wrong = {job: got for job, got in zip(jobs, lines, strict=True) if got != expected}
    assert not wrong, f"{len(wrong)} of {STREAMS} logs lost, repeated or reordered lines: {wrong}"
    assert during <= 1, f"{STREAMS} followed logs opened {during} connections"
