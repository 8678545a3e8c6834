"""A fake kubelet: the Node the worker pods run on, and the HTTPS endpoint serving their logs.

``GET /api/v1/namespaces/{ns}/pods/{pod}/log`` is answered by the API server itself, which looks up
the pod's Node, takes the Node's first ``status.addresses`` entry and its
``status.daemonEndpoints.kubeletEndpoint.Port``, and forwards the request to
``https://<address>:<port>/containerLogs/{ns}/{pod}/{container}`` (without verifying the kubelet's
certificate unless ``--kubelet-certificate-authority`` is set). This module registers such a Node
and serves that path from the pod log files, with ``follow`` (streamed, line by line, until the
container terminates), ``tailLines``, ``timestamps``, ``sinceSeconds``, ``sinceTime`` and
``limitBytes``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from aiohttp import web

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.kube import ApiError, Kube
from kontinue_sandbox.emulator.podlogs import LogLine, PodLogs
from kontinue_sandbox.emulator.times import Clock, format_timestamp, parse_timestamp
from kontinue_sandbox.pki import CertificateAuthority

log = logging.getLogger(__name__)

FOLLOW_SAFETY_WAKEUP = 30.0
"""A following reader re-checks at least this often even without news (a lost wake-up costs this)."""


def _flag(value: str | None) -> bool:
    return value is not None and value.lower() in ("true", "1", "yes")


def _int(value: str | None, name: str) -> int | None:
    if value is None or value == "":
        return None
    try:
        number = int(value)
    except ValueError:
        raise web.HTTPBadRequest(text=f"{name} must be an integer, got {value!r}") from None
    if number < 0:
        raise web.HTTPBadRequest(text=f"{name} must not be negative")
    return number


class FakeKubelet:
    """The HTTPS log server plus the Node object pointing the API server at it."""

    def __init__(
        self,
        kube: Kube,
        logs: PodLogs,
        clock: Clock,
        *,
        node_name: str,
        address: str = "127.0.0.1",
        bind: str = "127.0.0.1",
        port: int = 0,
        pki_dir: Path,
    ) -> None:
        self.kube = kube
        self.logs = logs
        self.clock = clock
        self.node_name = node_name
        self.address = address
        self.bind = bind
        self.port = port
        self.pki_dir = pki_dir
        self.pod_state: Callable[[str, str], str] = lambda namespace, pod: "unknown"
        """``(namespace, pod) -> "unknown" | "running" | "finished"``, set once the pods are known."""
        self._runner: web.AppRunner | None = None
        self._streams: set[web.StreamResponse] = set()

    # -- server --------------------------------------------------------------------------------

    def _ssl_context(self) -> ssl.SSLContext:
        self.pki_dir.mkdir(parents=True, exist_ok=True)
        ca = CertificateAuthority.create("kontinue-emulator-kubelet-ca")
        cert, key = ca.serving_cert(self.address).write(self.pki_dir, "kubelet")
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cert), str(key))
        return context

    async def start(self) -> int:
        app = web.Application()
        app.router.add_get("/containerLogs/{namespace}/{pod}/{container}", self._container_logs)
        app.router.add_get("/healthz", self._healthz)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.bind, self.port, ssl_context=self._ssl_context())
        await site.start()
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self.port = int(sockets[0].getsockname()[1])
        log.info("fake kubelet serving container logs on https://%s:%d", self.bind, self.port)
        return self.port

    async def stop(self) -> None:
        for stream in list(self._streams):
            with contextlib.suppress(Exception):
                await stream.write_eof()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok")

    async def _container_logs(self, request: web.Request) -> web.StreamResponse:
        namespace = request.match_info["namespace"]
        pod = request.match_info["pod"]
        container = request.match_info["container"]
        query = request.query
        if container != names.WORKER_CONTAINER:
            raise web.HTTPNotFound(text=f"container {container!r} not found in pod {namespace}/{pod}")
        if self.pod_state(namespace, pod) == "unknown" and not self.logs.exists(namespace, pod):
            raise web.HTTPNotFound(text=f"pod {namespace}/{pod} not found on node {self.node_name}")
        if _flag(query.get("previous")):
            raise web.HTTPBadRequest(
                text=f'previous terminated container "{container}" in pod "{pod}" not found'
            )
        follow = _flag(query.get("follow"))
        timestamps = _flag(query.get("timestamps"))
        tail = _int(query.get("tailLines"), "tailLines")
        limit = _int(query.get("limitBytes"), "limitBytes")
        since: datetime | None = None
        since_seconds = _int(query.get("sinceSeconds"), "sinceSeconds")
        if since_seconds is not None:
            since = self.clock.now() - timedelta(seconds=since_seconds)
        if query.get("sinceTime"):
            try:
                since = parse_timestamp(query["sinceTime"])
            except ValueError:
                raise web.HTTPBadRequest(text="sinceTime must be an RFC 3339 timestamp") from None

        def select(lines: list[LogLine]) -> list[LogLine]:
            if since is not None:
                lines = [line for line in lines if line.timestamp >= since]
            return lines

        lines, offset = self.logs.read(namespace, pod)
        lines = select(lines)
        if tail is not None:
            lines = lines[-tail:] if tail else []
        response = web.StreamResponse(headers={"Content-Type": "text/plain"})
        if not follow:
            body = b"".join(line.render(timestamps) for line in lines)
            if limit is not None:
                body = body[:limit]
            response.content_length = len(body)
            await response.prepare(request)
            await response.write(body)
            await response.write_eof()
            return response

        await response.prepare(request)
        self._streams.add(response)
        written = 0
        try:
            while True:
                for line in lines:
                    chunk = line.render(timestamps)
                    if limit is not None:
                        chunk = chunk[: max(0, limit - written)]
                    if chunk:
                        await response.write(chunk)
                        written += len(chunk)
                    if limit is not None and written >= limit:
                        await response.write_eof()
                        return response
                changed = self.logs.changed(namespace, pod)
                finished = self.pod_state(namespace, pod) != "running"
                more, offset = self.logs.read(namespace, pod, offset)
                lines = select(more)
                if lines:
                    continue
                if finished:
                    break
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(changed.wait(), FOLLOW_SAFETY_WAKEUP)
                more, offset = self.logs.read(namespace, pod, offset)
                lines = select(more)
            await response.write_eof()
        except (ConnectionResetError, asyncio.CancelledError):
            pass
        finally:
            self._streams.discard(response)
        return response

    # -- node ----------------------------------------------------------------------------------

    def _node_status(self) -> dict[str, Any]:
        now = format_timestamp(self.clock.now().replace(microsecond=0))
        return {
            "addresses": [{"type": "InternalIP", "address": self.address}],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": self.port}},
            "capacity": {"cpu": "64", "memory": "256Gi", "pods": "100000"},
            "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "100000"},
            "conditions": [
                {
                    "type": "Ready",
                    "status": "True",
                    "reason": "KubeletReady",
                    "message": "kontinue emulator's fake kubelet is serving container logs",
                    "lastHeartbeatTime": now,
                    "lastTransitionTime": now,
                }
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": "",
                "containerRuntimeVersion": "kontinue-emulator://1",
                "kernelVersion": "",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.37.2-kontinue-emulator",
                "machineID": "",
                "operatingSystem": "linux",
                "osImage": "kontinue emulator",
                "systemUUID": "",
            },
        }

    async def register_node(self) -> None:
        """Create the Node (or point an existing one at this kubelet's port)."""
        node = {
            "apiVersion": "v1",
            "kind": "Node",
            "metadata": {
                "name": self.node_name,
                "labels": {
                    "kubernetes.io/hostname": self.node_name,
                    "kubernetes.io/os": "linux",
                    "kontinue.cloud/emulator": "true",
                },
            },
            "status": self._node_status(),
        }
        try:
            await self.kube.create(names.NODES.path(), node)
            return
        except ApiError as err:
            if not err.conflict:
                raise
        await self.kube.patch(
            names.NODES.path(name=self.node_name, sub="status"), {"status": self._node_status()}
        )

    async def heartbeat(self, interval: float = 20.0) -> None:
        """Keep the Node Ready and its Lease renewed, as a kubelet does (matters on real clusters)."""
        lease_path = names.LEASES.path("kube-node-lease", self.node_name)
        while True:
            now = self.clock.now().astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            try:
                await self.kube.patch(
                    names.NODES.path(name=self.node_name, sub="status"), {"status": self._node_status()}
                )
                lease = {
                    "apiVersion": "coordination.k8s.io/v1",
                    "kind": "Lease",
                    "metadata": {"name": self.node_name, "namespace": "kube-node-lease"},
                    "spec": {"holderIdentity": self.node_name, "leaseDurationSeconds": 40, "renewTime": now},
                }
                try:
                    await self.kube.patch(lease_path, {"spec": lease["spec"]})
                except ApiError as err:
                    if not err.not_found:
                        raise
                    await self.kube.create(names.LEASES.path("kube-node-lease"), lease)
            except (ApiError, OSError) as err:
                log.debug("node heartbeat failed: %s", err)
            await asyncio.sleep(interval)
