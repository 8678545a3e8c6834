"""Runs sans-IO operations over HTTP with ``httpx``: one request builder and response handler, two loops.

:class:`Wire` is everything about a request that does not depend on blocking or not: the URL, the
headers (impersonation, the renewed ``Authorization``), the body, the timeouts, the token bucket's
reservation, what a refused or unreachable request means as a :class:`~.errors.KontinueError`,
and the one retry after a 401 with renewed credentials. :class:`SyncTransport` (``httpx.Client``,
for :class:`~.sync_client.KontinueClient`) and :class:`AsyncTransport` (``httpx.AsyncClient``,
for :class:`~.async_client.AsyncKontinueClient`) only perform what an operation asks for:
``Call``, ``OpenStream``, ``ReadLine``, ``ReadAny``, ``CloseStream``, ``Sleep``, ``Emit``. Watches
and log streams are chunked lines read as they come; every wait is sliced so a deadline or a
cancel event is noticed within :data:`SLICE` seconds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import queue
import socket
import ssl
import threading
import time
from collections import Counter, deque
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any, TypeVar

import httpx

from .connection import Access
from .context import Deadline
from .credentials import Issued
from .errors import KontinueError, TLSVerificationError, UnauthorizedError, error_from_status
from .protocol import (
    Call,
    CloseStream,
    Command,
    Emit,
    LinePiece,
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
from .wire import request_headers

T = TypeVar("T")

CONNECT_TIMEOUT = 10.0
REQUEST_TIMEOUT = 60.0
SLICE = 0.25
"""Longest uninterrupted wait for a stream line: how quickly a cancel or a deadline is noticed."""
READER_JOIN_TIMEOUT = 5.0
"""How long closing a followed stream waits for its reader thread to see the socket shut down."""
RETRY_AFTER_TRIES = 10
"""Sends again after a 429 or 5xx with ``Retry-After``, as client-go's ``maxRetries``."""
MAX_RETRY_AFTER = 10.0
"""Longest ``Retry-After`` honoured (seconds); the request's deadline bounds it too."""
STREAMS_PER_LANE = 100
"""Multiplexed streams per HTTP/2 connection: httpcore allows at most 100 at once on one (its own
``MAX_CONCURRENT_STREAMS``; the API server allows more), and would queue the rest."""
LEFT_STREAMS_PER_LANE = 20
"""Streams closed before their end after which a connection takes no more (see :class:`_Lane`)."""
_BROKEN = (httpx.HTTPError, httpx.StreamError, OSError)
"""What a request or a stream raises when the connection fails."""
CUT_DURING_HANDSHAKE = (ssl.SSLEOFError, ssl.SSLZeroReturnError, ssl.SSLSyscallError)
"""TLS errors that mean the connection went away mid-handshake (a network cut, a restarting
server or proxy): retried like any dropped connection, unlike a certificate refusal."""


