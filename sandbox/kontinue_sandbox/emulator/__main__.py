"""``python -m kontinue_sandbox.emulator``: run the kontinue emulator.

Usage: python -m kontinue_sandbox.emulator --kubeconfig K [--namespace N ...]
       [--speed F] [--log-dir D] [--node-name NAME] [--kubelet-address IP] [--ready-file F]
       python -m kontinue_sandbox.emulator --print-examples
       python -m kontinue_sandbox.emulator --kubeconfig K --install-examples NS

It runs until SIGTERM or SIGINT, then stops its runs and its kubelet; everything it knows is in the
cluster, so starting it again continues where it stopped.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

import yaml

from kontinue_sandbox.emulator.app import Emulator, EmulatorError, Options
from kontinue_sandbox.emulator.examples import examples, install


def default_log_dir(kubeconfig: str | None) -> Path:
    """Next to a sandbox's kubeconfig (``<sandbox>/emulator``), else a per-user temp directory."""
    if kubeconfig:
        folder = Path(kubeconfig).resolve().parent
        if (folder / "sandbox.json").exists():
            return folder / "emulator"
    return Path(tempfile.gettempdir()) / f"kontinue-emulator-{os.getuid()}"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m kontinue_sandbox.emulator",
        description="A stand-in for the kontinue controller and workers, over a real API server.",
    )
    parser.add_argument("--kubeconfig", default=os.environ.get("KUBECONFIG"), help="kubeconfig file")
    parser.add_argument("--context", default=None, help="kubeconfig context (default: current)")
    parser.add_argument(
        "--namespace",
        action="append",
        dest="namespaces",
        help="only this namespace (repeatable; default: all)",
    )
    parser.add_argument(
        "--speed", type=float, default=1.0, help="divide every sleep, backoff, timeout, TTL by F"
    )
    parser.add_argument(
        "--log-dir", type=Path, default=None, help="where pod logs and kubelet certs are kept"
    )
    parser.add_argument("--node-name", default="kontinue-emulator", help="name of the fake Node")
    parser.add_argument(
        "--kubelet-address", default="127.0.0.1", help="address the API server reaches the kubelet at"
    )
    parser.add_argument(
        "--kubelet-bind", default=None, help="address to listen on (default: --kubelet-address)"
    )
    parser.add_argument("--kubelet-port", type=int, default=0, help="kubelet port (default: a free one)")
    parser.add_argument("--workers", type=int, default=64, help="concurrent reconciles")
    parser.add_argument("--max-in-flight", type=int, default=64, help="concurrent API requests")
    parser.add_argument("--qps", type=float, default=2000.0, help="API requests per second (token bucket)")
    parser.add_argument("--burst", type=int, default=2000, help="token bucket size")
    parser.add_argument("--ready-file", type=Path, default=None, help="written once the emulator is ready")
    parser.add_argument("--log-level", default="INFO", help="DEBUG, INFO, WARNING")
    parser.add_argument("--print-examples", action="store_true", help="print the example Functions as YAML")
    parser.add_argument(
        "--install-examples", metavar="NAMESPACE", help="install the example Functions and exit"
    )
    return parser.parse_args(argv)


async def _serve(emulator: Emulator) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await emulator.run(stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(
        level=getattr(logging, str(args.log_level).upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.print_examples:
        print(yaml.safe_dump_all(examples(), sort_keys=False), end="")
        return 0
    if args.install_examples:
        from kubernetes import config as k8s_config

        with k8s_config.new_client_from_config(config_file=args.kubeconfig, context=args.context) as api:
            print("installed: " + ", ".join(install(api, args.install_examples)))
        return 0
    options = Options(
        kubeconfig=args.kubeconfig,
        context=args.context,
        namespaces=args.namespaces,
        speed=args.speed,
        log_dir=args.log_dir or default_log_dir(args.kubeconfig),
        node_name=args.node_name,
        kubelet_address=args.kubelet_address,
        kubelet_bind=args.kubelet_bind or args.kubelet_address,
        kubelet_port=args.kubelet_port,
        workers=args.workers,
        max_in_flight=args.max_in_flight,
        qps=args.qps,
        burst=args.burst,
        ready_file=args.ready_file,
    )
    try:
        asyncio.run(_serve(Emulator(options)))
    except EmulatorError as err:
        print(f"kontinue emulator: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
