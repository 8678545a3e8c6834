"""The sans-IO protocol: operations describe requests, drivers perform them.

Every client operation is written once, as a generator that yields *commands* and receives their
results: ``Call`` (one HTTP request, answered with a ``Response``), ``OpenStream`` / ``ReadLine``
(a watch or a log stream, answered line by line), ``Sleep`` (backoff) and ``Emit`` (a value for
whoever iterates a long-running operation: log lines, tree updates). The transport
(``transport.py``) runs it on ``httpx.Client`` or ``httpx.AsyncClient``; it knows nothing
about kontinue, and the operations know nothing about sockets. Transport failures are thrown into
the generator as :class:`TransportError`, so retry and reconnect logic lives in the operation too.
"""

from __future__ import annotations

import json
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

from .errors import KontinueError, error_from_status

T = TypeVar("T")

JSON_PATCH = "application/json-patch+json"
MERGE_PATCH = "application/merge-patch+json"


@dataclass(frozen=True)
class Call:
    """One HTTP request to the API server, with what it is about for error messages."""

    method: str
    path: str
    query: Mapping[str, str] = field(default_factory=dict)
    body: Any = None
    content_type: str = "application/json"
    verb: str = "get"
    resource: str = ""
    namespace: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Response:
    """An API server answer: the HTTP status and the decoded JSON body (``None`` when empty)."""

    status: int
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


@dataclass(frozen=True)
class OpenStream:
    """Open a streaming GET (watch, log follow); the driver answers with an opaque stream handle."""

    call: Call
    read_timeout: float | None = None
    max_line: int | None = None
    """Longest line handed on whole: a longer one comes as :class:`LinePiece` parts of at most this
    many bytes, so a stream never holds more than that (a log line without a newline, 50 MiB)."""
    multiplex: bool = False
    """The stream may share an HTTP/2 connection with others (log follows): thousands of them then
    need a handful of connections. The async transport honours it; the blocking one does not."""


class LinePiece(bytes):
    """A part of a line longer than the stream's ``max_line``, cut at a UTF-8 boundary: the next
    line read continues it (the last part of the line is plain ``bytes``)."""


@dataclass(frozen=True)
class ReadLine:
    """Read the next line of an open stream; the driver answers ``None`` at a clean end of stream."""

    stream: object


@dataclass(frozen=True)
class ReadAny:
    """Wait for the next line on any of several open streams, at most ``timeout`` seconds.

    The driver answers ``(stream, line)`` where ``line`` is the line, ``None`` at a clean end of
    that stream, or the :class:`TransportError` that broke it; or ``None`` when ``timeout`` passed
    with no line. This is how one operation follows several watches at once.
    """

    streams: tuple[object, ...]
    timeout: float | None = None


@dataclass(frozen=True)
class CloseStream:
    """Close an open stream early (drivers also close every stream an operation leaves open)."""

    stream: object


@dataclass(frozen=True)
class Sleep:
    """Wait before the next step (reconnect backoff); cancellable like any other wait."""

    seconds: float


@dataclass(frozen=True)
class Emit:
    """Hand ``value`` to whoever iterates the operation (log lines, tree updates), then go on."""

    value: Any


Command: TypeAlias = Call | OpenStream | ReadLine | ReadAny | CloseStream | Sleep | Emit
Op: TypeAlias = Generator[Command, Any, T]
"""An operation: yields commands, receives their results, returns its value."""


class TransportError(KontinueError):
    """The connection failed or dropped (thrown into operations, which may reconnect)."""


def capture(op: Op[T], box: list[T]) -> Op[None]:
    """Run ``op`` and put its return value in ``box``: lets one driver loop serve run and iterate."""
    box.append((yield from op))


def call(request: Call) -> Generator[Command, Any, Response]:
    """Perform ``request`` and return the response, whatever its status."""
    response: Response = yield request
    return response


def failure(request: Call, response: Response) -> KontinueError:
    """The error for a failed ``request``, naming what was attempted and what the server said."""
    return error_from_status(
        response.status,
        response.body,
        verb=request.verb,
        resource=request.resource,
        namespace=request.namespace,
        name=request.name,
    )


def expect(request: Call) -> Generator[Command, Any, Any]:
    """Perform ``request``; return its JSON body on success, raise the matching error otherwise."""
    response: Response = yield request
    if response.ok:
        return response.body
    raise failure(request, response)


def decode_body(raw: bytes) -> Any:
    """JSON-decode a response body; a non-JSON body is kept as text (error pages, logs)."""
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", errors="replace")
