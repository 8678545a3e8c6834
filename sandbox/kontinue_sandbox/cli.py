"""``kontinue-sandbox``: a local kontinue control plane for developing DAGs, from the command line.

kontinue-sandbox up          start etcd + kube-apiserver with the kontinue CRDs and the kontinue
                             emulator (detached); --examples installs the example Functions
kontinue-sandbox status      is it running, where, with which processes
kontinue-sandbox kubeconfig  print the admin kubeconfig path (export KUBECONFIG=$(...))
kontinue-sandbox env         print the Airflow connection for the sandbox:
                             AIRFLOW_CONN_KONTINUE_DEFAULT='{"conn_type": "kontinue", ...}'
kontinue-sandbox down        stop everything and remove the sandbox's files
kontinue-sandbox binaries    find or build (once, then cached) etcd and kube-apiserver
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import time
from collections.abc import Sequence
from pathlib import Path

from kontinue_sandbox.binaries import ensure_binaries
from kontinue_sandbox.controlplane import ControlPlane, SandboxState
from kontinue_sandbox.emulator import examples as emulator_examples
from kontinue_sandbox.emulator import process as emulator_process
from kontinue_sandbox.errors import SandboxError
from kontinue_sandbox.paths import state_dir


def _state_file() -> Path:
    return state_dir() / "sandbox.json"


def _load() -> ControlPlane | None:
    try:
        return ControlPlane.attach(SandboxState.from_json(_state_file().read_text()))
    except FileNotFoundError:
        return None


def _up(args: argparse.Namespace) -> int:
    existing = _load()
    if existing is not None and existing.running():
        print(f"kontinue-sandbox is already running at {existing.server}")
        print(f"kubeconfig: {existing.kubeconfig}")
        return 0
    if existing is not None:  # a previous sandbox died: clean up what it left
        existing.stop()
        _state_file().unlink(missing_ok=True)
    started = time.monotonic()
    plane = ControlPlane(apiserver_port=args.port, die_with_parent=False)
    state = plane.start()
    try:
        _start_emulator(plane, state, args)
    except BaseException:
        plane.stop()
        raise
    _state_file().parent.mkdir(parents=True, exist_ok=True)
    _state_file().write_text(state.to_json())
    print(f"kontinue-sandbox is up at {state.server} ({time.monotonic() - started:.1f}s)")
    print(f"kubeconfig: {state.kubeconfig}")
    print("CRDs: " + ", ".join(state.crds))
    if "emulator" in state.pids:
        print(f"emulator: pid {state.pids['emulator']}, log {Path(state.directory) / 'emulator.log'}")
    return 0


def _start_emulator(plane: ControlPlane, state: SandboxState, args: argparse.Namespace) -> None:
    """Start the kontinue emulator next to the control plane and install the examples if asked."""
    if args.no_emulator:
        return
    directory = Path(state.directory)
    proc = emulator_process.start(
        state.kubeconfig,
        log_dir=directory / "emulator",
        log_file=directory / "emulator.log",
        speed=args.speed,
        die_with_parent=False,
    )
    state.pids["emulator"] = proc.pid
    (directory / "sandbox.json").write_text(state.to_json())
    if args.examples:
        with plane.api_client() as api:
            installed = emulator_examples.install(api, "default")
        print("example functions in namespace default: " + ", ".join(installed))


def _down(args: argparse.Namespace) -> int:
    plane = _load()
    if plane is None:
        print("kontinue-sandbox is not running")
        return 0
    plane.stop()
    _state_file().unlink(missing_ok=True)
    print("kontinue-sandbox stopped")
    return 0


def _status(args: argparse.Namespace) -> int:
    plane = _load()
    if plane is None or plane.state is None:
        print("kontinue-sandbox is not running")
        return 3
    state = plane.state
    healthy = plane.running()
    print(f"kontinue-sandbox is {'running' if healthy else 'NOT healthy'} at {state.server}")
    print(f"kubeconfig: {state.kubeconfig}")
    for name, pid in state.pids.items():
        print(f"{name}: pid {pid}")
    return 0 if healthy else 1


def _kubeconfig(args: argparse.Namespace) -> int:
    plane = _load()
    if plane is None:
        print("kontinue-sandbox is not running; start it with `kontinue-sandbox up`", file=sys.stderr)
        return 3
    print(plane.kubeconfig)
    return 0


def connection_json(kube_config_path: str, namespace: str) -> str:
    """A ``kontinue`` Airflow connection in Airflow's JSON form, for ``AIRFLOW_CONN_<ID>``.

    It carries the kubeconfig's path, never its content, so the line is safe to print. The shape
    is the provider's documented connection (``conn_type`` ``kontinue``, the ``kube_config_path``
    and ``namespace`` extras); the provider's tests check that it accepts this line.
    """
    extra = {"kube_config_path": kube_config_path, "namespace": namespace}
    return json.dumps({"conn_type": "kontinue", "extra": extra}, sort_keys=True)


def _env(args: argparse.Namespace) -> int:
    """Print the Airflow connection line for the running sandbox (the kubeconfig's path, never its
    content), ready for ``export`` or an ``.env`` file."""
    plane = _load()
    if plane is None or not plane.running():
        print(
            "kontinue-sandbox is not running; start it with `kontinue-sandbox up --examples`", file=sys.stderr
        )
        return 3
    variable = "AIRFLOW_CONN_" + args.conn_id.upper()
    value = connection_json(str(plane.kubeconfig), args.namespace)
    print(f"{'export ' if args.export else ''}{variable}={shlex.quote(value)}")
    return 0


def _binaries(args: argparse.Namespace) -> int:
    started = time.monotonic()
    found = ensure_binaries()
    print(f"etcd: {found.etcd}\nkube-apiserver: {found.kube_apiserver} ({time.monotonic() - started:.1f}s)")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="kontinue-sandbox", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start the sandbox in the background")
    up.add_argument("--port", type=int, default=None, help="API server port (default: a free one)")
    up.add_argument("--examples", action="store_true", help="install the example Functions in 'default'")
    up.add_argument("--speed", type=float, default=1.0, help="the emulator's speed factor (default 1)")
    up.add_argument("--no-emulator", action="store_true", help="only the API server, no kontinue emulator")
    up.set_defaults(run=_up)
    commands.add_parser("down", help="stop the sandbox and remove its files").set_defaults(run=_down)
    commands.add_parser("status", help="show whether the sandbox runs").set_defaults(run=_status)
    commands.add_parser("kubeconfig", help="print the admin kubeconfig path").set_defaults(run=_kubeconfig)
    env = commands.add_parser("env", help="print the Airflow connection (AIRFLOW_CONN_...) for the sandbox")
    env.add_argument("--namespace", default="default", help="the connection's namespace (default: default)")
    env.add_argument(
        "--conn-id", default="kontinue_default", help="connection id (default: kontinue_default)"
    )
    env.add_argument("--export", action="store_true", help="prefix the line with 'export '")
    env.set_defaults(run=_env)
    commands.add_parser("binaries", help="find or build the control-plane binaries").set_defaults(
        run=_binaries
    )
    args = parser.parse_args(argv)
    try:
        code: int = args.run(args)
    except SandboxError as err:
        print(f"kontinue-sandbox: {err}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
