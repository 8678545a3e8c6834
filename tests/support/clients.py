"""Both clients behind one interface, so one test body proves the sync and the async client.

``BlockingView`` shows an ``AsyncKontinueClient`` with its coroutine methods made blocking: they run
on an event loop in a background thread (``EventLoopThread``).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Coroutine
from concurrent.futures import Future
from typing import Any, TypeVar

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient
from kontinue_sandbox.controlplane import ControlPlane

T = TypeVar("T")


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
