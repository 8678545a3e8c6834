"""Runs sans-IO operations on the ``kubernetes`` package (blocking, thread-safe)."""

from __future__ import annotations

import contextlib
import queue
import ssl
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from typing import Any, TypeVar

import urllib3

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
"""Longest uninterrupted wait for a stream line: how quickly a cancel or a deadline is noticed."""
REQUEST_TIMEOUT = 60.0


def _unreachable(err: Exception, call: Call) -> KontinueError:
    """The error for a request that never got an answer: TLS refusals are permanent."""
    reason = getattr(err, "reason", None) or err
    if isinstance(reason, (urllib3.exceptions.SSLError, ssl.SSLError)):
        return TLSVerificationError(
            f"cannot reach the API server: TLS verification failed ({reason}); check the kubeconfig's "
            "certificate-authority for this cluster",
            verb=call.verb,
            resource=call.resource,
            namespace=call.namespace,
            name=call.name,
        )
    return TransportError(
        f"cannot reach the API server ({type(err).__name__}: {reason})",
        verb=call.verb,
        resource=call.resource,
        namespace=call.namespace,
        name=call.name,
    )


class _Stream:
    """An open streaming response and an iterator over its lines."""

    def __init__(self, response: Any) -> None:
        self.response = response
        self._lines = self._iter_lines()
        self._reader: threading.Thread | None = None

    def _iter_lines(self) -> Iterator[bytes]:
        pending = b""
        for chunk in self.response.stream(2**16, decode_content=True):
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield line
        if pending:
            yield pending

    def next_line(self) -> bytes | None:
        return next(self._lines, None)

    def pump_into(self, sink: queue.Queue[tuple[_Stream, bytes | Exception | None]]) -> None:
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
        # Close the connection rather than return it to the pool: a half-read stream would hand
        # its leftover bytes to the next request on that connection.
        shutdown = getattr(self.response, "shutdown", None)  # urllib3 >= 2.3: unblocks a reader thread
        with contextlib.suppress(Exception):
            if shutdown is not None:
                shutdown()
        with contextlib.suppress(Exception):
            self.response.close()


class SyncDriver:
    """Performs commands with a ``kubernetes.client.ApiClient``, rate limited by ``limiter``."""

    def __init__(self, api_client: Any, limiter: TokenBucket, headers: Mapping[str, str]) -> None:
        self.api_client = api_client
        self.limiter = limiter
        self.headers = dict(headers)
        self.requests = 0
        """Requests sent so far (calls and stream opens), for benchmarks and request budgets."""
        self.requests_by_verb: Counter[str] = Counter()

    def run(self, op: Op[T], deadline: Deadline) -> T:
        """Drive ``op`` to completion and return its value."""
        box: list[T] = []
        for value in self.iterate(capture(op, box), deadline):
            raise TypeError(f"{op!r} emitted {value!r}; iterate it instead")
        return box[0]

    def iterate(self, op: Op[Any], deadline: Deadline) -> Iterator[Any]:
        """Drive ``op``, yielding what it emits; closing the iterator stops it and its streams."""
        streams: list[_Stream] = []
        lines: queue.Queue[tuple[_Stream, bytes | Exception | None]] = queue.Queue()
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
        streams: list[_Stream],
        lines: queue.Queue[tuple[_Stream, bytes | Exception | None]],
    ) -> Any:
        if isinstance(command, Call):
            return self._call(command, deadline)
        if isinstance(command, OpenStream):
            stream = self._open(command, deadline)
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
            assert isinstance(command.stream, _Stream)
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
        command: ReadAny, deadline: Deadline, lines: queue.Queue[tuple[_Stream, bytes | Exception | None]]
    ) -> tuple[_Stream, bytes | Exception | None] | None:
        wanted = set()
        for stream in command.streams:
            assert isinstance(stream, _Stream)
            stream.pump_into(lines)
            wanted.add(stream)
        give_up = None if command.timeout is None else time.monotonic() + command.timeout
        while True:
            # Short waits, so a cancel (TreeWatcher.stop) is noticed promptly.
            wait = deadline.bound(
                0.25 if give_up is None else min(0.25, max(0.0, give_up - time.monotonic()))
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

    def _send(self, call: Call, timeout: tuple[float, float]) -> Any:
        self.requests += 1
        self.requests_by_verb[call.verb] += 1
        wait = self.limiter.reserve()
        if wait:
            time.sleep(wait)
        method, url, headers, body, _ = self.api_client.param_serialize(
            call.method,
            call.path,
            query_params=query_list(call),
            header_params=request_headers(call, self.headers),
            body=call.body,
            auth_settings=["BearerToken"],
        )
        try:
            return self.api_client.call_api(method, url, headers, body, _request_timeout=timeout)
        except (urllib3.exceptions.HTTPError, OSError) as err:
            raise _unreachable(err, call) from None

    def _call(self, call: Call, deadline: Deadline) -> Response:
        read = deadline.bound(REQUEST_TIMEOUT)
        response = self._send(call, (min(CONNECT_TIMEOUT, read), read))
        try:
            return Response(response.status, decode_body(response.read()))
        except (urllib3.exceptions.HTTPError, OSError) as err:
            deadline.remaining()
            raise TransportError(f"the response broke off ({type(err).__name__})") from None

    def _open(self, command: OpenStream, deadline: Deadline) -> _Stream:
        read = deadline.bound(command.read_timeout or REQUEST_TIMEOUT)
        response = self._send(command.call, (min(CONNECT_TIMEOUT, read), read))
        if not 200 <= response.status < 300:
            call = command.call
            error: KontinueError = error_from_status(
                response.status,
                decode_body(response.read()),
                verb=call.verb,
                resource=call.resource,
                namespace=call.namespace,
                name=call.name,
            )
            raise error
        return _Stream(response.response)
