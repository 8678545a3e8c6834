"""What ends a suspension or schedule wait: the pure decisions shared by poke and the triggers."""

from __future__ import annotations

from datetime import datetime, timezone
from types import SimpleNamespace
from typing import Any

import pytest

from airflow_provider_kontinue.client import Execution, Suspension
from airflow_provider_kontinue.sensors.schedule import since_epoch
from airflow_provider_kontinue.triggers import schedule, suspension


def _suspension(name: str, phase: str, created: str = "2025-01-01T00:00:00Z") -> Suspension:
    return Suspension.model_validate(
        {
            "metadata": {
                "name": name,
                "creationTimestamp": created,
                "labels": {"kontinue.cloud/parent": "deploy-1"},
            },
            "spec": {"type": "Manual", "message": "approve?"},
            "status": {"phase": phase, "message": f"{name} is {phase}"},
        }
    )


def _execution(
    name: str, phase: str | None, created: str = "2025-01-01T00:00:00Z", **labels: str
) -> Execution:
    return Execution.model_validate(
        {
            "metadata": {"name": name, "creationTimestamp": created, "labels": labels},
            "spec": {"function": "f"},
            "status": {"phase": phase, "message": "m", "result": 7} if phase else None,
        }
    )


WAIT_REACHED = suspension.SuspensionWait("c", "ns", execution_name="deploy-1", until="reached")
WAIT_RESUMED = suspension.SuspensionWait("c", "ns", execution_name="deploy-1", until="resumed")


def test_a_waiting_suspension_is_reached_but_not_resumed() -> None:
    waiting = [_suspension("gate", "Suspended")]
    outcome = suspension.decide(WAIT_REACHED, waiting, _execution("deploy-1", "Suspended"))
    assert outcome is not None
    assert (outcome["status"], outcome["suspension"], outcome["phase"]) == ("done", "gate", "Suspended")
    assert suspension.decide(WAIT_RESUMED, waiting, _execution("deploy-1", "Suspended")) is None


def test_a_resumed_suspension_satisfies_both_and_the_oldest_comes_first() -> None:
    found = [
        _suspension("second", "Completed", "2025-01-01T00:00:02Z"),
        _suspension("first", "Completed", "2025-01-01T00:00:01Z"),
    ]
    for wait in (WAIT_REACHED, WAIT_RESUMED):
        outcome = suspension.decide(wait, found, None)
        assert outcome is not None
        assert outcome["suspension"] == "first"


def test_an_execution_that_ends_without_suspending_ends_the_wait() -> None:
    outcome = suspension.decide(WAIT_REACHED, [], _execution("deploy-1", "Completed"))
    assert outcome is not None
    assert outcome["status"] == "ended"
    assert "ended Completed before a suspension was reached" in outcome["message"]
    assert suspension.decide(WAIT_REACHED, [], _execution("deploy-1", "Executing")) is None


def test_a_canceled_suspension_ends_the_wait_with_its_phase() -> None:
    outcome = suspension.decide(WAIT_RESUMED, [_suspension("gate", "Canceled")], None)
    assert outcome is not None
    assert outcome["phase"] == "Canceled"


SINCE = datetime(2025, 1, 1, 12, tzinfo=timezone.utc).timestamp()


def _runs() -> list[Execution]:
    label = {"kontinue.cloud/schedule": "nightly"}
    return [
        _execution("nightly-old", "Completed", "2025-01-01T11:00:00Z", **label),
        _execution("nightly-b", "Executing", "2025-01-01T12:05:00Z", **label),
        _execution("nightly-a", "Executing", "2025-01-01T12:01:00Z", **label),
        _execution("other", "Executing", "2025-01-01T12:00:30Z", **{"kontinue.cloud/schedule": "hourly"}),
    ]


def test_the_first_run_after_since_of_that_schedule_is_the_one() -> None:
    wait = schedule.ScheduleWait("c", "ns", "nightly", SINCE, "fired")
    run = schedule.first_run(wait, _runs())
    assert run is not None
    assert run.name == "nightly-a"
    outcome = schedule.decide(wait, run)
    assert outcome is not None
    assert (outcome["run"], outcome["phase"]) == ("nightly-a", "Executing")


def test_waiting_for_completion_needs_the_run_to_end() -> None:
    wait = schedule.ScheduleWait("c", "ns", "nightly", SINCE, "completed")
    assert schedule.decide(wait, schedule.first_run(wait, _runs())) is None
    finished = _execution(
        "nightly-a", "Completed", "2025-01-01T12:01:00Z", **{"kontinue.cloud/schedule": "nightly"}
    )
    outcome = schedule.decide(wait, finished)
    assert outcome is not None
    assert outcome["result"] == 7
    assert schedule.decide(wait, None) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2025-01-01T12:00:00Z", SINCE),
        ("2025-01-01T12:00:00+00:00", SINCE),
        (SINCE, SINCE),
        (str(SINCE), SINCE),
        (datetime(2025, 1, 1, 12, tzinfo=timezone.utc), SINCE),
    ],
)
def test_since_accepts_text_numbers_and_datetimes(value: Any, expected: float) -> None:
    assert since_epoch(value, {"ti": None}) == expected  # type: ignore[typeddict-item]


def test_since_defaults_to_when_the_task_started() -> None:
    started = datetime(2025, 1, 1, 12, tzinfo=timezone.utc)
    assert since_epoch(None, {"ti": SimpleNamespace(start_date=started)}) == SINCE  # type: ignore[typeddict-item]
