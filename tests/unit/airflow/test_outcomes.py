"""How a wait's outcome becomes the task's outcome (the operators' and sensors' execute_complete)."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pendulum
import pytest
from airflow.sdk.exceptions import (
    AirflowException,
    AirflowFailException,
    AirflowSensorTimeout,
    AirflowSkipException,
)

from airflow_provider_kontinue.operators import KontinueResumeOperator, KontinueSpawnOperator
from airflow_provider_kontinue.sensors import KontinueExecutionSensor, KontinueSuspensionSensor


def _context() -> Any:
    """The part of a task's context the resumed operators read: the task instance's start."""
    return {"ti": SimpleNamespace(start_date=pendulum.datetime(2026, 1, 1))}


def _event(**fields: Any) -> dict[str, Any]:
    base = {
        "status": "done",
        "name": "run-1",
        "namespace": "ns",
        "phase": None,
        "message": "",
        "result": None,
    }
    return {**base, **fields}


@pytest.fixture
def spawn() -> KontinueSpawnOperator:
    return KontinueSpawnOperator(task_id="spawn", function="hello", cancel_on_kill=False)


def test_completed_returns_the_result(spawn: KontinueSpawnOperator) -> None:
    assert spawn.execute_complete(_context(), _event(phase="Completed", result={"sum": 14})) == {"sum": 14}


def test_skipped_skips_the_task(spawn: KontinueSpawnOperator) -> None:
    with pytest.raises(AirflowSkipException, match="run-1 was skipped: not needed"):
        spawn.execute_complete(_context(), _event(phase="Skipped", message="not needed"))


@pytest.mark.parametrize("phase", ["Failed", "Canceled"])
def test_failed_or_canceled_fails_with_the_executions_message(
    spawn: KontinueSpawnOperator, phase: str
) -> None:
    with pytest.raises(AirflowException, match=f"run-1 {phase.lower()} \\(NonRetryableError\\): boom"):
        spawn.execute_complete(_context(), _event(phase=phase, reason="NonRetryableError", message="boom"))


def test_an_error_event_and_a_bare_string_fail_clearly(spawn: KontinueSpawnOperator) -> None:
    with pytest.raises(AirflowException, match="could not wait for execution run-1: forbidden"):
        spawn.execute_complete(_context(), _event(status="error", message="forbidden"))
    with pytest.raises(AirflowException, match="without an outcome"):
        spawn.execute_complete(_context(), "success")


def test_operator_parameters_are_checked_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="on_previous_failure: must be one of retry, respawn, fail"):
        KontinueSpawnOperator(task_id="x", function="f", on_previous_failure="again")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="retry_child_policy: must be one of"):
        KontinueSpawnOperator(task_id="y", function="f", retry_child_policy="Some")
    with pytest.raises(ValueError, match="exactly one of suspension_name or execution_name"):
        KontinueResumeOperator(task_id="z")
    with pytest.raises(ValueError, match="not kontinue phases"):
        KontinueExecutionSensor(task_id="s", execution_name="e", phases=["Done"])
    with pytest.raises(ValueError, match="until: must be one of reached, resumed"):
        KontinueSuspensionSensor(task_id="t", execution_name="e", until="approved")


def test_the_execution_sensor_passes_on_its_phases_and_fails_on_another_end() -> None:
    sensor = KontinueExecutionSensor(task_id="s", execution_name="run-1", phases=["Suspended"])
    assert sensor.finish(_event(phase="Suspended"))["phase"] == "Suspended"
    with pytest.raises(AirflowFailException, match="run-1 is Completed \\(it has ended\\), not Suspended"):
        sensor.finish(_event(phase="Completed"))


def test_the_execution_sensor_takes_one_phase_as_a_plain_string() -> None:
    """``phases="Completed"`` is one phase, not the letters C, o, m, ... (which were refused)."""
    sensor = KontinueExecutionSensor(task_id="s", execution_name="run-1", phases="Suspended")
    assert sensor.phases == ["Suspended"]
    assert sensor.finish(_event(phase="Suspended"))["phase"] == "Suspended"
    with pytest.raises(ValueError, match=r"\['Done'\] not kontinue phases"):
        KontinueExecutionSensor(task_id="t", execution_name="run-1", phases="Done")


def test_a_sensor_timeout_fails_or_skips_with_soft_fail() -> None:
    sensor = KontinueExecutionSensor(task_id="s", execution_name="run-1")
    with pytest.raises(AirflowSensorTimeout):
        sensor.finish(_event(status="timeout", message="late"))
    soft = KontinueExecutionSensor(task_id="soft", execution_name="run-1", soft_fail=True)
    with pytest.raises(AirflowSkipException):
        soft.finish(_event(status="timeout", message="late"))


def test_the_suspension_sensor_fails_when_the_execution_ended_first() -> None:
    sensor = KontinueSuspensionSensor(task_id="s", execution_name="deploy-1")
    with pytest.raises(AirflowFailException, match="ended Completed before"):
        sensor.finish({"status": "ended", "message": "execution deploy-1 ended Completed before ..."})
    assert (
        sensor.finish({"status": "done", "suspension": "gate", "phase": "Suspended"})["suspension"] == "gate"
    )


def test_the_timeout_clock_starts_when_execute_begins_just_before_airflows_own(
    spawn: KontinueSpawnOperator,
) -> None:
    """Not from ti.start_date: dag.test() sets it seconds before execute(), and a deadline counted
    from there was already past when a 5 s task spawned (its wait timed out at once)."""
    spawn.execution_timeout = timedelta(seconds=5)
    assert spawn._deadline() is None  # no clock before execute()
    before = time.time()
    spawn._start_clock()
    deadline = spawn._deadline()
    assert deadline is not None
    assert before + 4.5 <= deadline <= time.time() + 4.5  # 5 s less a tenth: ours ends first
    spawn.execution_timeout = timedelta(hours=1)
    assert spawn._deadline() == pytest.approx(spawn._started + 3600 - 1)  # type: ignore[operator]
