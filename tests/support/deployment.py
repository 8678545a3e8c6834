"""A real Airflow deployment as separate OS processes, on a real PostgreSQL server, for the deployment tier.

``Deployment.start`` brings up, in this order: PostgreSQL (``tests.support.postgres``), ``airflow db
migrate``, ``airflow api-server``, ``airflow scheduler`` (LocalExecutor), ``airflow dag-processor``
and two ``airflow triggerer`` processes, each in its own process group with its own log file, all
sharing one generated configuration (environment variables: the DB URL, a Fernet key, the JWT
secret, the Execution API URL). A component that fails to start raises ``DeploymentError`` naming
the component, the cause and its log tail. A reaper process (``tests.support.reaper``) kills every
process group and removes the folder if pytest dies; ``stop`` does the same in order. A test may
SIGKILL one component (``Deployment.kill``) and start it again (``Deployment.revive``), or stop
it for a while (``Deployment.pause``, SIGSTOP) and let it go on (``Deployment.unpause``).
"""

from __future__ import annotations

import base64
import contextlib
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx
import psycopg2

from kontinue_sandbox import processes
from kontinue_sandbox.errors import log_tail
from tests.support import postgres
from tests.support.airflow_api import AirflowApi

ROOT = Path(__file__).resolve().parents[2]
TRIGGERERS = ("triggerer-1", "triggerer-2")


class DeploymentError(RuntimeError):
    """A component of the deployment did not start; the message names it, the cause and its log tail."""


@dataclass
class Component:
    """One Airflow process: its command, environment overrides and log file."""

    name: str
    args: list[str]
    log: Path
    env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None, f"{self.name} is not running"
        return self.proc.pid


