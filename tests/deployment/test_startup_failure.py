"""A deployment component that fails to start ends the tier with a message naming the component, the
cause and its log tail: never a hang, never a silent skip, and nothing of the deployment left behind.

Issue 13's "Bad input". Each test starts a deployment (``tests.support.deployment.running``) that
cannot come up, the way it fails on a real machine: the API server's port held by another process,
a database that refuses connections, a database that accepts them and never answers; and runs
``make deployment-deps`` on a machine with neither Chromium nor apt-get. None needs the session's
deployment, sandbox or emulator. What a failed start registered for clean-up (its process groups
and its folder, as it tells its reaper) must be gone when ``running()`` has raised.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from tests.support import deployment as deployment_support
from tests.support.deployment import DeploymentError

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Registered:
    """What a deployment handed its reaper to clean (process groups, folders), and the children
    this test process had before it started."""

    groups: list[int] = field(default_factory=list)
    folders: list[Path] = field(default_factory=list)
    children_before: set[int] = field(default_factory=set)

    def assert_nothing_left(self) -> None:
        assert self.folders, "the deployment registered no folder"
        assert [path for path in self.folders if path.exists()] == []
        assert self.groups, "the deployment registered no process group"
        alive = {pgid: deployment_support._group_members(pgid) for pgid in self.groups}
        assert {pgid: members for pgid, members in alive.items() if members} == {}
        # New processes under children that were there before are theirs, not the start's (a
        # session's Chromium starts utility processes whenever it likes).
        left = [
            f"{child.pid} {child.status()} {child.cmdline()[:3]}"
            for child in psutil.Process().children(recursive=True)
            if not self.children_before & {child.pid, *(parent.pid for parent in child.parents())}
        ]
        assert left == [], "processes the failed start left behind (the reaper included)"


@pytest.fixture
def registered(monkeypatch: pytest.MonkeyPatch) -> Registered:
    """Follow what the deployment registers for clean-up, to check afterwards that none of it is left."""
    seen = Registered(children_before={child.pid for child in psutil.Process().children(recursive=True)})
    tell = deployment_support._tell_reaper

    def spy(reaper: subprocess.Popen[bytes], line: str) -> None:
        kind, _, value = line.partition(" ")
        if kind == "pgid":
            seen.groups.append(int(value))
        elif kind == "dir":
            seen.folders.append(Path(value))
        tell(reaper, line)

    monkeypatch.setattr(deployment_support, "_tell_reaper", spy)
    return seen


def failed_start(**options: object) -> str:
    """Start a deployment that must fail; the message of its ``DeploymentError``."""
    started = time.monotonic()
    with pytest.raises(DeploymentError) as caught, deployment_support.running(**options):  # type: ignore[arg-type]
        pytest.fail(f"the deployment started with {options}")
    message = str(caught.value)
    print(f"failed after {time.monotonic() - started:.1f} s with:\n{message}")
    return message


def log_tail_of(message: str) -> str:
    """The log tail part of a DeploymentError message (the indented lines after "ends with:")."""
    assert "ends with:\n" in message, message
    return message.split("ends with:\n", 1)[1]


@pytest.mark.timeout(600)  # a hang guard only: the start fails when the api-server exits
def test_an_api_server_port_taken_ends_the_start_naming_the_api_server_the_holder_and_its_bind_error(
    registered: Registered,
) -> None:
    """Another process listens on the API server's port: the api-server's bind fails and it exits.
    The start must end there (not after the readiness timeout, and never by talking to the other
    process), saying which component, which port and who holds it, with the api-server's log."""
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        message = failed_start(api_port=port)
    assert message.startswith("component api-server exited with code "), message
    assert f"its port {port} is taken (address already in use) by pid {os.getpid()} (" in message
    assert "address already in use" in log_tail_of(message).lower()
    registered.assert_nothing_left()


@pytest.mark.timeout(600)
def test_a_database_refusing_connections_ends_the_start_naming_db_migrate_and_the_refusal(
    registered: Registered,
) -> None:
    """The metadata DB's port is closed (nothing listens; the test holds it bound so nobody else
    does): ``airflow db migrate`` fails, and the message names it, the URL and the refusal."""
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        url = f"postgresql+psycopg2://airflow@127.0.0.1:{closed.getsockname()[1]}/airflow"
        message = failed_start(db_url=url)
    assert message.startswith(f"component db-migrate failed (exit 1) against {url}; its log ("), message
    assert "Connection refused" in log_tail_of(message)
    registered.assert_nothing_left()


@pytest.mark.timeout(600)
def test_a_database_that_never_answers_ends_the_start_at_the_migrate_timeout_naming_db_migrate(
    registered: Registered,
) -> None:
    """The metadata DB accepts connections and never answers (a stalled server): ``airflow db
    migrate`` waits forever without a line of output. The start must end at its timeout, naming
    db-migrate, the URL and what a short test connection says, with the (empty) log."""
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        url = f"postgresql+psycopg2://airflow@127.0.0.1:{silent.getsockname()[1]}/airflow"
        message = failed_start(db_url=url, migrate_timeout=30.0)
    assert message.startswith(f"component db-migrate did not finish within 30s against {url} ("), message
    assert "the database does not answer: " in message
    assert "timeout expired" in message
    assert "db-migrate.log) ends with:\n" in message
    registered.assert_nothing_left()


def test_deployment_deps_without_chromium_and_without_apt_get_fails_naming_what_to_install(
    tmp_path: Path,
) -> None:
    """``make deployment-deps`` on a machine where Chromium is missing and cannot be installed (no
    apt-get): it must fail, naming what is missing, rather than let the UI tests skip or hang. An
    empty PATH hides chromium, chromedriver and apt-get (the recipe's shell is /bin/sh)."""
    make = shutil.which("make")
    assert make, "make is not installed"
    result = subprocess.run(
        [make, "--no-print-directory", "deployment-deps"],
        cwd=ROOT,
        env={"PATH": str(tmp_path), "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "deployment-deps: no apt-get here; install" in result.stderr, result.stderr
    assert " chromium chromium-driver yourself" in result.stderr, result.stderr
