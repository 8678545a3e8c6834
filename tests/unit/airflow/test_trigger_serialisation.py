"""The trigger's kwargs are plain JSON, hold no secret, and rebuild the same trigger."""

from __future__ import annotations

import asyncio
import importlib
import json
from typing import Any

import pytest

from airflow_provider_kontinue.client import Execution
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from airflow_provider_kontinue.triggers.execution_wait import ExecutionWait, outcome


def test_serialise_then_rebuild_gives_the_same_trigger() -> None:
    trigger = KontinueExecutionTrigger(
        name="load-0123456789ab",
        namespace="team",
        kontinue_conn_id="kontinue_prod",
        phases=["Suspended", "Completed"],
        deadline=1767225600.5,
        min_generation=3,
        stream_logs=False,
        cancel_on_kill=False,
    )
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_kontinue.triggers.execution.KontinueExecutionTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs  # plain JSON, nothing else
    assert kwargs == {
        "name": "load-0123456789ab",
        "namespace": "team",
        "kontinue_conn_id": "kontinue_prod",
        "phases": ["Completed", "Suspended"],
        "deadline": 1767225600.5,
        "min_generation": 3,
        "stream_logs": False,
        "cancel_on_kill": False,
        "poll_interval": None,
    }
    module, _, name = classpath.rpartition(".")
    rebuilt = getattr(importlib.import_module(module), name)(**kwargs)
    assert rebuilt.serialize() == (classpath, kwargs)
    assert rebuilt.wait() == ExecutionWait(
        conn_id="kontinue_prod",
        namespace="team",
        name="load-0123456789ab",
        phases=frozenset({"Suspended", "Completed"}),
        deadline=1767225600.5,
        min_generation=3,
        stream_logs=False,
    )


def test_the_defaults_wait_for_any_end() -> None:
    wait = KontinueExecutionTrigger(name="x", namespace="ns").wait()
    assert wait.phases == frozenset({"Completed", "Failed", "Canceled", "Skipped"})
    assert wait.deadline is None
    assert wait.conn_id == "kontinue_default"
    assert wait.min_generation is None


def test_by_default_a_trigger_streams_the_worker_logs_cancels_on_kill_and_watches() -> None:
    _, kwargs = KontinueExecutionTrigger(name="x", namespace="ns").serialize()
    assert (kwargs["stream_logs"], kwargs["cancel_on_kill"], kwargs["poll_interval"]) == (True, True, None)


def test_event_payloads_are_plain_json() -> None:
    wait = ExecutionWait(conn_id="c", namespace="ns", name="x")
    payload = outcome(wait, "timeout", error="late")
    assert json.loads(json.dumps(payload)) == payload
    assert payload["status"] == "timeout"
    assert payload["message"] == "late"


def _execution(phase: str, observed: int | None = None, archived: bool = False) -> Execution:
    annotations = {"kontinue.cloud/archived": "true"} if archived else {}
    return Execution.model_validate(
        {
            "metadata": {"name": "x", "namespace": "ns", "annotations": annotations},
            "spec": {"function": "f"},
            "status": {"phase": phase, "observedGeneration": observed},
        }
    )


def test_a_wait_ends_on_a_wanted_phase_or_any_end() -> None:
    wait = ExecutionWait(conn_id="c", namespace="ns", name="x", phases=frozenset({"Suspended"}))
    assert wait.reached(_execution("Suspended"))
    assert wait.reached(_execution("Failed"))  # it will never be Suspended now
    assert not wait.reached(_execution("Executing"))


def test_after_a_retry_states_from_before_the_retry_do_not_end_the_wait() -> None:
    wait = ExecutionWait(conn_id="c", namespace="ns", name="x", min_generation=2)
    assert not wait.reached(_execution("Failed", observed=1))  # the controller has not seen the retry
    assert wait.reached(_execution("Failed", observed=2))
    assert wait.reached(_execution("Completed", observed=2))


def test_a_trigger_whose_connection_is_missing_fires_an_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("AIRFLOW_CONN_KONTINUE_ABSENT", raising=False)
    trigger = KontinueExecutionTrigger(name="x", namespace="ns", kontinue_conn_id="kontinue_absent")

    async def first() -> Any:
        return await anext(trigger.run())

    event = asyncio.run(first())
    assert event.payload["status"] == "error"
    assert "AIRFLOW_CONN_KONTINUE_ABSENT" in event.payload["message"]
