"""Finding, or building once, the ``etcd`` and ``kube-apiserver`` binaries the sandbox runs.

Like controller-runtime's envtest, binaries come from ``KUBEBUILDER_ASSETS`` when it is set, so
users with ``setup-envtest`` binaries need no Go toolchain. Otherwise they are built from Go modules
by ``build-control-plane.sh`` and cached under the user's cache directory, keyed by version: the
first build takes minutes, every later start finds them at once.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from kontinue_sandbox.errors import SandboxError, log_tail
from kontinue_sandbox.paths import ETCD_VERSION, KUBE_VERSION, cache_dir


@dataclass(frozen=True)
class Binaries:
    """Paths of the two control-plane executables."""

    etcd: Path
    kube_apiserver: Path

    @property
    def directory(self) -> Path:
        return self.kube_apiserver.parent


def _executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def from_assets(assets: str) -> Binaries:
    """The binaries of an envtest assets directory, or a clear error naming what is missing."""
    directory = Path(assets).expanduser()
    found = Binaries(directory / "etcd", directory / "kube-apiserver")
    missing = [p.name for p in (found.etcd, found.kube_apiserver) if not _executable(p)]
    if missing:
        raise SandboxError(
            f"KUBEBUILDER_ASSETS={assets} has no executable {' or '.join(missing)}; point it at a "
            "setup-envtest directory (e.g. `setup-envtest use -p path`) or unset it to build from source"
        )
    return found


def cached_dir(kube_version: str = KUBE_VERSION, etcd_version: str = ETCD_VERSION) -> Path:
    return cache_dir() / f"k8s-v{kube_version}-etcd-v{etcd_version}"


def ensure_binaries(
    kube_version: str = KUBE_VERSION, etcd_version: str = ETCD_VERSION, *, quiet: bool = False
) -> Binaries:
    """Return runnable binaries, building and caching them first if this machine has none yet.

    A file lock serialises concurrent builders (two test sessions, xdist workers), so the build
    happens once and the others wait for it instead of racing.
    """
    assets = os.environ.get("KUBEBUILDER_ASSETS")
    if assets:
        return from_assets(assets)
    out = cached_dir(kube_version, etcd_version)
    wanted = Binaries(out / "etcd", out / "kube-apiserver")
    if _executable(wanted.etcd) and _executable(wanted.kube_apiserver):
        return wanted
    if shutil.which("go") is None:
        raise SandboxError(
            "the sandbox needs etcd and kube-apiserver binaries, and neither KUBEBUILDER_ASSETS is set "
            f"nor a cached build exists in {out}, nor is a Go toolchain on PATH to build them. Fix: "
            "install Go >= 1.26 (e.g. `apt-get install golang` or from go.dev) or set KUBEBUILDER_ASSETS "
            "to a setup-envtest directory"
        )
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / ".build.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if _executable(wanted.etcd) and _executable(wanted.kube_apiserver):
            return wanted
        _build(out, kube_version, etcd_version, quiet=quiet)
    return wanted


def _build(out: Path, kube_version: str, etcd_version: str, *, quiet: bool) -> None:
    script = resources.files("kontinue_sandbox") / "build-control-plane.sh"
    log = out.parent / f"build-k8s-v{kube_version}-etcd-v{etcd_version}.log"
    if not quiet:
        print(
            f"kontinue-sandbox: building kube-apiserver v{kube_version} and etcd v{etcd_version} "
            f"from Go modules into {out} (once; log: {log})",
            file=sys.stderr,
            flush=True,
        )
    env = {**os.environ, "OUT": str(out), "KUBE_VERSION": kube_version, "ETCD_VERSION": etcd_version}
    with resources.as_file(script) as script_path, open(log, "wb") as log_file:
        result = subprocess.run(
            ["bash", str(script_path)], env=env, stdout=log_file, stderr=subprocess.STDOUT, check=False
        )
    if result.returncode != 0:
        raise SandboxError(
            f"building the control plane failed (exit {result.returncode}); see {log}. Fix the cause "
            "below, or set KUBEBUILDER_ASSETS to prebuilt envtest binaries, or try another release with "
            f"KONTINUE_SANDBOX_KUBE_VERSION.\n{log_tail(log)}"
        )