class Wire:
    """The request builder and response handler both transports share, with their counters."""

    def __init__(self, access: Access, limiter: TokenBucket, headers: Mapping[str, str]) -> None:
        self.access = access
        self.credentials = access.credentials
        self.limiter = limiter
        self.headers = dict(headers)
        self.requests = 0
        """Requests sent so far (calls and stream opens), for benchmarks and request budgets."""
        self.requests_by_verb: Counter[str] = Counter()

    def client_options(self) -> dict[str, Any]:
        """How both ``httpx`` clients are made: TLS, proxy, an unbounded pool (watches hold theirs)."""
        return {
            "verify": self.access.tls,
            "proxy": self.access.proxy,
            "trust_env": False,
            "limits": httpx.Limits(max_connections=None, max_keepalive_connections=10),
        }

    def reserve(self, call: Call) -> float:
        """Count the request and take a token: the seconds to wait before sending it."""
        self.requests += 1
        self.requests_by_verb[call.verb] += 1
        return self.limiter.reserve()

    def build(
        self,
        http: httpx.Client | httpx.AsyncClient,
        call: Call,
        issued: Issued,
        read: float,
        *,
        stream: bool = False,
        multiplexed: bool = False,
    ) -> httpx.Request:
        """The HTTP request for ``call``, authorised with ``issued``, timing out after ``read`` s.

        A stream's connection is never handed back to the pool (``Connection: close``): closing
        a stream shuts its socket down, which must not hit a connection another request reuses.
        A ``multiplexed`` stream goes on a connection of its own kind (:class:`_Lane`), where
        that header has no place (HTTP/2 forbids it).
        """
        headers = request_headers(call, self.headers)
        if issued.header:
            headers["Authorization"] = issued.header
        if stream and not multiplexed:
            headers["Connection"] = "close"
        extensions = {"sni_hostname": self.access.tls_server_name} if self.access.tls_server_name else None
        return http.build_request(
            call.method,
            self.access.server + call.path,
            params=list(call.query.items()),
            headers=headers,
            content=None if call.body is None else json.dumps(call.body).encode(),
            timeout=httpx.Timeout(read, connect=min(CONNECT_TIMEOUT, read)),
            extensions=extensions,
        )

    @staticmethod
    def retry_after(response: httpx.Response, tries: int) -> float | None:
        """How long to wait before sending a request again, as client-go does: the server answered
        429 or 5xx with a ``Retry-After`` header (an API server starting up, or shedding load), at
        most :data:`RETRY_AFTER_TRIES` times; ``None`` to hand the answer on."""
        header = response.headers.get("Retry-After")
        if header is None or tries >= RETRY_AFTER_TRIES:
            return None
        if response.status_code != 429 and response.status_code < 500:
            return None
        try:
            seconds = float(header)
        except ValueError:
            return None
        return min(max(seconds, 0.0), MAX_RETRY_AFTER)

    @staticmethod
    def unreachable(err: BaseException, call: Call) -> KontinueError:
        """The error for a request that never got an answer: TLS refusals are permanent, a
        connection lost mid-handshake is not."""
        where: dict[str, Any] = {
            "verb": call.verb,
            "resource": call.resource,
            "namespace": call.namespace,
            "name": call.name,
        }
        cause: BaseException | None = err
        while cause is not None:
            if isinstance(cause, ssl.SSLError) and not isinstance(cause, CUT_DURING_HANDSHAKE):
                return TLSVerificationError(
                    f"cannot reach the API server: TLS verification failed ({cause}); check the "
                    "kubeconfig's certificate-authority for this cluster",
                    **where,
                )
            cause = cause.__cause__ or cause.__context__
        return TransportError(f"cannot reach the API server ({type(err).__name__}: {err})", **where)

    def refused(self, call: Call, status: int, raw: bytes) -> KontinueError:
        """The error for a stream the server would not open, or a 401 renewal could not cure."""
        error = error_from_status(
            status,
            decode_body(raw),
            verb=call.verb,
            resource=call.resource,
            namespace=call.namespace,
            name=call.name,
        )
        if isinstance(error, UnauthorizedError):
            return UnauthorizedError(
                f"{error.message}: {self.credentials.unauthorized_hint()}",
                verb=call.verb,
                resource=call.resource,
                namespace=call.namespace,
                name=call.name,
                reason=error.reason,
                status=status,
            )
        return error


