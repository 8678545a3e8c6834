"""A real Airflow deployment as separate OS processes, on a real PostgreSQL server, for the deployment tier.

``Deployment.start`` brings up, in this order: PostgreSQL (``tests.support.postgres``), ``airflow db
migrate``, ``airflow api-server``, ``airflow scheduler`` (LocalExecutor), ``airflow dag-processor``
and two ``airflow triggerer`` processes, each in its own process group with its own log file, all
sharing one generated configuration (environment variables: the DB URL, a Fernet key, the JWT
secret, the Execution API URL). A component that fails to start raises ``DeploymentError`` naming
the component, the cause and its log tail. A reaper process (``tests.support.reaper``) kills every
process group and removes the folder if pytest dies; ``stop`` does the same in order. A test may
SIGKILL one component (``Deployment.kill``) and start it again (``Deployment.revive``).
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
def running(timeout: float = 240.0) -> Iterator[Deployment]:
    """A started deployment, stopped and removed when the block ends (also on failure)."""
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
        deployment = _start(directory, reaper, timeout)
        yield deployment
    finally:
        if deployment is not None:
            deployment.stop()
        else:
            _close_reaper(reaper)
        shutil.rmtree(directory, ignore_errors=True)


def _start(directory: Path, reaper: subprocess.Popen[bytes], timeout: float) -> Deployment:
    try:
        db = postgres.start(directory / "postgres")
    except Exception as err:
        raise DeploymentError(f"component postgres did not start: {err}") from err
    _tell_reaper(reaper, f"pgid {db.proc.pid}")
    api_port = processes.free_port()
    if not processes.port_free(api_port):
        raise DeploymentError(f"component api-server: port {api_port} is taken")
    env = _config(directory, db.url, api_port)
    logs = directory / "logs"
    logs.mkdir()
    migrate_log = logs / "db-migrate.log"
    with open(migrate_log, "wb") as out:
        migrate = subprocess.run(
            [str(Path(sys.executable).with_name("airflow")), "db", "migrate"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            timeout=600,
        )
    if migrate.returncode != 0:
        raise DeploymentError(
            f"component db-migrate failed (exit {migrate.returncode}) against {db.url}; "
            f"its log ({migrate_log}) ends with:\n{log_tail(migrate_log)}"
        )
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
    for component in components.values():
        deployment.start_component(component)
    try:
        _wait_ready(deployment, timeout)
    except DeploymentError:
        deployment.stop()
        raise
    return deployment


def _wait_ready(deployment: Deployment, timeout: float) -> None:
    """Wait until the API server reports the DB, scheduler, dag-processor and both triggerers alive."""
    deadline = time.monotonic() + timeout
    last = "no answer yet"
    while time.monotonic() < deadline:
        for name in deployment.dead_components():
            component = deployment.components[name]
            assert component.proc is not None
            raise DeploymentError(
                f"component {name} exited with code {component.proc.returncode} while starting; "
                f"its log ({component.log}) ends with:\n{log_tail(component.log)}"
            )
        try:
            health = httpx.get(f"{deployment.api_url}/api/v2/monitor/health", timeout=5).json()
            jobs = httpx.get(
                f"{deployment.api_url}/api/v2/jobs",
                params={"job_type": "TriggererJob", "is_alive": "true", "limit": 10},
                timeout=5,
            ).json()
        except (httpx.HTTPError, ValueError) as err:
            last = f"api-server: {err}"
            time.sleep(0.5)
            continue
        unhealthy = [
            part
            for part in ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if health.get(part, {}).get("status") != "healthy"
        ]
        triggerers = int(jobs.get("total_entries", 0))
        if not unhealthy and triggerers >= len(TRIGGERERS):
            return
        last = f"unhealthy: {unhealthy}, live triggerers: {triggerers}"
        time.sleep(0.5)
    culprit = "api-server"
    if "scheduler" in last:
        culprit = "scheduler"
    elif "dag_processor" in last:
        culprit = "dag-processor"
    elif "triggerer" in last:
        culprit = "triggerer-1"
    component = deployment.components[culprit]
    raise DeploymentError(
        f"component {culprit} was not ready within {timeout:.0f}s ({last}); "
        f"its log ({component.log}) ends with:\n{log_tail(component.log)}"
    )
