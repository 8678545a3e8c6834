"""Credentials that renew: the ``Authorization`` header of every request, fresh when it is sent.

Long waits outlive their credentials. An EKS or GKE kubeconfig hands out tokens through an exec
plugin that expire within the hour; the kubelet rewrites a pod's service-account token file about
hourly; a bearer token file may be rotated by whoever provisions it. A :class:`Credentials` holds
one source of such a header and renews it, as client-go does:

- before it expires: an exec plugin's ``expirationTimestamp`` (less a little headroom), a token
  file every :data:`TOKEN_FILE_REREAD` seconds;
- after the API server answered 401 to it: the transport asks :meth:`Credentials.rejected` for a
  new header and sends the request once more with it. When the source has nothing new to give (a
  revoked token in a static kubeconfig, a plugin that keeps printing the same token), the request
  ends with an :class:`~.errors.UnauthorizedError` naming the user and what to fix, never a loop.

Renewing may block (a plugin runs as a subprocess, a file is read): the sync transport renews in
line, the async one in a worker thread, so the event loop never waits on it. :meth:`current` is
the non-blocking fast path both take first.
"""

from __future__ import annotations

import datetime
import json
import subprocess
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ConfigError

TOKEN_FILE_REREAD = 60.0
"""Seconds a token read from a file is used before the file is read again (client-go: one minute)."""
EXPIRY_HEADROOM = 60.0
"""An expiring credential is renewed this long before it expires (less for short-lived ones)."""
EXEC_TIMEOUT = 60.0
"""How long an exec credential plugin may run."""


@dataclass(frozen=True)
class Issued:
    """A header a source produced, and when (``time.monotonic``) it should be renewed."""

    header: str | None
    renew_at: float | None = None


class Source:
    """Where a header comes from. ``issue`` may block; it raises :class:`ConfigError` with a fix."""

    renewable = True
    """Whether asking again can give another header (a static token cannot)."""

    def issue(self) -> Issued:
        raise NotImplementedError


class StaticHeader(Source):
    """A header written into the kubeconfig (``token``, basic auth), or none at all."""

    renewable = False

    def __init__(self, header: str | None) -> None:
        self._header = header

    def issue(self) -> Issued:
        return Issued(self._header)


class TokenFile(Source):
    """A bearer token file (kubeconfig ``tokenFile``, a pod's service-account token), re-read
    every :data:`TOKEN_FILE_REREAD` seconds and after a 401."""

    def __init__(self, path: Path, what: str = "token file") -> None:
        self.path = path
        self._what = what

    def issue(self) -> Issued:
        try:
            token = self.path.read_text().strip()
        except OSError as err:
            raise ConfigError(
                f"cannot read the {self._what} {self.path} ({err.strerror or type(err).__name__}); "
                "check that it exists and that this process may read it"
            ) from None
        if not token:
            raise ConfigError(f"the {self._what} {self.path} is empty; it should hold a bearer token")
        return Issued(f"Bearer {token}", time.monotonic() + TOKEN_FILE_REREAD)


class ExecPlugin(Source):
    """A ``client.authentication.k8s.io`` exec credential plugin, run with the ``kubernetes``
    package's :class:`ExecProvider`; its token is kept until shortly before ``expirationTimestamp``.

    Plugins that hand out client certificates are run once, when the client connects (the TLS
    context is built from them); their certificates are not renewed while the client lives.
    """

    def __init__(self, exec_config: Mapping[str, Any], base_path: str, cluster: Mapping[str, Any]) -> None:
        self.command = str(exec_config.get("command") or "")
        self._config = dict(exec_config)
        self._base_path = base_path
        self._cluster = dict(cluster)
        self._primed: dict[str, Any] | None = None

    def prime(self, status: dict[str, Any]) -> None:
        """Use ``status`` (the answer of a run made while connecting) for the first header."""
        self._primed = status

    def run(self) -> dict[str, Any]:
        """The plugin's ``status``; every way it can fail is a :class:`ConfigError` naming it."""
        from kubernetes.config.config_exception import ConfigException
        from kubernetes.config.exec_provider import ExecProvider
        from kubernetes.config.kube_config import ConfigNode

        name = f"the exec credential plugin {self.command!r}"
        if not self.command:
            raise ConfigError("the kubeconfig user's exec section names no command; set exec.command")
        try:
            provider = ExecProvider(
                ConfigNode("exec", self._config), self._base_path, ConfigNode("cluster", self._cluster)
            )
            status = _run_with_timeout(provider.run)
        except FileNotFoundError:
            raise ConfigError(
                f"{name} was not found; install it or fix exec.command in the kubeconfig"
            ) from None
        except PermissionError:
            raise ConfigError(f"{name} is not executable; check its file mode") from None
        except subprocess.TimeoutExpired:
            raise ConfigError(f"{name} did not answer within {EXEC_TIMEOUT:.0f} s") from None
        except ConfigException as err:
            raise ConfigError(f"{name} failed: {_plugin_problem(str(err))}") from None
        except (OSError, ValueError, KeyError, TypeError) as err:
            raise ConfigError(f"{name} failed: {type(err).__name__}") from None
        if not isinstance(status, Mapping):
            raise ConfigError(f"{name} printed an ExecCredential without a status object")
        return dict(status)

    def issue(self) -> Issued:
        status, self._primed = self._primed, None
        return self.issued(status if status is not None else self.run())

    def issued(self, status: Mapping[str, Any]) -> Issued:
        """The header of the plugin's answer ``status``."""
        token = status.get("token")
        if not isinstance(token, str) or not token:
            if "clientCertificateData" in status:
                return Issued(None)  # certificates: the TLS context carries them
            raise ConfigError(
                f"the exec credential plugin {self.command!r} printed no status.token and no client "
                "certificate"
            )
        return Issued(f"Bearer {token}", _renew_at(status.get("expirationTimestamp"), self.command))