class LineBuffer:
    """Splits a byte stream into lines as chunks arrive (a watch sends one JSON object a line).

    With ``max_line``, a line longer than that comes as :class:`~.protocol.LinePiece` parts of at
    most ``max_line`` bytes, cut at a UTF-8 character boundary where there is one, so what is held
    never grows past ``max_line`` plus a chunk. The cuts depend only on the line's bytes, never on
    how the chunks fell: a line read again after a reconnect is cut the same way.
    """

    def __init__(self, max_line: int | None = None) -> None:
        self._pending = bytearray()
        self._lines: deque[bytes] = deque()
        self._max = max_line

    def feed(self, chunk: bytes) -> None:
        self._pending += chunk
        if b"\n" in chunk:
            *lines, rest = bytes(self._pending).split(b"\n")
            self._pending = bytearray(rest)
            for line in lines:
                if self._max is not None and len(line) > self._max:
                    self._spill(part := bytearray(line))
                    line = bytes(part)
                self._lines.append(line)
        if self._max is not None:
            self._spill(self._pending)

    def _spill(self, pending: bytearray) -> None:
        """Hand on parts of a line's start while more than ``max_line`` bytes of it are known:
        the same cuts whether the line is whole or its end has not come yet."""
        assert self._max is not None
        while len(pending) > self._max:
            self._lines.append(LinePiece(self._take(pending)))

    def _take(self, pending: bytearray) -> bytes:
        assert self._max is not None
        cut = self._max
        while cut > self._max - 3 and pending[cut] & 0xC0 == 0x80:  # inside a UTF-8 character
            cut -= 1
        if pending[cut] & 0xC0 == 0x80:  # no boundary near: not UTF-8, cut anywhere
            cut = self._max
        piece = bytes(pending[:cut])
        del pending[:cut]
        return piece

    def pop(self) -> bytes | None:
        return self._lines.popleft() if self._lines else None

    def rest(self) -> bytes | None:
        """What is left at the end of the stream (a last line without a newline), once."""
        rest, self._pending = bytes(self._pending), bytearray()
        return rest or None


# -- blocking -------------------------------------------------------------------------------------


class _SyncStream:
    """An open streaming response; read on a background thread when several are followed at once."""

    def __init__(self, response: httpx.Response, max_line: int | None = None) -> None:
        self.response = response
        self._chunks = response.iter_bytes()
        self._buffer = LineBuffer(max_line)
        self._reader: threading.Thread | None = None
        # A descriptor of our own for the stream's socket, to shut it down with: the pool closes
        # its descriptor whenever the response ends, and a number closed there is soon another
        # connection's, which a shutdown (or a reader still in ``SSL_read``) must never touch.
        network = response.extensions.get("network_stream")
        sock = network.get_extra_info("socket") if network is not None else None
        self._waker = socket.socket(fileno=os.dup(sock.fileno())) if sock is not None else None

    def next_line(self) -> bytes | None:
        while True:
            line = self._buffer.pop()
            if line is not None:
                return line
            chunk = next(self._chunks, None)
            if chunk is None:
                return self._buffer.rest()
            self._buffer.feed(chunk)

    def pump_into(self, sink: queue.Queue[tuple[_SyncStream, bytes | Exception | None]]) -> None:
        """Read this stream on a background thread into ``sink`` (for ``ReadAny``); idempotent."""
        if self._reader is not None:
            return

        def pump() -> None:
            try:
                while True:
                    line = self.next_line()
                    sink.put((self, line))
                    if line is None:
                        return
            except Exception as err:
                sink.put((self, TransportError(f"the stream broke: {type(err).__name__}")))

        self._reader = threading.Thread(target=pump, name="kontinue-watch-reader", daemon=True)
        self._reader.start()

    def close(self) -> None:
        # Shut the socket down first: that wakes a reader thread blocked on it. Let the reader finish
        # before the response closes the socket, so it never reads a descriptor reused meanwhile.
        if self._waker is not None:
            with contextlib.suppress(OSError):
                self._waker.shutdown(socket.SHUT_RDWR)
        if self._reader is not None:
            self._reader.join(READER_JOIN_TIMEOUT)
        with contextlib.suppress(Exception):
            self.response.close()
        if self._waker is not None:
            self._waker.close()


