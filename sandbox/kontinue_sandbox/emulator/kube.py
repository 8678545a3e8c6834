"""The emulator's access to the API server: raw JSON over one aiohttp session, bounded and rate-limited.

Requests go through one aiohttp session as JSON, without the generated Kubernetes models, which
would cost more CPU than everything else the emulator does at 1,000 executions. Plain kubeconfigs
are read by ``kubeconfig_reader.py``; others by kubernetes_asyncio's loader. Two limits keep
the API server comfortable: at most ``max_in_flight`` requests at once and a token bucket of
``qps`` with ``burst`` (both high by default: the emulator is the cluster's controller, not a
polite client). Watches are not counted against either.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from typing import Any
from urllib.parse import urlencode

import aiohttp

from kontinue_sandbox.emulator import kubeconfig_reader

log = logging.getLogger(__name__)

USER_AGENT = "kontinue-emulator/airflow-provider-kontinue"

CONTENT_TYPES = {
    "json": "application/json",
    "merge": "application/merge-patch+json",
    "strategic": "application/strategic-merge-patch+json",
}


class ApiError(Exception):
    """A non-2xx answer from the API server."""

    def __init__(self, status: int, reason: str, message: str, method: str, path: str) -> None:
        super().__init__(f"{method} {path}: {status} {reason}: {message}")
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def not_found(self) -> bool:
        return self.status == 404

    @property
    def conflict(self) -> bool:
        return self.status == 409


class TokenBucket:
    """``qps`` tokens a second, at most ``burst`` saved up; ``acquire`` waits for one."""

    def __init__(self, qps: float, burst: int) -> None:
        self.qps = qps
        self.burst = max(1, burst)
        self._tokens = float(self.burst)
        self._last = time.monotonic()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        if self.qps <= 0:
            return
        async with self._lock:
            while True:
                now = time.monotonic()
                self._tokens = min(self.burst, self._tokens + (now - self._last) * self.qps)
                self._last = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await asyncio.sleep((1 - self._tokens) / self.qps)


AuthHeaders = Callable[[], Awaitable[dict[str, str]]]


class Kube:
    """JSON requests to one API server."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        host: str,
        auth: AuthHeaders,
        *,
        max_in_flight: int = 64,
        qps: float = 2000.0,
        burst: int = 2000,
        request_timeout: float = 30.0,
        owner: Any = None,
    ) -> None:
        self._session = session
        self._host = host.rstrip("/")
        self._auth = auth
        self._owner = owner
        self._slots = asyncio.Semaphore(max_in_flight)
        self._bucket = TokenBucket(qps, burst)
        self._timeout = aiohttp.ClientTimeout(total=request_timeout)
        self.requests = 0

    @classmethod
    async def from_kubeconfig(
        cls, path: str | None, *, context: str | None = None, max_in_flight: int = 64, **kwargs: Any
    ) -> Kube:
        """Connect as the kubeconfig says.

        Plain kubeconfigs (a CA, client certificates or a bearer token) are read directly;
        anything else (exec plugins, auth providers, in-cluster, several files in KUBECONFIG) goes
        through kubernetes_asyncio's loader, whose import alone costs about a second.
        """
        # No connection limit: requests are bounded by ``max_in_flight``; each watch (kinds times
        # namespaces served) and each log stream holds a connection of its own for as long as it
        # runs, so a pool limit would only starve the watches of a many-namespace emulator.
        limit = 0
        plain = kubeconfig_reader.load(path, context) if path else None
        if plain is not None:
            connector = aiohttp.TCPConnector(limit=limit, ssl=plain.ssl_context)
            session = aiohttp.ClientSession(connector=connector, read_bufsize=2**21)
            headers = dict(plain.headers)

            async def static() -> dict[str, str]:
                return headers

            return cls(session, plain.server, static, max_in_flight=max_in_flight, **kwargs)
        from kubernetes_asyncio import client as k8s_client
        from kubernetes_asyncio import config as k8s_config

        configuration = k8s_client.Configuration()
        if path:
            await k8s_config.load_kube_config(
                config_file=path, context=context, client_configuration=configuration, persist_config=False
            )
        else:
            k8s_config.load_incluster_config(client_configuration=configuration)
        configuration.connection_pool_maxsize = limit
        api = k8s_client.ApiClient(configuration=configuration)

        async def bearer() -> dict[str, str]:
            token = (await configuration.auth_settings()).get("BearerToken") or {}
            return {"Authorization": token["value"]} if token.get("value") else {}

        return cls(
            api.rest_client.pool_manager, str(configuration.host), bearer,
            max_in_flight=max_in_flight, owner=api, **kwargs,
        )  # fmt: skip

    async def close(self) -> None:
        if self._owner is not None:
            await self._owner.close()
        else:
            await self._session.close()

    async def _headers(self, content_type: str) -> dict[str, str]:
        headers = {"Accept": "application/json", "Content-Type": content_type, "User-Agent": USER_AGENT}
        headers.update(await self._auth())
        return headers

    def _url(self, path: str, query: Mapping[str, Any] | None) -> str:
        url = self._host + path
        if query:
            url += "?" + urlencode({k: _query_value(v) for k, v in query.items() if v is not None})
        return url

    async def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, Any] | None = None,
        body: Any = None,
        patch: str | None = None,
    ) -> dict[str, Any]:
        """Send one request; return the decoded JSON answer or raise ``ApiError``."""
        content_type = CONTENT_TYPES[patch or "json"]
        data = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        await self._bucket.acquire()
        async with self._slots:
            self.requests += 1
            headers = await self._headers(content_type)
            async with self._session.request(
                method, self._url(path, query), data=data, headers=headers, timeout=self._timeout
            ) as response:
                raw = await response.read()
                if response.status >= 300:
                    raise _error(response.status, raw, method, path)
        if not raw:
            return {}
        decoded = json.loads(raw)
        return decoded if isinstance(decoded, dict) else {"value": decoded}

    async def get(self, path: str, query: Mapping[str, Any] | None = None) -> dict[str, Any] | None:
        """GET, or None when the object does not exist."""
        try:
            return await self.request("GET", path, query=query)
        except ApiError as err:
            if err.not_found:
                return None
            raise

    async def create(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("POST", path, body=body)

    async def replace(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.request("PUT", path, body=body)

    async def patch(self, path: str, body: Any, kind: str = "merge") -> dict[str, Any]:
        return await self.request("PATCH", path, body=body, patch=kind)

    async def delete(self, path: str, *, propagation: str = "Background") -> bool:
        """DELETE with a propagation policy; False when it was already gone."""
        try:
            await self.request(
                "DELETE",
                path,
                body={"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": propagation},
            )
        except ApiError as err:
            if err.not_found:
                return False
            raise
        return True

    async def list(
        self, path: str, query: Mapping[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], str]:
        """Every item of a (paginated) list, and the list's resourceVersion."""
        items: list[dict[str, Any]] = []
        params: dict[str, Any] = {"limit": 500, **(query or {})}
        while True:
            page = await self.request("GET", path, query=params)
            items.extend(page.get("items") or [])
            metadata = page.get("metadata") or {}
            token = metadata.get("continue")
            if not token:
                return items, str(metadata.get("resourceVersion") or "")
            params["continue"] = token

    async def watch(
        self, path: str, query: Mapping[str, Any], *, timeout: float
    ) -> AsyncIterator[dict[str, Any]]:
        """The events of one watch request, decoded; ends when the server closes the stream."""
        params = {**query, "watch": "true"}
        headers = await self._headers(CONTENT_TYPES["json"])
        client_timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout + 30)
        async with self._session.get(
            self._url(path, params), headers=headers, timeout=client_timeout
        ) as response:
            if response.status >= 300:
                raise _error(response.status, await response.read(), "WATCH", path)
            buffer = b""
            async for chunk in response.content.iter_any():
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if line.strip():
                        yield json.loads(line)
            if buffer.strip():
                yield json.loads(buffer)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _error(status: int, raw: bytes, method: str, path: str) -> ApiError:
    reason, message = "", raw.decode(errors="replace")[:500]
    try:
        body = json.loads(raw)
        reason = str(body.get("reason") or "")
        message = str(body.get("message") or message)
    except (ValueError, AttributeError):
        pass
    return ApiError(status, reason, message, method, path)
