"""One exception hierarchy for everything the kontinue client can raise.

Users catch :class:`KontinueError` (or one of its precise subclasses) and never see a bare
``ApiException`` or a page of JSON: every error carries what was attempted (``verb``, ``resource``,
``namespace``, ``name``), what the server said (``reason``, HTTP ``status``) and a one-line human
message. :func:`error_from_status` turns a Kubernetes ``Status`` response into the right class; it is
pure, so the sync and async drivers share it.

Errors never carry credentials: messages pass through :func:`redact`, which masks bearer tokens,
JWTs and kubeconfig secrets (``token:``, ``client-key-data:`` ...), in case a server, proxy or
config loader echoes one.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any, ClassVar

__all__ = [
    "AlreadyExistsError",
    "ArchiveDecodeError",
    "ConfigError",
    "ConflictError",
    "ErrorCause",
    "ForbiddenError",
    "GoneError",
    "InvalidStateError",
    "KontinueError",
    "KontinueTimeoutError",
    "NotFoundError",
    "ResultDecodeError",
    "ServerError",
    "TLSVerificationError",
    "UnauthorizedError",
    "ValidationError",
    "WatchError",
    "error_from_status",
    "redact",
]

_REDACTIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(?i)\b(bearer|basic)\s+[A-Za-z0-9\-._~+/]+=*"), r"\1 [REDACTED]"),
    (re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*"), "[REDACTED]"),
    (
        re.compile(
            r"(?i)(\"?\b(?:token|id-token|refresh-token|access-token|password|client-key-data|"
            r"client-certificate-data|certificate-authority-data|secret)\"?\s*[:=]\s*)"
            r"(\"[^\"]*\"|'[^']*'|[^\s,}]+)"
        ),
        r"\1[REDACTED]",
    ),
)
_MAX_BODY_SNIPPET = 300


def redact(text: str) -> str:
    """Mask bearer tokens, JWTs and kubeconfig secret fields in ``text``."""
    for pattern, replacement in _REDACTIONS:
        text = pattern.sub(replacement, text)
    return text


class KontinueError(Exception):
    """Base of every error the kontinue client raises.

    Attributes:
        message: The human message (from the server's ``Status`` when there was one).
        verb: The Kubernetes verb attempted (``get``, ``create``, ``patch``, ``watch`` ...).
        resource: The resource addressed, e.g. ``executions``.
        namespace: The namespace addressed.
        name: The object addressed.
        reason: The server's machine-readable reason (``NotFound``, ``Forbidden`` ...).
        status: The HTTP status code, when the error came from the API server.
    """

    category: ClassVar[str] = "kontinue error"
    """Short words that open ``str(error)`` unless the message already says them."""
    show_status: ClassVar[bool] = True
    """Whether ``str(error)`` shows the HTTP status (pointless where the class already says it)."""

    def __init__(
        self,
        message: str = "",
        *,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        reason: str | None = None,
        status: int | None = None,
    ) -> None:
        self.verb = verb
        self.resource = resource
        self.namespace = namespace
        self.name = name
        self.reason = reason
        self.status = status
        self.message = redact(message) if message else self._subject() or self.category
        super().__init__(self.message)

    def _subject(self) -> str:
        """``executions "x" in namespace "infra"``: what the failed call addressed."""
        parts = []
        if self.resource:
            parts.append(self.resource)
        if self.name:
            parts.append(f'"{self.name}"')
        if self.namespace:
            parts.append(f'in namespace "{self.namespace}"')
        return " ".join(parts)

    def _context(self) -> list[str]:
        """``key=value`` items for the parenthesised tail of ``str(error)``."""
        items = [f"verb={self.verb}"] if self.verb else []
        for label, value in (("resource", self.resource), ("namespace", self.namespace), ("name", self.name)):
            if value and not _names(self.message, value):
                items.append(f"{label}={value}")
        if self.status and self.show_status:
            items.append(f"status={self.status}")
        return items

    def _says_what_went_wrong(self) -> bool:
        """Whether the message already tells the kind of failure, making the category redundant."""
        return self.category.lower() in self.message.lower()

    def __str__(self) -> str:
        text = self.message if self._says_what_went_wrong() else f"{self.category}: {self.message}"
        context = self._context()
        return f"{text} ({', '.join(context)})" if context else text

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class NotFoundError(KontinueError):
    """The object does not exist (HTTP 404), live or archived, or nothing matched."""

    category = "not found"
    show_status = False


class AlreadyExistsError(KontinueError):
    """Create refused: an object with that name exists (HTTP 409, reason ``AlreadyExists``)."""

    category = "already exists"
    show_status = False


class ConflictError(KontinueError):
    """The object changed under us (HTTP 409) and re-reading and retrying did not settle it."""

    category = "conflict"
    show_status = False


class ForbiddenError(KontinueError):
    """RBAC refused the call (HTTP 403); the message says which user, verb and resource."""

    category = "forbidden"
    show_status = False


class UnauthorizedError(KontinueError):
    """The credentials were missing, expired or rejected (HTTP 401)."""

    category = "unauthorized"
    show_status = False


class InvalidStateError(KontinueError):
    """The object's phase forbids the operation, e.g. canceling a Completed execution."""

    category = "invalid state"
    show_status = False


@dataclass(frozen=True)
class ErrorCause:
    """One field-level complaint from a Kubernetes ``Status`` (``details.causes[]``)."""

    field: str | None
    message: str
    reason: str | None = None


class ValidationError(KontinueError, ValueError):
    """Bad input: refused before anything was written, or rejected by the server (HTTP 400/422).

    Attributes:
        field: The offending field, e.g. ``ListOptions.function`` or ``spec.function``.
        causes: Every field-level cause the server listed (empty for client-side checks).
    """

    category = "invalid"
    show_status = False

    def __init__(
        self,
        message: str = "",
        *,
        field: str | None = None,
        causes: Sequence[ErrorCause] = (),
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        reason: str | None = None,
        status: int | None = None,
    ) -> None:
        self.field = field
        self.causes = tuple(causes)
        super().__init__(
            message,
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
            reason=reason,
            status=status,
        )

    def _says_what_went_wrong(self) -> bool:
        # Client-side checks start with the field ("ListOptions.function: 'a,b' is not ...").
        return super()._says_what_went_wrong() or bool(self.field and self.message.startswith(self.field))

    def _context(self) -> list[str]:
        items = super()._context()
        if self.field and self.field not in self.message:
            items.insert(0, f"field={self.field}")
        return items


class ResultDecodeError(KontinueError, ValueError):
    """The execution's result does not fit the type the caller asked for."""

    category = "cannot decode result"
    show_status = False


class ArchiveDecodeError(KontinueError, ValueError):
    """An ArchivedExecution's ``spec.tree`` is not a readable ``gzip+base64`` tree document."""

    category = "cannot decode archive"
    show_status = False


class WatchError(KontinueError):
    """A watch stream broke or reported an error event."""

    category = "watch error"


class GoneError(WatchError):
    """The ``resourceVersion`` a watch or list resumed from has expired (HTTP 410): relist."""

    category = "gone"
    show_status = False


class KontinueTimeoutError(KontinueError, TimeoutError):
    """A wait or call ran out of time. Also a builtin ``TimeoutError``, so either catch works."""

    category = "timed out"
    show_status = False


class ServerError(KontinueError):
    """The API server was overloaded or failed (HTTP 429 or 5xx); usually worth retrying later.

    Attributes:
        retry_after: Seconds the server asked us to wait (``details.retryAfterSeconds``), if any.
    """

    category = "server error"

    def __init__(
        self,
        message: str = "",
        *,
        retry_after: float | None = None,
        verb: str | None = None,
        resource: str | None = None,
        namespace: str | None = None,
        name: str | None = None,
        reason: str | None = None,
        status: int | None = None,
    ) -> None:
        self.retry_after = retry_after
        super().__init__(
            message,
            verb=verb,
            resource=resource,
            namespace=namespace,
            name=name,
            reason=reason,
            status=status,
        )


class ConfigError(KontinueError):
    """The kubeconfig, context or in-cluster configuration is missing or unusable."""

    category = "config error"
    show_status = False


class TLSVerificationError(ConfigError):
    """The API server's certificate is not signed by the CA the configuration trusts.

    A configuration problem, not a passing fault: retrying cannot help, so watches and waits end
    with it at once instead of reconnecting.
    """

    category = "TLS verification failed"


# --- Kubernetes Status -> exception ---------------------------------------------------------------


@dataclass(frozen=True)
class _Status:
    """The parts of a Kubernetes ``Status`` object the mapping needs."""

    code: int | None = None
    message: str | None = None
    reason: str | None = None
    causes: tuple[ErrorCause, ...] = ()
    retry_after: float | None = None
    name: str | None = None
    snippet: str | None = None


def _parse_status(body: str | bytes | Mapping[str, Any] | None) -> _Status:
    """Read a ``Status`` out of a response body; a non-Status body yields a short text snippet."""
    if body is None:
        return _Status()
    document: Any = body
    if isinstance(body, (bytes, bytearray)):
        document = body.decode("utf-8", errors="replace")
    if isinstance(document, str):
        text = document.strip()
        try:
            document = json.loads(text) if text else None
        except ValueError:
            first_line = text.splitlines()[0] if text else ""
            return _Status(snippet=first_line[:_MAX_BODY_SNIPPET] or None)
    if not isinstance(document, Mapping):
        return _Status()
    details = document.get("details")
    details = details if isinstance(details, Mapping) else {}
    causes = []
    for cause in details.get("causes") or ():
        if isinstance(cause, Mapping):
            causes.append(
                ErrorCause(
                    field=_str_or_none(cause.get("field")),
                    message=str(cause.get("message") or ""),
                    reason=_str_or_none(cause.get("reason")),
                )
            )
    code = document.get("code")
    retry_after = details.get("retryAfterSeconds")
    return _Status(
        code=code if isinstance(code, int) and not isinstance(code, bool) else None,
        message=_str_or_none(document.get("message")),
        reason=_str_or_none(document.get("reason")),
        causes=tuple(causes),
        retry_after=float(retry_after) if isinstance(retry_after, (int, float)) else None,
        name=_str_or_none(details.get("name")),
    )


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _phrase(code: int) -> str:
    try:
        return HTTPStatus(code).phrase
    except ValueError:
        return "error"


def error_from_status(
    status: int | None,
    body: str | bytes | Mapping[str, Any] | None,
    *,
    verb: str | None = None,
    resource: str | None = None,
    namespace: str | None = None,
    name: str | None = None,
) -> KontinueError:
    """Map an HTTP status and Kubernetes ``Status`` body to the matching :class:`KontinueError`.

    ``body`` may be the raw response (``str``/``bytes``), an already decoded ``Status`` dict (a watch
    ``ERROR`` event's object) or ``None``. When ``status`` is ``None`` or 0 the body's ``code`` is
    used. The message is the server's ``message``; the mapping is:

    - 400, 422 -> :class:`ValidationError` (``field`` = the first ``details.causes[].field``)
    - 401 -> :class:`UnauthorizedError`; 403 -> :class:`ForbiddenError`; 404 -> :class:`NotFoundError`
    - 409 -> :class:`AlreadyExistsError` if reason is ``AlreadyExists``, else :class:`ConflictError`
    - 410 -> :class:`GoneError` (watch/list must relist)
    - 429, 5xx -> :class:`ServerError` (with ``retry_after``); anything else -> :class:`KontinueError`
    """
    parsed = _parse_status(body)
    code = status or parsed.code or 0
    if parsed.message:
        message = parsed.message
    elif code:
        message = f"HTTP {code} {_phrase(code)}" + (f": {parsed.snippet}" if parsed.snippet else "")
    else:
        message = parsed.snippet or "request failed"
    context: dict[str, Any] = {
        "verb": verb,
        "resource": resource,
        "namespace": namespace,
        "name": name or parsed.name,
        "reason": parsed.reason,
        "status": code or None,
    }
    if code in (400, 422) or parsed.reason in ("Invalid", "BadRequest"):
        fields = [cause.field for cause in parsed.causes if cause.field]
        return ValidationError(message, field=fields[0] if fields else None, causes=parsed.causes, **context)
    if code == 401 or parsed.reason == "Unauthorized":
        return UnauthorizedError(message, **context)
    if code == 403 or parsed.reason == "Forbidden":
        return ForbiddenError(message, **context)
    if code == 404 or parsed.reason == "NotFound":
        return NotFoundError(message, **context)
    if parsed.reason == "AlreadyExists":
        return AlreadyExistsError(message, **context)
    if code == 409 or parsed.reason == "Conflict":
        return ConflictError(message, **context)
    if code == 410 or parsed.reason in ("Expired", "Gone"):
        return GoneError(message, **context)
    if code == 429 or code >= 500:
        return ServerError(message, retry_after=parsed.retry_after, **context)
    return KontinueError(message, **context)


def _names(message: str, value: str) -> bool:
    """Whether ``message`` names ``value`` as a word of its own: namespace ``ns`` is not named by
    the user ``robot-ns``, so the error's context still says which namespace was addressed."""
    return re.search(rf"(?<![\w.-]){re.escape(value)}(?![\w-])", message) is not None
