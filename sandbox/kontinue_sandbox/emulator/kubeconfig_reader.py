"""Reading a plain kubeconfig: server, CA, client certificate or token of one context.

That covers the sandbox's kubeconfigs and most clusters' admin configs, and spares the emulator
the second it takes to import kubernetes_asyncio. Anything else (an ``exec`` plugin, an
``auth-provider``, basic auth, several files in one ``KUBECONFIG``) returns None, and the caller
uses kubernetes_asyncio's full loader instead.
"""

from __future__ import annotations

import base64
import os
import ssl
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass
class PlainConfig:
    server: str
    ssl_context: ssl.SSLContext | bool
    headers: dict[str, str] = field(default_factory=dict)


def _named(entries: Any, name: str, section: str) -> dict[str, Any]:
    for entry in entries or []:
        if isinstance(entry, dict) and entry.get("name") == name and isinstance(entry.get(section), dict):
            found: dict[str, Any] = entry[section]
            return found
    raise KeyError(name)


def _path(base: Path, value: str) -> str:
    candidate = Path(os.path.expanduser(value))
    return str(candidate if candidate.is_absolute() else base / candidate)


def _data_file(data: str, folder: Path) -> str:
    """ssl loads certificates and keys from files only: write inline data to a private file."""
    handle, name = tempfile.mkstemp(dir=folder, prefix="kubeconfig-", suffix=".pem")
    with os.fdopen(handle, "wb") as out:
        out.write(base64.b64decode(data))
    return name


def load(path: str, context: str | None = None) -> PlainConfig | None:
    """The connection settings of ``context`` (default: the current one), or None if not plain."""
    if os.pathsep in path:
        return None
    try:
        document = yaml.safe_load(Path(path).read_text())
        name = context or document["current-context"]
        selected = _named(document.get("contexts"), name, "context")
        cluster = _named(document.get("clusters"), selected["cluster"], "cluster")
        user = _named(document.get("users"), selected["user"], "user") if selected.get("user") else {}
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return None
    if set(user) - {"client-certificate", "client-key", "client-certificate-data", "client-key-data",
                    "token", "tokenFile"}:  # fmt: skip
        return None
    base = Path(path).resolve().parent
    server = str(cluster.get("server") or "")
    if not server:
        return None
    context_or_flag: ssl.SSLContext | bool = True
    if server.startswith("https://"):
        if cluster.get("insecure-skip-tls-verify"):
            insecure = ssl.create_default_context()
            insecure.check_hostname = False
            insecure.verify_mode = ssl.CERT_NONE
            tls = insecure
        elif cluster.get("certificate-authority-data"):
            tls = ssl.create_default_context(
                cadata=base64.b64decode(cluster["certificate-authority-data"]).decode()
            )
        elif cluster.get("certificate-authority"):
            tls = ssl.create_default_context(cafile=_path(base, cluster["certificate-authority"]))
        else:
            tls = ssl.create_default_context()
        private = Path(tempfile.mkdtemp(prefix="kontinue-emulator-tls-"))
        try:
            cert = user.get("client-certificate")
            key = user.get("client-key")
            cert_file = _path(base, cert) if cert else None
            key_file = _path(base, key) if key else None
            if user.get("client-certificate-data"):
                cert_file = _data_file(user["client-certificate-data"], private)
            if user.get("client-key-data"):
                key_file = _data_file(user["client-key-data"], private)
            if cert_file and key_file:
                tls.load_cert_chain(cert_file, key_file)
        finally:
            for leftover in private.iterdir():
                leftover.unlink()
            private.rmdir()
        context_or_flag = tls
    headers = {}
    token = user.get("token")
    if not token and user.get("tokenFile"):
        token = Path(_path(base, user["tokenFile"])).read_text().strip()
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return PlainConfig(server, context_or_flag, headers)