class SyncTransport:
    """Performs commands with an ``httpx.Client``; thread-safe (one client serves every thread)."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.http = httpx.Client(**wire.client_options())

    def close(self) -> None:
        self.http.close()

    def run(self, op: Op[T], deadline: Deadline) -> T:
        """Drive ``op`` to completion and return its value."""
        box: list[T] = []
        for value in self.iterate(capture(op, box), deadline):
            raise TypeError(f"{op!r} emitted {value!r}; iterate it instead")
        return box[0]

    def iterate(self, op: Op[Any], deadline: Deadline) -> Iterator[Any]:
        """Drive ``op``, yielding what it emits; closing the iterator stops it and its streams."""
        streams: list[_SyncStream] = []
        lines: queue.Queue[tuple[_SyncStream, bytes | Exception | None]] = queue.Queue()
        try:
            command: Command = next(op)
            while True:
                if isinstance(command, Emit):
                    yield command.value
                    command = op.send(None)
                    continue
                try:
                    result = self._perform(command, deadline, streams, lines)
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

    def _perform(
        self,
        command: Command,
        deadline: Deadline,
        streams: list[_SyncStream],
        lines: queue.Queue[tuple[_SyncStream, bytes | Exception | None]],
    ) -> Any:
        if isinstance(command, Call):
            response = self._send(command, deadline, REQUEST_TIMEOUT, stream=False)
            return Response(response.status_code, decode_body(response.content))
        if isinstance(command, OpenStream):
            response = self._send(command.call, deadline, command.read_timeout, stream=True)
            if not response.is_success:
                try:
                    raw = response.read()
                finally:
                    response.close()
                raise self.wire.refused(command.call, response.status_code, raw)
            stream = _SyncStream(response, command.max_line)
            streams.append(stream)
            return stream
        if isinstance(command, ReadLine):  # read like ReadAny, so deadlines and cancels interrupt it
            answer = self._read_any(ReadAny((command.stream,)), deadline, lines)
            assert answer is not None
            if isinstance(answer[1], Exception):
                raise answer[1]
            return answer[1]
        if isinstance(command, ReadAny):
            return self._read_any(command, deadline, lines)
        if isinstance(command, CloseStream):
            assert isinstance(command.stream, _SyncStream)
            command.stream.close()
            streams.remove(command.stream)
            return None
        if isinstance(command, Sleep):
            time.sleep(deadline.bound(command.seconds))
            deadline.remaining()
            return None
        raise TypeError(f"unknown command {command!r}")

    @staticmethod
    def _read_any(
        command: ReadAny,
        deadline: Deadline,
        lines: queue.Queue[tuple[_SyncStream, bytes | Exception | None]],
    ) -> tuple[_SyncStream, bytes | Exception | None] | None:
        wanted = set()
        for stream in command.streams:
            assert isinstance(stream, _SyncStream)
            stream.pump_into(lines)
            wanted.add(stream)
        give_up = None if command.timeout is None else time.monotonic() + command.timeout
        while True:
            wait = deadline.bound(
                SLICE if give_up is None else min(SLICE, max(0.0, give_up - time.monotonic()))
            )
            try:
                stream, item = lines.get(timeout=wait)
            except queue.Empty:
                deadline.remaining()
                if give_up is not None and time.monotonic() >= give_up:
                    return None
                continue
            if stream in wanted:  # lines of streams closed meanwhile are dropped
                return stream, item

    def _send(self, call: Call, deadline: Deadline, timeout: float | None, *, stream: bool) -> httpx.Response:
        """Send ``call``; after a 401, once more with renewed credentials when there are some;
        after a 429 or 5xx with ``Retry-After``, again when it says (:meth:`Wire.retry_after`)."""
        credentials = self.wire.credentials
        issued: Issued = credentials.current() or credentials.renew()
        renewed_once, throttled = False, 0
        while True:
            wait = self.wire.reserve(call)
            if wait:
                time.sleep(wait)
            read = deadline.bound(timeout or REQUEST_TIMEOUT)
            request = self.wire.build(self.http, call, issued, read, stream=stream)
            try:
                response = self.http.send(request, stream=stream)
                if not stream:
                    response.read()
            except _BROKEN as err:
                deadline.remaining()  # a read cut short by the deadline is a timeout
                raise self.wire.unreachable(err, call) from None
            pause = self.wire.retry_after(response, throttled)
            if pause is not None:
                throttled += 1
                response.close()
                time.sleep(deadline.bound(pause))
                deadline.remaining()
                continue
            if response.status_code != 401:
                return response
            renewed = None if renewed_once else credentials.rejected(issued)
            renewed_once = True
            if renewed is None:
                raw = response.read()
                response.close()
                raise self.wire.refused(call, 401, raw)
            response.close()
            issued = renewed


# -- asyncio --------------------------------------------------------------------------------------


class _AsyncStream:
    """An open streaming response, read line by line; one read in flight at a time."""

    def __init__(
        self, response: httpx.Response, max_line: int | None = None, lane: _Lane | None = None
    ) -> None:
        self.response = response
        self._chunks: AsyncIterator[bytes] = response.aiter_bytes()
        self._buffer = LineBuffer(max_line)
        self.pending: asyncio.Task[bytes | None] | None = None
        self.lane = lane
        self.ended = False
        """Whether the server ended the stream (read to its end), rather than we leaving it."""

    async def _next_line(self) -> bytes | None:
        while True:
            line = self._buffer.pop()
            if line is not None:
                return line
            chunk = await anext(self._chunks, None)
            if chunk is None:
                self.ended = True
                return self._buffer.rest()
            self._buffer.feed(chunk)

    def reading(self) -> asyncio.Task[bytes | None]:
        """The read of this stream's next line, started once and kept until it finishes."""
        if self.pending is None:
            self.pending = asyncio.ensure_future(self._next_line())
        return self.pending

    async def close(self) -> None:
        if self.pending is not None:
            self.pending.cancel()
            with contextlib.suppress(BaseException):
                await self.pending
        with contextlib.suppress(Exception):
            await self.response.aclose()
        if self.lane is not None:
            lane, self.lane = self.lane, None
            await lane.release(ended=self.ended)


