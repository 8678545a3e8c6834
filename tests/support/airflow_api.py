"""A user's view of a running Airflow: its public REST API v2, as the UI and scripts use it.

The deployment tier's tests act only through this (and the CLI, signals, the kubernetes client):
trigger a DAG run, read task instances and their logs, mark them failed or success, clear them.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx
import pytest

T = TypeVar("T")

TERMINAL_RUN_STATES = frozenset({"success", "failed"})


def wait_until(condition: Callable[[], T | None], *, timeout: float, what: str) -> T:
    """Poll ``condition`` until it returns something truthy (a test helper; the code never polls)."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(0.25)
    pytest.fail(f"timed out after {timeout:.0f}s waiting for {what} (last: {last!r})")


class AirflowApi:
    """REST API v2 of one deployment (the simple auth manager, every user an admin)."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.http = httpx.Client(base_url=f"{base_url}/api/v2", timeout=30.0)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path, **kwargs)

    def ok(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.request(method, path, **kwargs)
        if response.status_code >= 300:
            raise AssertionError(f"{method} {path}: HTTP {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    # -- connections ---------------------------------------------------------------------------------

    def put_connection(self, conn_id: str, conn_type: str, extra: dict[str, Any]) -> None:
        """Create (or replace) a connection in the metadata DB, as the UI's form does."""
        self.request("DELETE", f"/connections/{conn_id}")
        self.ok(
            "POST",
            "/connections",
            json={"connection_id": conn_id, "conn_type": conn_type, "extra": json.dumps(extra)},
        )

    # -- DAGs and runs -------------------------------------------------------------------------------

    def wait_for_dag(self, dag_id: str, timeout: float = 90.0) -> None:
        """Wait until the dag-processor has parsed ``dag_id`` into the metadata DB, then unpause it."""

        def parsed() -> bool:
            response = self.request("GET", f"/dags/{dag_id}")
            return response.status_code == 200

        wait_until(parsed, timeout=timeout, what=f"the dag-processor to parse {dag_id}")
        self.ok("PATCH", f"/dags/{dag_id}", json={"is_paused": False})

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None) -> str:
        run = self.ok("POST", f"/dags/{dag_id}/dagRuns", json={"logical_date": None, "conf": conf or {}})
        return str(run["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str:
        return str(self.ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}")["state"])

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 180.0) -> str:
        def finished() -> str | None:
            state = self.run_state(dag_id, run_id)
            return state if state in TERMINAL_RUN_STATES else None

        return wait_until(finished, timeout=timeout, what=f"run {run_id} of {dag_id} to finish")

    def task_instances(self, dag_id: str, run_id: str) -> list[dict[str, Any]]:
        body = self.ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances", params={"limit": 1000})
        return list(body["task_instances"])

    def task_instance(self, dag_id: str, run_id: str, task_id: str, map_index: int = -1) -> dict[str, Any]:
        path = f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}"
        if map_index >= 0:
            path += f"/{map_index}"
        return dict(self.ok("GET", path))

    def task_states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {ti["task_id"]: ti["state"] for ti in self.task_instances(dag_id, run_id)}

    def wait_for_task_state(
        self, dag_id: str, run_id: str, task_id: str, states: set[str], timeout: float = 120.0
    ) -> dict[str, Any]:
        def reached() -> dict[str, Any] | None:
            ti = self.task_instance(dag_id, run_id, task_id)
            return ti if ti["state"] in states else None

        return wait_until(reached, timeout=timeout, what=f"{dag_id}/{task_id} to be {sorted(states)}")

    def task_log(self, dag_id: str, run_id: str, task_id: str, try_number: int, map_index: int = -1) -> str:
        """The task log as the UI reads it (JSON lines from the log endpoint), as plain text."""
        response = self.request(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/logs/{try_number}",
            params={"full_content": "true", "map_index": map_index},
            headers={"Accept": "application/json"},
        )
        if response.status_code != 200:
            raise AssertionError(f"task log: HTTP {response.status_code}: {response.text[:1000]}")
        content = response.json().get("content", [])
        lines: list[str] = []
        for entry in content:
            if isinstance(entry, dict):
                lines.append(str(entry.get("event", "")))
            else:
                lines.append(str(entry))
        return "\n".join(lines)

    def set_task_state(self, dag_id: str, run_id: str, task_id: str, state: str) -> None:
        """Mark a task instance ``failed`` or ``success``, as the UI's buttons do."""
        self.ok(
            "PATCH",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}",
            json={"new_state": state},
        )

    def clear_task(self, dag_id: str, run_id: str, task_id: str) -> None:
        """Clear a task instance, as the UI's Clear button does (it runs again)."""
        self.ok(
            "POST",
            f"/dags/{dag_id}/clearTaskInstances",
            json={"dry_run": False, "task_ids": [task_id], "dag_run_id": run_id, "only_failed": False},
        )

    def extra_links(self, dag_id: str, run_id: str, task_id: str) -> dict[str, str | None]:
        """The task's extra links as the UI's task page reads them: name → URL."""
        body = self.ok("GET", f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/links")
        return dict(body["extra_links"])

    def xcom(self, dag_id: str, run_id: str, task_id: str, key: str = "return_value") -> Any:
        entry = self.ok(
            "GET",
            f"/dags/{dag_id}/dagRuns/{run_id}/taskInstances/{task_id}/xcomEntries/{key}",
            params={"deserialize": "true"},
        )
        return entry["value"]