@dataclass
class Deployment:
    """A running deployment: its folder, configuration, components and REST API."""

    directory: Path
    env: dict[str, str]
    api_url: str
    components: dict[str, Component]
    db: postgres.Postgres
    reaper: subprocess.Popen[bytes]
    api: AirflowApi

    @property
    def dags(self) -> Path:
        return Path(self.env["AIRFLOW__CORE__DAGS_FOLDER"])

    @property
    def home(self) -> Path:
        return Path(self.env["AIRFLOW_HOME"])

    def log_files(self) -> list[Path]:
        """Every file a process of the deployment wrote (component logs and Airflow's task logs)."""
        return [p for p in self.directory.rglob("*") if p.is_file() and p.suffix in {".log", ".json", ""}]

    def airflow_cli(self, *args: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` with the deployment's configuration, as an operator would."""
        return subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_component(self, component: Component) -> None:
        """Start a component in its own process group (the reaper kills the group if pytest dies)."""
        with open(component.log, "ab") as log:
            component.proc = subprocess.Popen(
                component.args,
                env={**self.env, **component.env},
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        _tell_reaper(self.reaper, f"pgid {component.proc.pid}")

    def restart(self, name: str, *, kill: bool = False) -> None:
        """Stop a component (SIGKILL when ``kill``, else SIGTERM) and start it again."""
        component = self.components[name]
        assert component.proc is not None
        if kill:
            self.kill(name)
        else:
            processes.stop_group(component.proc.pid, grace=30.0)
            component.proc.wait()
        self.revive(name)

    def kill(self, name: str, timeout: float = 30.0) -> None:
        """SIGKILL a component's whole process group at once, as a lost node would end it (no
        clean-up code runs), and wait until none of its processes is left; ``revive`` starts it again."""
        component = self.components[name]
        assert component.proc is not None, f"{name} was never started"
        assert component.proc.poll() is None, f"{name} is not running"
        pgid = component.proc.pid
        os.killpg(pgid, signal.SIGKILL)
        component.proc.wait()
        deadline = time.monotonic() + timeout
        while _group_members(pgid):
            if time.monotonic() > deadline:
                raise DeploymentError(f"{name}: processes {_group_members(pgid)} outlived SIGKILL")
            time.sleep(0.05)

    def revive(self, name: str) -> None:
        """Start a stopped or killed component again, with the same command, environment and log."""
        component = self.components[name]
        assert component.proc is None or component.proc.poll() is not None, f"{name} is still running"
        self.start_component(component)

    def pause(self, name: str) -> None:
        """SIGSTOP a component's process group: alive but doing nothing, its heartbeat lagging (a
        process starved of CPU, or its node stalled) until ``unpause``."""
        os.killpg(self.components[name].pid, signal.SIGSTOP)

    def unpause(self, name: str) -> None:
        """SIGCONT a paused component: it goes on where it stopped."""
        os.killpg(self.components[name].pid, signal.SIGCONT)

    def open_files(self, name: str) -> list[str]:
        """The paths of the files the processes of a component hold open now (``/proc/<pid>/fd``)."""
        paths = []
        for pid in _group_members(self.components[name].pid):
            with contextlib.suppress(OSError):  # the process ended, or closed a file, meanwhile
                for fd in Path(f"/proc/{pid}/fd").iterdir():
                    with contextlib.suppress(OSError):
                        paths.append(os.readlink(fd))
        return paths

    def live_triggerer_jobs(self) -> set[int]:
        """The ids of the TriggererJobs whose heartbeat is recent (REST API; a killed triggerer's
        job stays listed until ``[triggerer] triggerer_health_check_threshold`` has passed)."""
        jobs = self.api.ok(
            "GET", "/jobs", params={"job_type": "TriggererJob", "is_alive": "true", "limit": 100}
        )
        return {int(job["id"]) for job in jobs["jobs"]}

    def dead_components(self) -> list[str]:
        return [
            name for name, c in self.components.items() if c.proc is not None and c.proc.poll() is not None
        ]

    def stop(self) -> None:
        """Stop every component and the DB, then let the reaper remove the folder."""
        self.api.close()
        for component in reversed(list(self.components.values())):
            if component.proc is not None:
                with contextlib.suppress(Exception):
                    processes.stop_group(component.proc.pid, grace=15.0)
                    component.proc.wait()
        with contextlib.suppress(Exception):
            self.db.stop()
        _close_reaper(self.reaper)


def _group_members(pgid: int) -> list[int]:
    """The live (not zombie) processes of process group ``pgid``."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            state, _ppid, group = (entry / "stat").read_text().rsplit(") ", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue
        if int(group) == pgid and state != "Z":
            members.append(int(entry.name))
    return members


def _tell_reaper(reaper: subprocess.Popen[bytes], line: str) -> None:
    stdin: IO[bytes] | None = reaper.stdin
    assert stdin is not None
    stdin.write(f"{line}\n".encode())
    stdin.flush()


def _close_reaper(reaper: subprocess.Popen[bytes]) -> None:
    if reaper.stdin is not None:
        with contextlib.suppress(OSError):
            reaper.stdin.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        reaper.wait(timeout=60)


def _config(directory: Path, db_url: str, api_port: int) -> dict[str, str]:
    home = directory / "home"
    (home / "dags").mkdir(parents=True)
    fernet = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    api_url = f"http://127.0.0.1:{api_port}"
    env = {key: value for key, value in os.environ.items() if not key.startswith(("AIRFLOW_", "AIRFLOW__"))}
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "PYTHONPATH": str(ROOT),
            "AIRFLOW__CORE__DAGS_FOLDER": str(home / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": "16",
            "AIRFLOW__CORE__FERNET_KEY": fernet,
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{api_url}/execution/",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": db_url,
            "AIRFLOW__API__BASE_URL": api_url,
            "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_hex(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "2",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "5",
            # A triggerer silent for 30 s (Airflow's default) is dead: its triggers go to the other
            # one. Not less: under this tier's load a live triggerer's heartbeat lags up to ~10 s,
            # and a trigger taken from a live triggerer has its on_kill called there (Airflow 3.3).
            "AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD": "30",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "2",
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(processes.free_port()),
            "AIRFLOW__OPERATORS__DEFAULT_DEFERRABLE": "True",
        }
    )
    return env


@contextlib.contextmanager
def running(
    timeout: float = 240.0,
    *,
    api_port: int | None = None,
    db_url: str | None = None,
    migrate_timeout: float = 600.0,
) -> Iterator[Deployment]:
    """A started deployment, stopped and removed when the block ends (also on failure).

    ``api_port`` is the API server's port (default: a free one). ``db_url`` is the SQLAlchemy URL
    every component uses instead of the started PostgreSQL server's (which still starts, and
    stops at the end); ``migrate_timeout`` bounds ``airflow db migrate``. The tests of a failing
    start set them (tests/deployment/test_startup_failure.py): a port taken, a database that is
    closed or does not answer.
    """
    directory = Path(tempfile.mkdtemp(prefix="kontinue-deployment-"))
    directory.chmod(0o755)  # the PostgreSQL server runs as nobody and must reach its data folder
    reaper = subprocess.Popen(
        [sys.executable, "-m", "tests.support.reaper"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        start_new_session=True,
    )
    _tell_reaper(reaper, f"dir {directory}")
    deployment: Deployment | None = None
    try:
        deployment = _start(
            directory, reaper, timeout, api_port=api_port, db_url=db_url, migrate_timeout=migrate_timeout
        )
        yield deployment
    finally:
        if deployment is not None:
            deployment.stop()
        else:
            _close_reaper(reaper)
        shutil.rmtree(directory, ignore_errors=True)


def _start(
    directory: Path,
    reaper: subprocess.Popen[bytes],
    timeout: float,
    *,
    api_port: int | None = None,
    db_url: str | None = None,
    migrate_timeout: float = 600.0,
) -> Deployment:
    try:
        db = postgres.start(directory / "postgres")
    except Exception as err:
        raise DeploymentError(f"component postgres did not start: {err}") from err
    _tell_reaper(reaper, f"pgid {db.proc.pid}")
    try:
        return _start_airflow(
            directory,
            reaper,
            timeout,
            db,
            api_port or processes.free_port(),
            db_url or db.url,
            migrate_timeout,
        )
    except BaseException:
        with contextlib.suppress(Exception):
            db.stop()
        raise


def _start_airflow(
    directory: Path,
    reaper: subprocess.Popen[bytes],
    timeout: float,
    db: postgres.Postgres,
    api_port: int,
    db_url: str,
    migrate_timeout: float,
) -> Deployment:
    # No check that api_port is free: it would race with whoever takes the port next. A port
    # taken is the api-server's own bind error, with its log tail and the port's holder, below.
    env = _config(directory, db_url, api_port)
    logs = directory / "logs"
    logs.mkdir()
    _migrate(env, reaper, logs / "db-migrate.log", db_url, migrate_timeout)
    airflow = str(Path(sys.executable).with_name("airflow"))
    components = {
        "api-server": Component(
            "api-server",
            [airflow, "api-server", "--host", "127.0.0.1", "--port", str(api_port), "--workers", "1"],
            logs / "api-server.log",
        ),
        "scheduler": Component("scheduler", [airflow, "scheduler"], logs / "scheduler.log"),
        "dag-processor": Component("dag-processor", [airflow, "dag-processor"], logs / "dag-processor.log"),
    }
    for name in TRIGGERERS:
        components[name] = Component(
            name,
            [airflow, "triggerer"],
            logs / f"{name}.log",
            env={"AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(processes.free_port())},
        )
    api_url = f"http://127.0.0.1:{api_port}"
    deployment = Deployment(directory, env, api_url, components, db, reaper, AirflowApi(api_url))
    try:
        for component in components.values():
            deployment.start_component(component)
        _wait_ready(deployment, timeout, api_port)
    except BaseException:
        deployment.stop()
        raise
    return deployment


def _migrate(
    env: dict[str, str], reaper: subprocess.Popen[bytes], log: Path, db_url: str, timeout: float
) -> None:
    """``airflow db migrate``, in its own process group, within ``timeout``: against a database
    that accepts connections but never answers it would wait forever, without a line of output."""
    with open(log, "wb") as out:
        migrate = subprocess.Popen(
            [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    _tell_reaper(reaper, f"pgid {migrate.pid}")
    try:
        code = migrate.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        processes.stop_group(migrate.pid, grace=5.0)
        migrate.wait()
        raise DeploymentError(
            f"component db-migrate did not finish within {timeout:.0f}s against {db_url} "
            f"({_probe_db(db_url)}); its log ({log}) ends with:\n{log_tail(log)}"
        ) from None
    if code != 0:
        raise DeploymentError(
            f"component db-migrate failed (exit {code}) against {db_url}; "
            f"its log ({log}) ends with:\n{log_tail(log)}"
        )


def _probe_db(db_url: str) -> str:
    """What one short connection attempt to the database says: the cause of a migration that hangs."""
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    try:
        connection = psycopg2.connect(
            host=url.host,
            port=url.port,
            user=url.username,
            dbname=url.database,
            password=url.password,
            connect_timeout=5,
        )
    except psycopg2.Error as err:
        return f"the database does not answer: {str(err).strip()}"
    connection.close()
    return "the database answers a connection now"


HEALTH_COMPONENTS = {
    "metadatabase": ("postgres",),
    "scheduler": ("scheduler",),
    "dag_processor": ("dag-processor",),
    "triggerer": TRIGGERERS,
}
"""The components behind each part of the API server's health report."""


def _wait_ready(deployment: Deployment, timeout: float, api_port: int | None = None) -> None:
    """Wait until the API server reports the DB, scheduler, dag-processor and both triggerers alive,
    answering on ``api_port`` from its own processes (not from whatever else listens there).

    A component that exits meanwhile ends the wait at once; past ``timeout`` the error names the
    components the last answer blamed (each with its log tail), never a guess.
    """
    port = api_port if api_port is not None else int(deployment.api_url.rsplit(":", 1)[1])
    deadline = time.monotonic() + timeout
    last = "the api-server has not answered yet"
    waiting: tuple[str, ...] = ("api-server",)
    while time.monotonic() < deadline:
        for name in deployment.dead_components():
            raise DeploymentError(_exited(deployment, name, port))
        try:
            health = httpx.get(f"{deployment.api_url}/api/v2/monitor/health", timeout=5).json()
            jobs = httpx.get(
                f"{deployment.api_url}/api/v2/jobs",
                params={"job_type": "TriggererJob", "is_alive": "true", "limit": 10},
                timeout=5,
            ).json()
        except (httpx.HTTPError, ValueError) as err:
            last, waiting = f"the api-server does not answer: {type(err).__name__}: {err}", ("api-server",)
            time.sleep(0.5)
            continue
        unhealthy = [part for part in HEALTH_COMPONENTS if health.get(part, {}).get("status") != "healthy"]
        triggerers = int(jobs.get("total_entries", 0))
        if triggerers < len(TRIGGERERS) and "triggerer" not in unhealthy:
            unhealthy.append("triggerer")
        if not unhealthy:
            if _serves(deployment, port):
                return
            last = f"port {port} answers, but not from the api-server's processes ({_holders(port)})"
            waiting = ("api-server",)
        else:
            last = f"unhealthy: {unhealthy}, live triggerers: {triggerers} of {len(TRIGGERERS)}"
            waiting = tuple(name for part in unhealthy for name in HEALTH_COMPONENTS[part])
        time.sleep(0.5)
    lines = 25 if len(waiting) == 1 else 12
    tails = "\n".join(
        f"{name}'s log ({log}) ends with:\n{log_tail(log, lines)}"
        for name, log in ((name, _log_of(deployment, name)) for name in waiting)
    )
    raise DeploymentError(
        f"component {', '.join(waiting)} {'was' if len(waiting) == 1 else 'were'} not ready "
        f"within {timeout:.0f}s ({last});\n{tails}"
    )


def _log_of(deployment: Deployment, name: str) -> Path:
    return deployment.db.log if name == "postgres" else deployment.components[name].log


def _exited(deployment: Deployment, name: str, port: int) -> str:
    """The message for a component that exited while the deployment started."""
    component = deployment.components[name]
    assert component.proc is not None
    cause = f"exited with code {component.proc.returncode} while starting"
    if name == "api-server":
        holders = _holders(port)
        if holders != "nobody":  # it is dead: whoever listens there now took the port first
            cause += f"; its port {port} is taken (address already in use) by {holders}"
    return f"component {name} {cause}; its log ({component.log}) ends with:\n{log_tail(component.log)}"


def _listening_sockets(port: int) -> set[str]:
    """The ``socket:[inode]`` links of the TCP sockets listening on ``port`` (any address)."""
    sockets = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(OSError):
            for row in Path(table).read_text().splitlines()[1:]:
                fields = row.split()
                if len(fields) > 9 and fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                    sockets.add(f"socket:[{fields[9]}]")
    return sockets


def _holding(pids: list[int], sockets: set[str]) -> list[int]:
    """Those of ``pids`` holding one of ``sockets`` open."""
    holding = []
    for pid in pids:
        with contextlib.suppress(OSError):
            for fd in Path(f"/proc/{pid}/fd").iterdir():
                with contextlib.suppress(OSError):
                    if os.readlink(fd) in sockets:
                        holding.append(pid)
                        break
    return holding


def _serves(deployment: Deployment, port: int) -> bool:
    """Whether the api-server's own processes listen on ``port``."""
    sockets = _listening_sockets(port)
    return bool(sockets) and bool(_holding(_group_members(deployment.components["api-server"].pid), sockets))


def _holders(port: int) -> str:
    """Who listens on ``port``: ``pid N (command line)`` of each process, or ``nobody``."""
    sockets = _listening_sockets(port)
    if not sockets:
        return "nobody"
    pids = _holding([int(entry.name) for entry in Path("/proc").iterdir() if entry.name.isdigit()], sockets)
    described = []
    for pid in pids:
        try:
            command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            command = "?"
        described.append(f"pid {pid} ({command.strip()[:120]})")
    return ", ".join(described) or "a process this user cannot see"
