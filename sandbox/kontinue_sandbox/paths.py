"""Where the sandbox keeps its binaries (cache) and the state of a running sandbox."""

from __future__ import annotations

import os
from pathlib import Path

KUBE_VERSION = os.environ.get("KONTINUE_SANDBOX_KUBE_VERSION", "1.37.2")
ETCD_VERSION = os.environ.get("KONTINUE_SANDBOX_ETCD_VERSION", "3.6.14")


def cache_dir() -> Path:
    """The user's cache directory for sandbox binaries (``$XDG_CACHE_HOME/kontinue-sandbox``)."""
    override = os.environ.get("KONTINUE_SANDBOX_CACHE")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kontinue-sandbox"


def state_dir() -> Path:
    """Where ``kontinue-sandbox up`` records the sandbox it started, so later commands find it."""
    override = os.environ.get("KONTINUE_SANDBOX_HOME")
    if override:
        return Path(override).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "kontinue-sandbox"
