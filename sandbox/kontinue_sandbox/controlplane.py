"""A real etcd and kube-apiserver on 127.0.0.1, the way controller-runtime's envtest runs them.

``ControlPlane`` picks free ports, writes its certificates, keys and kubeconfigs into a private
temporary directory, starts both processes, waits until the API server is ready, installs the
kontinue CRDs and hands out Kubernetes clients for an admin and for users with limited rights.
``stop()`` (or leaving the ``with`` block) kills both processes and removes the directory.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from kontinue_sandbox import crds, processes
from kontinue_sandbox.binaries import Binaries, ensure_binaries
from kontinue_sandbox.errors import SandboxError
from kontinue_sandbox.kubeconfig_writer import write_kubeconfig
from kontinue_sandbox.pki import CertificateAuthority, service_account_key

HOST = "127.0.0.1"
ADMIN = "admin"
_DIR_PREFIX = "kontinue-sandbox-"
_STATE_FILE = "sandbox.json"


@dataclass
class SandboxState:
    """What identifies a running control plane: enough to reach it and to stop it from any process."""

    directory: str
    server: str
    etcd_url: str
    kubeconfig: str
    ca_file: str
    pids: dict[str, int] = field(default_factory=dict)
    crds: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> SandboxState:
        return cls(**json.loads(text))


class ControlPlane:
    """One etcd plus one kube-apiserver with RBAC, client-cert users and the kontinue CRDs.

    ``die_with_parent`` (the default, for tests) ties both processes to this Python process so a
    killed test run leaves nothing behind; the ``kontinue-sandbox up`` command turns it off so the
    sandbox outlives the command.
    """

    def __init__(
        self,
        *,
        apiserver_port: int | None = None,
        die_with_parent: bool = True,
        install_crds: bool = True,
        extra_apiserver_args: tuple[str, ...] = (),
        start_timeout: float = 120.0,
    ) -> None:
        self._requested_port = apiserver_port
        self._die_with_parent = die_with_parent
        self._install_crds = install_crds
        self._extra_apiserver_args = extra_apiserver_args
        self._start_timeout = start_timeout
        self._procs: dict[str, subprocess.Popen[bytes]] = {}
        self._binaries: Binaries | None = None
        self.state: SandboxState | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> SandboxState:
        """Start etcd and the API server, install the CRDs, and return the sandbox's state."""
        if self._requested_port is not None and not processes.port_free(self._requested_port):
            raise SandboxError(
                f"port {self._requested_port} on {HOST} is already in use (another sandbox? see "
                "`kontinue-sandbox status`); choose another port or leave it out to pick a free one"
            )
        sweep_stale_directories()
        self._binaries = ensure_binaries()
        directory = Path(tempfile.mkdtemp(prefix=_DIR_PREFIX))
        try:
            self.state = self._start_in(directory)
        except BaseException:
            self._kill_all()
            shutil.rmtree(directory, ignore_errors=True)
            raise
        return self.state

    def _start_in(self, directory: Path) -> SandboxState:
        ca = CertificateAuthority.create()
        pki = directory / "pki"
        pki.mkdir()
        ca_file, ca_key = ca.pair.write(pki, "ca")
        serving_cert, serving_key = ca.serving_cert(HOST).write(pki, "apiserver")
        sa_key = pki / "service-account.key"
        sa_key.write_bytes(service_account_key())
        admin_cert, admin_key = ca.client_cert(ADMIN, ("system:masters",)).write(pki, ADMIN)

        etcd_url = self._start_etcd(directory)
        for attempt in (1, 2):  # a free port may be taken between choosing and binding it: retry once
            port = self._requested_port or processes.free_port()
            server = f"https://{HOST}:{port}"
            try:
                self._start_apiserver(
                    directory, port, etcd_url, pki, ca_file, serving_cert, serving_key, sa_key
                )
                break
            except SandboxError as err:
                if attempt == 2 or self._requested_port or "address already in use" not in str(err):
                    raise
        kubeconfig = write_kubeconfig(
            directory / "kubeconfig",
            server=server,
            ca_file=ca_file,
            user=ADMIN,
            client_cert=admin_cert,
            client_key=admin_key,
        )
        state = SandboxState(
            directory=str(directory),
            server=server,
            etcd_url=etcd_url,
            kubeconfig=str(kubeconfig),
            ca_file=str(ca_file),
            pids={name: proc.pid for name, proc in self._procs.items()},
        )
        (directory / _STATE_FILE).write_text(state.to_json())
        self.state = state
        if self._install_crds:
            with self.api_client() as api:
                state.crds = crds.install(api)
            (directory / _STATE_FILE).write_text(state.to_json())
        del ca_key
        return state

    def _start_etcd(self, directory: Path) -> str:
        assert self._binaries is not None
        client_port, peer_port = processes.free_port(), processes.free_port()
        url, peer = f"http://{HOST}:{client_port}", f"http://{HOST}:{peer_port}"
        log = directory / "etcd.log"
        proc = processes.spawn(
            [
                self._binaries.etcd,
                f"--data-dir={directory / 'etcd'}",
                "--name=default",
                f"--listen-client-urls={url}",
                f"--advertise-client-urls={url}",
                f"--listen-peer-urls={peer}",
                f"--initial-advertise-peer-urls={peer}",
                f"--initial-cluster=default={peer}",
                "--unsafe-no-fsync",
                "--log-level=warn",
                "--listen-metrics-urls=",
            ],
            log,
            die_with_parent=self._die_with_parent,
        )
        self._procs["etcd"] = proc
        processes.wait_until_ready(
            "etcd", f"{url}/health", proc, log, timeout=30, ready=lambda body: b'"true"' in body
        )
        return url

    def _start_apiserver(
        self,
        directory: Path,
        port: int,
        etcd_url: str,
        pki: Path,
        ca_file: Path,
        serving_cert: Path,
        serving_key: Path,
        sa_key: Path,
    ) -> None:
        assert self._binaries is not None
        log = directory / "kube-apiserver.log"
        args: list[str | Path] = [
            self._binaries.kube_apiserver,
            f"--etcd-servers={etcd_url}",
            f"--bind-address={HOST}",
            f"--advertise-address={HOST}",
            f"--secure-port={port}",
            f"--cert-dir={pki}",
            f"--tls-cert-file={serving_cert}",
            f"--tls-private-key-file={serving_key}",
            f"--client-ca-file={ca_file}",
            "--service-cluster-ip-range=10.0.0.0/24",
            f"--service-account-issuer=https://{HOST}:{port}",
            f"--service-account-key-file={sa_key}",
            f"--service-account-signing-key-file={sa_key}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
            "--enable-garbage-collector=false",
            "--kubelet-preferred-address-types=InternalIP",
            "--profiling=false",
            "--v=1",
            *self._extra_apiserver_args,
        ]
        proc = processes.spawn(args, log, die_with_parent=self._die_with_parent)
        self._procs["kube-apiserver"] = proc
        context = ssl.create_default_context(cafile=str(ca_file))
        try:
            processes.wait_until_ready(
                "kube-apiserver",
                f"https://{HOST}:{port}/readyz",
                proc,
                log,
                timeout=self._start_timeout,
                ssl_context=context,
                ready=lambda body: body.strip() == b"ok",
            )
        except SandboxError:
            processes.stop_group(proc.pid)
            del self._procs["kube-apiserver"]
            raise

    def restart_apiserver(self) -> None:
        """Kill the API server and start it again on the same port and etcd (fault-injection tests)."""
        state = self._require_state()
        processes.stop_group(state.pids["kube-apiserver"], grace=0.0)
        directory = Path(state.directory)
        pki = directory / "pki"
        port = int(state.server.rsplit(":", 1)[1])
        # The killed server's connections may hold its port for a moment: retry the bind briefly.
        deadline = time.monotonic() + 30
        while True:
            try:
                self._start_apiserver(
                    directory,
                    port,
                    state.etcd_url,
                    pki,
                    Path(state.ca_file),
                    pki / "apiserver.crt",
                    pki / "apiserver.key",
                    pki / "service-account.key",
                )
                break
            except SandboxError as err:
                if "address already in use" not in str(err) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
        state.pids["kube-apiserver"] = self._procs["kube-apiserver"].pid
        (directory / _STATE_FILE).write_text(state.to_json())

    def compact_etcd(self) -> int:
        """Compact etcd's history up to now (what the API server does every 5 minutes), so a watch
        or list resuming from an older resourceVersion gets 410 Gone. Returns the revision."""
        state = self._require_state()

        def post(path: str, body: dict[str, Any]) -> dict[str, Any]:
            request = urllib.request.Request(
                f"{state.etcd_url}{path}",
                data=json.dumps(body).encode(),
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request, timeout=10) as response:
                answer: dict[str, Any] = json.loads(response.read())
                return answer

        revision = int(post("/v3/kv/range", {"key": "Lw=="})["header"]["revision"])
        post("/v3/kv/compaction", {"revision": str(revision), "physical": True})
        return revision

    def stop(self) -> None:
        """Stop both processes and remove the sandbox's directory. Safe to call twice."""
        self._kill_all()
        if self.state is not None:
            shutil.rmtree(self.state.directory, ignore_errors=True)
            self.state = None

    def _kill_all(self) -> None:
        pids = dict(self.state.pids) if self.state else {}
        pids.update({name: proc.pid for name, proc in self._procs.items()})
        # the emulator (when `kontinue-sandbox up` started one) first, then the API server, so that
        # nobody ever sees the process it talks to vanish
        for name in ("emulator", "kube-apiserver", "etcd"):
            if name in pids:
                processes.stop_group(pids[name])
        for proc in self._procs.values():
            with contextlib.suppress(Exception):
                proc.wait(timeout=0)
        self._procs.clear()

    @classmethod
    def attach(cls, state: SandboxState) -> ControlPlane:
        """A handle on a control plane another process started (``kontinue-sandbox down``)."""
        plane = cls(die_with_parent=False)
        plane.state = state
        return plane

    def __enter__(self) -> ControlPlane:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- access ------------------------------------------------------------------------------------

    def _require_state(self) -> SandboxState:
        if self.state is None:
            raise SandboxError("the control plane is not running; call start() first")
        return self.state

    @property
    def kubeconfig(self) -> Path:
        return Path(self._require_state().kubeconfig)

    @property
    def server(self) -> str:
        return self._require_state().server

    def running(self) -> bool:
        """True when both processes are alive and the API server answers ready."""
        state = self.state
        if state is None or not all(processes.pid_alive(pid) for pid in state.pids.values()):
            return False
        context = ssl.create_default_context(cafile=state.ca_file)
        try:
            with urllib.request.urlopen(f"{state.server}/readyz", timeout=2, context=context) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def api_client(self, kubeconfig: Path | None = None) -> k8s.ApiClient:
        """A synchronous Kubernetes ``ApiClient`` for the admin (or the user of ``kubeconfig``)."""
        return k8s_config.new_client_from_config(config_file=str(kubeconfig or self.kubeconfig))

    def issue_client_cert(self, user: str, groups: tuple[str, ...] = ()) -> tuple[Path, Path]:
        """A client certificate for ``user`` in ``groups``, signed by the sandbox CA."""
        state = self._require_state()
        pki = Path(state.ca_file).parent
        ca = CertificateAuthority.load(pki / "ca.crt", pki / "ca.key")
        users = Path(state.directory) / "users"
        users.mkdir(exist_ok=True)
        return ca.client_cert(user, groups).write(users, user.replace(":", "_"))


def sweep_stale_directories() -> list[Path]:
    """Remove sandbox directories whose processes are all gone (left by a killed run)."""
    removed = []
    for directory in Path(tempfile.gettempdir()).glob(f"{_DIR_PREFIX}*"):
        state_file = directory / _STATE_FILE
        try:
            pids = list(SandboxState.from_json(state_file.read_text()).pids.values())
        except (OSError, ValueError, TypeError):
            # No state yet: a sandbox still starting, or one that died before writing it. Only
            # remove it once it is clearly old.
            if time.time() - directory.stat().st_mtime < 600:
                continue
            pids = []
        if not any(processes.pid_alive(pid) for pid in pids):
            shutil.rmtree(directory, ignore_errors=True)
            removed.append(directory)
    return removed
