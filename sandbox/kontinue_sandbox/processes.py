"""Child processes of the sandbox: started with a log file, waited on until ready, always reaped.

Every process runs in its own session (process group), so stopping it also stops anything it
spawned. Processes started for a test session die with their parent (``PR_SET_PDEATHSIG``), so a
killed pytest never leaves an etcd or API server behind; ``kontinue-sandbox up`` starts detached
processes instead, which ``kontinue-sandbox down`` stops by pid.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import ctypes
import os
import random
import signal
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from pathlib import Path

from kontinue_sandbox.errors import SandboxError, log_tail

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)


def spawn(args: Sequence[str | Path], log: Path, *, die_with_parent: bool) -> subprocess.Popen[bytes]:
    """Start ``args`` with stdout and stderr going to ``log``, in a new session."""

    def start() -> subprocess.Popen[bytes]:
        with open(log, "ab") as log_file:
            return subprocess.Popen(
                [str(a) for a in args],
                stdin=subprocess.DEVNULL,
                stdout=log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=_die_with_parent if die_with_parent else None,
            )

    if not die_with_parent:
        return start()
    # Linux sends the parent-death signal when the *thread* that forked the child ends, not the
    # process. Children that must die with us are therefore forked by one thread that lives as long
    # as the process, whichever thread asks (a test restarting the API server from a worker thread).
    return _SPAWNER.submit(start).result()


_SPAWNER = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="sandbox-spawner")


def pid_alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split(") ", 1)[1][:1] != "Z"
    except OSError:
        return True


def stop_group(pid: int, *, grace: float = 10.0) -> None:
    """SIGTERM the process group led by ``pid``, then SIGKILL it if it lingers past ``grace``."""
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, sig)
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if not pid_alive(pid):
                return
            time.sleep(0.05)
    if pid_alive(pid):
        raise SandboxError(f"process {pid} did not stop after SIGKILL")


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999


def free_port(host: str = "127.0.0.1") -> int:
    """A free port below the kernel's ephemeral range.

    Ports from the ephemeral range would work once but not across a restart: while a server is
    down, the kernel may hand its port to some outgoing connection as a source port, and the server
    could not listen there again.
    """
    low, high = _ephemeral_range()
    candidates = range(20000, low) if low > 21000 else range(high + 1, 65535)
    for port in random.sample(candidates, min(200, len(candidates))):
        if port_free(port, host):
            return port
    with socket.socket() as sock:  # everything taken: let the kernel choose
        sock.bind((host, 0))
        chosen: int = sock.getsockname()[1]
        return chosen


def wait_until_ready(
    name: str,
    url: str,
    proc: subprocess.Popen[bytes],
    log: Path,
    *,
    timeout: float,
    ssl_context: ssl.SSLContext | None = None,
    ready: Callable[[bytes], bool] = lambda body: True,
) -> None:
    """Poll ``url`` until it answers 200 with a body ``ready`` accepts.

    Fails fast, with the log's tail, when the process exits; fails with a timeout message naming the
    endpoint and the log when it never becomes ready. Never hangs longer than ``timeout``.
    """
    deadline = time.monotonic() + timeout
    last_error = "no answer yet"
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise SandboxError(
                f"{name} exited with code {code} while starting; its log ({log}) ends with:\n{log_tail(log)}"
            )
        try:
            with urllib.request.urlopen(url, timeout=2, context=ssl_context) as response:
                body = response.read()
                if response.status == 200 and ready(body):
                    return
                last_error = f"HTTP {response.status}: {body[:200]!r}"
        except urllib.error.HTTPError as err:
            last_error = f"HTTP {err.code}: {err.read()[:300]!r}"
        except (OSError, ssl.SSLError) as err:
            last_error = str(err)
        time.sleep(0.1)
    raise SandboxError(
        f"{name} did not become ready at {url} within {timeout:.0f}s (last answer: {last_error}). "
        f"Its log ({log}) ends with:\n{log_tail(log)}"
    )
