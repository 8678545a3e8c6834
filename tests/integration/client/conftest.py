"""Fixtures for the client suite: every test runs once with each client, against the real API server.

``kontinue`` is a ``KontinueClient``, or an ``AsyncKontinueClient`` seen through a blocking view
(its coroutines run on an event loop in a background thread), so one test body proves both
clients. ``cluster`` plays the kontinue controller: it writes Functions and status the way kontinue
would, with the raw Kubernetes client.
"""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Coroutine, Iterator, Sequence
from concurrent.futures import Future
from typing import Any, TypeVar

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    KontinueClient,
)
from airflow_provider_kontinue.client.timestamps import utc_now
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.emulator.archive import build_archive

T = TypeVar("T")
GROUP, VERSION = "kontinue.cloud", "v1alpha1"


class EventLoopThread:
    """An asyncio loop on its own thread, to call the async client from blocking test code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)
        return future.result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class BlockingView:
    """The async client with its coroutine methods made blocking; everything else passes through."""

    def __init__(self, client: AsyncKontinueClient, loop: EventLoopThread) -> None:
        self._client = client
        self._loop = loop

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._client, name)
        if not callable(attribute) or not asyncio.iscoroutinefunction(attribute):
            if name.startswith("with_"):
                return lambda *a, **k: BlockingView(attribute(*a, **k), self._loop)
            return attribute
        return lambda *args, **kwargs: self._loop.run(attribute(*args, **kwargs))

    @property
    def is_async(self) -> bool:
        return True


@pytest.fixture(scope="session")
def event_loop_thread() -> Iterator[EventLoopThread]:
    loop = EventLoopThread()
    yield loop
    loop.close()


def make_client(
    mode: str, control_plane: ControlPlane, namespace: str, loop: EventLoopThread, **kwargs: Any
) -> Any:
    if mode == "sync":
        return KontinueClient.connect(control_plane.kubeconfig, namespace=namespace, **kwargs)
    client = loop.run(AsyncKontinueClient.connect(control_plane.kubeconfig, namespace=namespace, **kwargs))
    return BlockingView(client, loop)


def close_client(client: Any, loop: EventLoopThread) -> None:
    if isinstance(client, BlockingView):
        loop.run(client._client.close())
    else:
        client.close()


@pytest.fixture(params=["sync", "async"])
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def kontinue(
    mode: str, control_plane: ControlPlane, namespace: str, event_loop_thread: EventLoopThread
) -> Iterator[Any]:
    """The client under test (sync, or async behind a blocking view), defaulting to the test namespace."""
    client = make_client(
        mode, control_plane, namespace, event_loop_thread, options={"qps": 200, "burst": 200}
    )
    yield client
    close_client(client, event_loop_thread)


class Cluster:
    """Plays kontinue's controller and workers with raw API calls, in one namespace."""

    def __init__(self, api: k8s.ApiClient, namespace: str) -> None:
        self.custom = k8s.CustomObjectsApi(api)
        self.api = api
        self.namespace = namespace

    def create(self, plural: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {"apiVersion": f"{GROUP}/{VERSION}", **body}
        created: dict[str, Any] = self.custom.create_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, body
        )
        return created

    def get(self, plural: str, name: str) -> dict[str, Any]:
        found: dict[str, Any] = self.custom.get_namespaced_custom_object(
            GROUP, VERSION, self.namespace, plural, name
        )
        return found

    def list(self, plural: str) -> list[dict[str, Any]]:
        return list(
            self.custom.list_namespaced_custom_object(GROUP, VERSION, self.namespace, plural)["items"]
        )

    def delete(self, plural: str, name: str) -> None:
        self.custom.delete_namespaced_custom_object(GROUP, VERSION, self.namespace, plural, name)

    def function(self, name: str, **spec: Any) -> dict[str, Any]:
        labels = {"kontinue.cloud/worker-group": spec["workerGroup"]} if "workerGroup" in spec else {}
        annotations = spec.pop("annotations", {})
        return self.create(
            "functions",
            {
                "kind": "Function",
                "metadata": {"name": name, "labels": labels, "annotations": annotations},
                "spec": {"name": name, **spec},
            },
        )

    def execution(
        self,
        name: str,
        function: str = "work",
        *,
        labels: dict[str, str] | None = None,
        status: dict[str, Any] | None = None,
        **spec: Any,
    ) -> dict[str, Any]:
        created = self.create(
            "executions",
            {
                "kind": "Execution",
                "metadata": {"name": name, "labels": {"kontinue.cloud/function": function, **(labels or {})}},
                "spec": {"function": function, **spec},
            },
        )
        if status is not None:
            created = self.set_status("executions", name, status)
        return created

    def child(self, name: str, parent: str, root: str, *, attempt: int = 1, **kwargs: Any) -> dict[str, Any]:
        labels = {
            "kontinue.cloud/parent": parent,
            "kontinue.cloud/root": root,
            "kontinue.cloud/attempt": str(attempt),
            **kwargs.pop("labels", {}),
        }
        return self.execution(name, labels=labels, **kwargs)

    def suspension(
        self, name: str, parent: str, root: str, *, phase: str | None = "Suspended", attempt: int = 1
    ) -> dict[str, Any]:
        created = self.create(
            "suspensions",
            {
                "kind": "Suspension",
                "metadata": {
                    "name": name,
                    "labels": {
                        "kontinue.cloud/parent": parent,
                        "kontinue.cloud/root": root,
                        "kontinue.cloud/attempt": str(attempt),
                    },
                },
                "spec": {"type": "Manual", "message": "approve?"},
            },
        )
        if phase is not None:
            created = self.set_status("suspensions", name, {"phase": phase})
        return created

    def set_status(self, plural: str, name: str, status: dict[str, Any]) -> dict[str, Any]:
        patched: dict[str, Any] = self.custom.patch_namespaced_custom_object_status(
            GROUP, VERSION, self.namespace, plural, name, {"status": status}
        )
        return patched

    def finish(self, name: str, phase: str = "Completed", **status: Any) -> dict[str, Any]:
        return self.set_status("executions", name, {"phase": phase, "finishedAt": _now(), **status})

    def archive(self, root: dict[str, Any], descendants: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """Archive ``root`` and ``descendants`` as kontinue's TTL does: archive first, then delete."""
        archive, _ = build_archive(root, descendants, [], [], archived_at=utc_now(), delete_at=None)
        created = self.create("archivedexecutions", archive)
        for obj in [root, *descendants]:
            self.delete("executions", obj["metadata"]["name"])
        return created

    def job(self, name: str, parent: str, root: str, *, attempt: int = 1) -> dict[str, Any]:
        body = {
            "metadata": {
                "name": name,
                "labels": {
                    "kontinue.cloud/parent": parent,
                    "kontinue.cloud/root": root,
                    "kontinue.cloud/attempt": str(attempt),
                },
            },
            "spec": {
                "template": {
                    "spec": {"restartPolicy": "Never", "containers": [{"name": "main", "image": "busybox"}]}
                }
            },
        }
        job: dict[str, Any] = k8s.BatchV1Api(self.api).create_namespaced_job(self.namespace, body).to_dict()
        return job


def _now() -> str:
    from airflow_provider_kontinue.client.timestamps import format_timestamp

    return format_timestamp(utc_now())


@pytest.fixture
def cluster(admin_api: k8s.ApiClient, namespace: str) -> Cluster:
    return Cluster(admin_api, namespace)


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:6]}"
