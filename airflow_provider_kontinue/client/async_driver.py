"""Runs sans-IO operations on ``kubernetes_asyncio``: never blocks the event loop."""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

import aiohttp

from .context import Deadline
from .errors import KontinueError, TLSVerificationError, error_from_status
from .protocol import (
    Call,
    CloseStream,
    Command,
    Emit,
    Op,
    OpenStream,
    ReadAny,
    ReadLine,
    Response,
    Sleep,
    TransportError,
    capture,
    decode_body,
)
from .ratelimit import TokenBucket
from .wire import query_list, request_headers

T = TypeVar("T")

CONNECT_TIMEOUT = 10.0
_SLICE = 0.25
"""Longest uninterrupted wait for a stream line: how quickly a cancel event or a deadline is noticed."""
REQUEST_TIMEOUT = 60.0


class _Stream:
    """An open streaming aiohttp response, read line by line."""

    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.pending: asyncio.Task[bytes] | None = None

    def reading(self) -> asyncio.Task[bytes]:
        """The read of this stream's next line, started once and kept until it finishes."""
        if self.pending is None:
            self.pending = asyncio.ensure_future(self.response.content.readline())
        return self.pending

    def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
        with contextlib.suppress(Exception):
            self.response.close()


class AsyncDriver:
    """Performs commands with a ``kubernetes_asyncio.client.ApiClient``, rate limited by ``limiter``."""

    def __init__(self, api_client: Any, limiter: TokenBucket, headers: Mapping[str, str]) -> None:
        self.api_client = api_client
        self.limiter = limiter
        self.headers = dict(headers)
        self.requests = 0
        """Requests sent so far (calls and stream opens), for benchmarks and request budgets."""
        self.requests_by_verb: Counter[str] = Counter()

    async def run(self, op: Op[T], deadline: Deadline) -> T:
        """Drive ``op`` to completion and return its value."""
        box: list[T] = []
        async for value in self.iterate(capture(op, box), deadline):
            raise TypeError(f"{op!r} emitted {value!r}; iterate it instead")
        return box[0]

    async def iterate(self, op: Op[Any], deadline: Deadline) -> AsyncIterator[Any]:
        """Drive ``op``, yielding what it emits; closing the iterator stops it and its streams."""
        streams: list[_Stream] = []
        try:
            command: Command = next(op)
            while True:
                if isinstance(command, Emit):
                    yield command.value
                    command = op.send(None)
                    continue
                try:
                    result = await self._perform(command, deadline, streams)
                except Exception as err:
                    command = op.throw(err)
                else:
                    command = op.send(result)
        except StopIteration:
            return
        finally:
            op.close()
            for stream in streams:
                stream.close()

    async def _perform(self, command: Command, deadline: Deadline, streams: list[_Stream]) -> Any:
        if isinstance(command, Call):
            return await self._call(command, deadline)
        if isinstance(command, OpenStream):
            stream = await self._open(command, deadline)
            streams.append(stream)
            return stream
        if isinstance(command, ReadLine):  # read like ReadAny, so deadlines and cancels interrupt it
            answer = await self._read_any(ReadAny((command.stream,)), deadline)
            assert answer is not None
            if isinstance(answer[1], Exception):
                raise answer[1]
            return answer[1]
        if isinstance(command, ReadAny):
            return await self._read_any(command, deadline)
        if isinstance(command, CloseStream):
            assert isinstance(command.stream, _Stream)
            command.stream.close()
            streams.remove(command.stream)
            return None
        if isinstance(command, Sleep):
            await asyncio.sleep(deadline.bound(command.seconds))
            deadline.remaining()
            return None
        raise TypeError(f"unknown command {command!r}")

    @staticmethod
    async def _read_any(
        command: ReadAny, deadline: Deadline
    ) -> tuple[_Stream, bytes | Exception | None] | None:
        streams = [stream for stream in command.streams if isinstance(stream, _Stream)]
        tasks = {stream.reading(): stream for stream in streams}
        loop = asyncio.get_running_loop()
        give_up = None if command.timeout is None else loop.time() + command.timeout
        while True:  # in slices, so a cancel event (not only task cancellation) is noticed
            left = _SLICE if give_up is None else min(_SLICE, max(0.0, give_up - loop.time()))
            done, _ = await asyncio.wait(
                tasks, timeout=deadline.bound(left), return_when=asyncio.FIRST_COMPLETED
            )
            if done:
                break
            deadline.remaining()
            if give_up is not None and loop.time() >= give_up:
                return None
        stream = next(s for s in streams if s.pending in done)
        task, stream.pending = stream.pending, None
        assert task is not None
        try:
            line = task.result()
        except (aiohttp.ClientError, OSError, asyncio.TimeoutError) as err:
            return stream, TransportError(f"the stream broke: {type(err).__name__}")
        return stream, line.rstrip(b"\n") if line else None

    async def _send(self, call: Call, read_timeout: float) -> aiohttp.ClientResponse:
        self.requests += 1
        self.requests_by_verb[call.verb] += 1
        wait = self.limiter.reserve()
        if wait:
            await asyncio.sleep(wait)
        timeout = aiohttp.ClientTimeout(
            connect=min(CONNECT_TIMEOUT, read_timeout),
            sock_connect=min(CONNECT_TIMEOUT, read_timeout),
            sock_read=read_timeout,
        )
        try:
            response: aiohttp.ClientResponse = await self.api_client.call_api(
                call.path,
                call.method,
                query_params=query_list(call),
                header_params=request_headers(call, self.headers),
                body=call.body,
                auth_settings=["BearerToken"],
                _preload_content=False,
                _request_timeout=timeout,
            )
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as err:
            if isinstance(err, aiohttp.ClientSSLError):
                raise TLSVerificationError(
                    f"cannot reach the API server: TLS verification failed ({err}); check the "
                    "kubeconfig's certificate-authority for this cluster",
                    verb=call.verb,
                    resource=call.resource,
                    namespace=call.namespace,
                    name=call.name,
                ) from None
            raise TransportError(
                f"cannot reach the API server ({type(err).__name__}: {err})",
                verb=call.verb,
                resource=call.resource,
                namespace=call.namespace,
                name=call.name,
            ) from None
        return response

    async def _call(self, call: Call, deadline: Deadline) -> Response:
        response = await self._send(call, deadline.bound(REQUEST_TIMEOUT))
        try:
            async with response:
                return Response(response.status, decode_body(await response.read()))
        except (aiohttp.ClientError, asyncio.TimeoutError, OSError) as err:
            deadline.remaining()
            raise TransportError(f"the response broke off ({type(err).__name__})") from None

    async def _open(self, command: OpenStream, deadline: Deadline) -> _Stream:
        response = await self._send(command.call, deadline.bound(command.read_timeout or REQUEST_TIMEOUT))
        if not 200 <= response.status < 300:
            call = command.call
            async with response:
                body = decode_body(await response.read())
            error: KontinueError = error_from_status(
                response.status,
                body,
                verb=call.verb,
                resource=call.resource,
                namespace=call.namespace,
                name=call.name,
            )
            raise error
        return _Stream(response)