class _Lane:
    """One HTTP/2 connection (its own ``httpx.AsyncClient``) that up to :data:`STREAMS_PER_LANE`
    multiplexed streams share.

    httpcore does not reset a stream closed before its end (it only stops reading it): the API
    server goes on holding it, and its unread data uses up the connection's flow-control window.
    So a lane that had :data:`LEFT_STREAMS_PER_LANE` streams left that way takes no new ones, and
    closes once its last stream is done; closing the connection frees whatever the server held.
    """

    def __init__(self, lanes: _Lanes, http: httpx.AsyncClient) -> None:
        self.lanes = lanes
        self.http = http
        self.open = 0
        self.left = 0

    @property
    def accepting(self) -> bool:
        return self.open < STREAMS_PER_LANE and self.left < LEFT_STREAMS_PER_LANE

    async def release(self, *, ended: bool) -> None:
        self.open -= 1
        if not ended:
            self.left += 1
        if not self.accepting and self.open == 0:
            await self.lanes.retire(self)


class _Lanes:
    """The HTTP/2 connections of an :class:`AsyncTransport`'s multiplexed streams (log follows)."""

    def __init__(self, options: dict[str, Any]) -> None:
        self.options = options
        self.lanes: list[_Lane] = []

    def take(self) -> _Lane:
        """A lane with room for one more stream (counted as open from now on)."""
        lane = next((lane for lane in self.lanes if lane.accepting), None)
        if lane is None:
            lane = _Lane(self, httpx.AsyncClient(http2=True, **self.options))
            self.lanes.append(lane)
        lane.open += 1
        return lane

    async def retire(self, lane: _Lane) -> None:
        if lane in self.lanes:
            self.lanes.remove(lane)
            await lane.http.aclose()

    async def close(self) -> None:
        lanes, self.lanes = self.lanes, []
        for lane in lanes:
            await lane.http.aclose()