class ConfigurationKey(Source):
    """The API key of a ``kubernetes.client.Configuration``, through its refresh hook (what an
    ``ApiClient`` handed to ``from_kube_client`` or an auth provider such as OIDC uses)."""

    def __init__(self, configuration: Any) -> None:
        self._configuration = configuration
        self.renewable = getattr(configuration, "refresh_api_key_hook", None) is not None

    def issue(self) -> Issued:
        header = self._configuration.get_api_key_with_prefix("BearerToken")
        if not header:
            header = self._configuration.get_basic_auth_token() or None
        # The refresh hook decides itself when it renews; asking again a minute later lets it.
        return Issued(header, time.monotonic() + TOKEN_FILE_REREAD if self.renewable else None)


class Credentials:
    """One user's ``Authorization`` header, renewed before it expires and after a 401; thread-safe.

    ``user`` says who the credentials are for (the kubeconfig user, the service account), for the
    message of a 401 that renewing could not cure.
    """

    def __init__(self, source: Source, user: str) -> None:
        self.source = source
        self.user = user
        self.renewals = 0
        """How often the header was renewed after the first (for tests and benchmarks)."""
        self._lock = threading.Lock()
        self._issued: Issued | None = None

    def current(self) -> Issued | None:
        """The issued header when it is fresh (no I/O), else ``None``: call :meth:`renew`."""
        issued = self._issued
        if issued is None or (issued.renew_at is not None and time.monotonic() >= issued.renew_at):
            return None
        return issued

    def header(self) -> str | None:
        """The header to send now, renewed first when due (may block)."""
        current = self.current()
        return current.header if current is not None else self.renew().header

    def renew(self, rejected: Issued | None = None) -> Issued:
        """Issue a new header unless another thread just did; ``rejected`` is what a 401 answered,
        renewed even when not due."""
        with self._lock:
            issued = self._issued
            if issued is not None and issued is not rejected and self.current() is issued:
                return issued
            if issued is not None:
                self.renewals += 1
            self._issued = self.source.issue()
            return self._issued

    def rejected(self, sent: Issued) -> Issued | None:
        """After a 401 to ``sent``: a different header to retry with, or ``None`` when there is none
        (the credentials are revoked for good)."""
        if not self.source.renewable:
            return None
        renewed = self.renew(rejected=sent)
        return None if renewed.header == sent.header else renewed

    def unauthorized_hint(self) -> str:
        """What to do about a 401 that renewing could not cure."""
        if isinstance(self.source, ExecPlugin):
            fix = f"the exec plugin {self.source.command!r} hands out a token the API server refuses"
        elif isinstance(self.source, TokenFile):
            fix = f"the token in {self.source.path} is refused; it was revoked or not rotated in time"
        else:
            fix = "the token or certificate of the kubeconfig is refused (revoked or expired)"
        return f"the API server rejected the credentials of {self.user}: {fix}; renew them and reconnect"


def _run_with_timeout(run: Callable[[], Any]) -> Any:
    """Run the plugin (``ExecProvider.run`` has no timeout) and give up after :data:`EXEC_TIMEOUT`."""
    result: list[Any] = []
    failure: list[BaseException] = []

    def target() -> None:
        try:
            result.append(run())
        except BaseException as err:
            failure.append(err)

    worker = threading.Thread(target=target, name="kontinue-exec-plugin", daemon=True)
    worker.start()
    worker.join(EXEC_TIMEOUT)
    if worker.is_alive():
        raise subprocess.TimeoutExpired("exec plugin", EXEC_TIMEOUT)
    if failure:
        raise failure[0]
    return result[0]


def _plugin_problem(message: str) -> str:
    """The kubernetes package's exec error, worded for the user (never the plugin's output)."""
    if "failed to decode process output" in message:
        return "its output is not JSON; it must print an ExecCredential object"
    if "malformed response" in message or "does not match" in message:
        return message.replace("exec: ", "") + " (it must print an ExecCredential object)"
    return message.replace("exec: ", "")


def _renew_at(expiry: object, command: str) -> float | None:
    """When to renew a token that expires at the RFC 3339 ``expiry`` (``None``: never expires)."""
    if expiry is None:
        return None
    try:
        text = str(expiry).replace("Z", "+00:00")
        expires = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(
            f"the exec credential plugin {command!r} printed an expirationTimestamp that is not "
            f"RFC 3339: {json.dumps(str(expiry))[:60]}"
        ) from None
    if expires.tzinfo is None:
        expires = expires.replace(tzinfo=datetime.timezone.utc)
    left = (expires - datetime.datetime.now(datetime.timezone.utc)).total_seconds()
    return time.monotonic() + max(0.0, left - min(EXPIRY_HEADROOM, left / 10))
