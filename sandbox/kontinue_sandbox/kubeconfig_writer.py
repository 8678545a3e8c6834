"""Kubeconfig files for the sandbox's users, readable by kubectl and both Python Kubernetes clients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

CLUSTER = "kontinue-sandbox"


def write_kubeconfig(
    path: Path,
    *,
    server: str,
    ca_file: Path,
    user: str,
    client_cert: Path | None = None,
    client_key: Path | None = None,
    token: str | None = None,
    namespace: str = "default",
) -> Path:
    """Write a one-context kubeconfig (mode 0600: it holds credentials) and return its path."""
    credentials: dict[str, Any] = {}
    if client_cert is not None and client_key is not None:
        credentials = {"client-certificate": str(client_cert), "client-key": str(client_key)}
    if token is not None:
        credentials["token"] = token
    context = f"{CLUSTER}-{user}" if user != "admin" else CLUSTER
    document = {
        "apiVersion": "v1",
        "kind": "Config",
        "current-context": context,
        "clusters": [{"name": CLUSTER, "cluster": {"server": server, "certificate-authority": str(ca_file)}}],
        "users": [{"name": user, "user": credentials}],
        "contexts": [
            {"name": context, "context": {"cluster": CLUSTER, "user": user, "namespace": namespace}}
        ],
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