class AsyncTransport:
    """Performs commands with an ``httpx.AsyncClient``; never blocks the event loop (credentials
    are renewed in a worker thread)."""

    def __init__(self, wire: Wire) -> None:
        self.wire = wire
        self.http = httpx.AsyncClient(**wire.client_options())
        self.lanes = _Lanes(wire.client_options())

    async def close(self) -> None:
        await self.lanes.close()
        await self.http.aclose()

    async def run(self, op: Op[T], deadline: Deadline) -> T:
        """Drive ``op`` to completion and return its value."""
        box: list[T] = []
        async for value in self.iterate(capture(op, box), deadline):
            raise TypeError(f"{op!r} emitted {value!r}; iterate it instead")
        return box[0]

    async def iterate(self, op: Op[Any], deadline: Deadline) -> AsyncIterator[Any]:
        """Drive ``op``, yielding what it emits; closing the iterator stops it and its streams."""
        streams: list[_AsyncStream] = []
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
                await stream.close()

    async def _perform(self, command: Command, deadline: Deadline, streams: list[_AsyncStream]) -> Any:
        if isinstance(command, Call):
            response = await self._send(command, deadline, REQUEST_TIMEOUT, stream=False)
            return Response(response.status_code, decode_body(response.content))
        if isinstance(command, OpenStream):
            lane = self.lanes.take() if command.multiplex else None
            try:
                response = await self._send(
                    command.call, deadline, command.read_timeout, stream=True, lane=lane
                )
                if not response.is_success:
                    try:
                        raw = await response.aread()
                    finally:
                        await response.aclose()
                    raise self.wire.refused(command.call, response.status_code, raw)
            except BaseException:
                if lane is not None:
                    await lane.release(ended=True)  # a refused stream holds nothing on the server
                raise
            stream = _AsyncStream(response, command.max_line, lane)
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
            assert isinstance(command.stream, _AsyncStream)
            streams.remove(command.stream)
            await command.stream.close()
            return None
        if isinstance(command, Sleep):
            await asyncio.sleep(deadline.bound(command.seconds))
            deadline.remaining()
            return None
        raise TypeError(f"unknown command {command!r}")

    @staticmethod
    async def _read_any(
        command: ReadAny, deadline: Deadline
    ) -> tuple[_AsyncStream, bytes | Exception | None] | None:
        streams = [stream for stream in command.streams if isinstance(stream, _AsyncStream)]
        tasks = {stream.reading(): stream for stream in streams}
        loop = asyncio.get_running_loop()
        give_up = None if command.timeout is None else loop.time() + command.timeout
        while True:  # in slices, so a cancel event (not only task cancellation) is noticed
            left = SLICE if give_up is None else min(SLICE, max(0.0, give_up - loop.time()))
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
        except _BROKEN as err:
            return stream, TransportError(f"the stream broke: {type(err).__name__}")
        return stream, line

    async def _send(
        self,
        call: Call,
        deadline: Deadline,
        timeout: float | None,
        *,
        stream: bool,
        lane: _Lane | None = None,
    ) -> httpx.Response:
        """Send ``call`` (on ``lane``'s connection when given); after a 401, once more with
        renewed credentials when there are some; after a 429 or 5xx with ``Retry-After``, again
        when it says (:meth:`Wire.retry_after`)."""
        http = self.http if lane is None else lane.http
        credentials = self.wire.credentials
        current = credentials.current()
        issued = current if current is not None else await asyncio.to_thread(credentials.renew)
        renewed_once, throttled = False, 0
        while True:
            wait = self.wire.reserve(call)
            if wait:
                await asyncio.sleep(wait)
            read = deadline.bound(timeout or REQUEST_TIMEOUT)
            request = self.wire.build(http, call, issued, read, stream=stream, multiplexed=lane is not None)
            try:
                response = await http.send(request, stream=stream)
                if not stream:
                    await response.aread()
            except _BROKEN as err:
                deadline.remaining()  # a read cut short by the deadline is a timeout
                raise self.wire.unreachable(err, call) from None
            pause = self.wire.retry_after(response, throttled)
            if pause is not None:
                throttled += 1
                await response.aclose()
                await asyncio.sleep(deadline.bound(pause))
                deadline.remaining()
                continue
            if response.status_code != 401:
                return response
            renewed = None if renewed_once else await asyncio.to_thread(credentials.rejected, issued)
            renewed_once = True
            if renewed is None:
                raw = await response.aread()
                await response.aclose()
                raise self.wire.refused(call, 401, raw)
            await response.aclose()
            issued = renewed
