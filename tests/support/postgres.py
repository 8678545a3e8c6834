"""A throwaway PostgreSQL server for the deployment tier: Debian's server binaries, a fresh cluster.

``initdb`` refuses to run as root, so as root the cluster is created and served as ``nobody``
(``setpriv``); the server listens on 127.0.0.1 only, on a free port, with no Unix socket, and trusts
local connections (a test machine's throwaway cluster, never a pattern for a real one).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg2

from kontinue_sandbox import processes
from kontinue_sandbox.errors import SandboxError, log_tail

BIN_DIRS = (Path("/usr/lib/postgresql/15/bin"), Path("/usr/lib/postgresql/16/bin"))
USER = "airflow"
DATABASE = "airflow"


def server_bin(name: str) -> Path:
    """A PostgreSQL server program, or an error saying how to get it (``make deployment-deps``)."""
    for directory in BIN_DIRS:
        if (directory / name).exists():
            return directory / name
    found = shutil.which(name)
    if found:
        return Path(found)
    raise SandboxError(
        f"PostgreSQL: {name} not found in {', '.join(map(str, BIN_DIRS))} or on PATH; "
        "run `make deployment-deps` (installs Debian's postgresql)"
    )


def _as_server_user(command: list[str]) -> list[str]:
    if os.getuid() != 0:
        return command
    return ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", *command]


@dataclass
class Postgres:
    """A running server; ``url`` is the SQLAlchemy URL of its ``airflow`` database."""

    directory: Path
    port: int
    proc: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"postgresql+psycopg2://{USER}@127.0.0.1:{self.port}/{DATABASE}"

    def dump(self) -> str:
        """The whole database as SQL text (``pg_dump``), for scans of what the metadata DB holds."""
        result = subprocess.run(
            [server_bin("pg_dump"), "-h", "127.0.0.1", "-p", str(self.port), "-U", USER, DATABASE],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        return result.stdout

    def stop(self) -> None:
        processes.stop_group(self.proc.pid, grace=10.0)
        self.proc.wait()


def start(directory: Path, timeout: float = 60.0) -> Postgres:
    """Create a cluster in ``directory`` and start its server; the ``airflow`` database exists after."""
    data = directory / "data"
    log = directory / "postgres.log"
    data.mkdir(parents=True)
    if os.getuid() == 0:
        nobody = pwd.getpwnam("nobody")
        for path in (directory, data):
            os.chown(path, nobody.pw_uid, nobody.pw_gid)
    init = subprocess.run(
        _as_server_user(
            [str(server_bin("initdb")), "-D", str(data), "-U", USER, "--auth=trust", "-E", "UTF8"]
        ),
        capture_output=True,
        text=True,
        timeout=120,
    )
    if init.returncode != 0:
        raise SandboxError(f"PostgreSQL: initdb failed (exit {init.returncode}):\n{init.stdout}{init.stderr}")
    port = processes.free_port()
    if not processes.port_free(port):
        raise SandboxError(f"PostgreSQL: port {port} is taken")
    proc = processes.spawn(
        _as_server_user(
            [
                str(server_bin("postgres")),
                "-D",
                str(data),
                "-p",
                str(port),
                "-h",
                "127.0.0.1",
                "-k",
                "",
                "-c",
                "fsync=off",
                "-c",
                "max_connections=300",
            ]
        ),
        log,
        die_with_parent=True,
    )
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        code = proc.poll()
        if code is not None:
            raise SandboxError(
                f"PostgreSQL exited with code {code} while starting; its log ({log}) ends with:\n"
                f"{log_tail(log)}"
            )
        try:
            connection = psycopg2.connect(host="127.0.0.1", port=port, user=USER, dbname="postgres")
        except psycopg2.OperationalError as err:
            last = str(err).strip()
            time.sleep(0.2)
            continue
        connection.autocommit = True
        with connection.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {DATABASE}")
        connection.close()
        return Postgres(directory, port, proc, log)
    processes.stop_group(proc.pid, grace=2.0)
    raise SandboxError(
        f"PostgreSQL: the database was not ready on port {port} within {timeout:.0f}s (last: {last}); "
        f"its log ({log}) ends with:\n{log_tail(log)}"
    )
