"""Faults in the gap between a client and a healthy API server, and what the server saw of them.

:class:`CutProxy` is a TCP proxy in front of the API server (TLS passes through untouched, so the
server's certificate and the client's credentials work as they are). A test points the client
under test at it, ``cut()``s every connection while the API server keeps serving (the test writes
through its own direct connection meanwhile), and ``restore()``s it: what the client missed must
come from resuming its watch, not from luck with timing.

:func:`audit_args` and :func:`watch_requests` turn on the API server's audit log for watches of
executions and read back which ``resourceVersion`` each watch was opened from: the server's own
record that a reopened watch resumed where the last one stopped.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import yaml

from airflow_provider_kontinue.client.constants import GROUP

AUDIT_POLICY = {
    "apiVersion": "audit.k8s.io/v1",
    "kind": "Policy",
    # One line per watch as it is opened; a watch's other stages come when it ends, if ever.
    "omitStages": ["ResponseStarted", "ResponseComplete", "Panic"],
    "rules": [
        {
            "level": "Metadata",
            "verbs": ["watch"],
            "resources": [{"group": GROUP, "resources": ["executions"]}],
        },
        {"level": "None"},
    ],
}


def audit_args(directory: Path) -> tuple[str, ...]:
    """kube-apiserver flags that log every watch of executions to ``directory/audit.log``."""
    policy = directory / "audit-policy.yaml"
    policy.write_text(yaml.safe_dump(AUDIT_POLICY))
    return (
        f"--audit-policy-file={policy}",
        f"--audit-log-path={directory / 'audit.log'}",
        "--audit-log-mode=blocking",
        "--audit-log-format=json",
    )


@dataclass(frozen=True)
class WatchRequest:
    """One watch of executions as the API server's audit log recorded it."""

    user: str
    namespace: str
    resource_version: str


def watch_requests(directory: Path, namespace: str) -> list[WatchRequest]:
    """Every watch of executions in ``namespace`` the API server received, in order."""
    log = directory / "audit.log"
    found: list[WatchRequest] = []
    for line in log.read_text().splitlines() if log.exists() else ():
        event = json.loads(line)
        if event.get("verb") != "watch" or event.get("objectRef", {}).get("namespace") != namespace:
            continue
        query = parse_qs(urlsplit(event["requestURI"]).query)
        found.append(
            WatchRequest(
                user=event.get("user", {}).get("username", ""),
                namespace=namespace,
                resource_version=query.get("resourceVersion", [""])[0],
            )
        )
    return found


class CutProxy:
    """Forwards TCP connections from ``127.0.0.1:<port>`` to ``target``; can cut them all.

    While cut, every live connection is closed and new ones are accepted and closed at once (the
    client sees its connection reset, as when a network path fails), so clients retry with their
    own backoff. All threads are daemons: a stuck proxy never keeps the test run alive.
    """

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self._live: set[socket.socket] = set()
        self._cut = False
        self._closed = False
        self.connections = 0
        """Connections forwarded so far (refused ones while cut not counted)."""
        threading.Thread(target=self._accept, name="cut-proxy-accept", daemon=True).start()

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    @property
    def open_connections(self) -> int:
        """Connections being forwarded now (each is a client socket and an upstream one)."""
        with self._lock:
            return len(self._live) // 2

    def cut(self) -> None:
        """Close every forwarded connection and refuse new ones until :meth:`restore`."""
        with self._lock:
            self._cut = True
            live, self._live = self._live, set()
        for sock in live:
            _shut(sock)

    def restore(self) -> None:
        with self._lock:
            self._cut = False

    @contextmanager
    def down(self) -> Iterator[None]:
        """Cut for the duration of the block, then restore."""
        self.cut()
        try:
            yield
        finally:
            self.restore()

    def close(self) -> None:
        self._closed = True
        self.cut()
        _shut(self._listener)

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                refused = self._cut
            if refused:
                _shut(downstream)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                _shut(downstream)
                continue
            upstream.settimeout(None)
            with self._lock:
                if self._cut:
                    _shut(downstream)
                    _shut(upstream)
                    continue
                self._live.update((downstream, upstream))
                self.connections += 1
            for source, sink in ((downstream, upstream), (upstream, downstream)):
                threading.Thread(target=self._pump, args=(source, sink), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while chunk := source.recv(65536):
                sink.sendall(chunk)
        _shut(source)
        _shut(sink)
        with self._lock:
            self._live.discard(source)
            self._live.discard(sink)


def _shut(sock: socket.socket) -> None:
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
    with suppress(OSError):
        sock.close()


def kubeconfig_via(proxy: CutProxy, kubeconfig: Path, path: Path) -> Path:
    """A copy of ``kubeconfig`` whose clusters are reached through ``proxy``."""
    document = yaml.safe_load(kubeconfig.read_text())
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = proxy.server
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
