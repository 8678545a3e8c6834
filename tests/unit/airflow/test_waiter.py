"""How the operators wait: the deadline they hand the trigger or the sync wait, the cancel when it
passes, and on_kill's cancel (timeout or kill), with the hook and the waiting replaced by fakes."""

from __future__ import annotations

import time
from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from airflow.sdk.exceptions import AirflowTaskTimeout, TaskDeferred

from airflow_provider_kontinue.client import Execution, InvalidStateError, KontinueError, NotFoundError
from airflow_provider_kontinue.operators import KontinueSpawnOperator
from airflow_provider_kontinue.operators import waiter as waiter_module
from airflow_provider_kontinue.operators.waiter import (
    DEFER_TIMEOUT_PAD,
    KILL_CANCEL_MESSAGE,
    TIMEOUT_CANCEL_MESSAGE,
)
from airflow_provider_kontinue.triggers.execution import XCOM_DEFERRED_TRY, KontinueExecutionTrigger


class FakeHook:
    """Records cancels; ``error`` makes the cancel fail."""

    made: list[FakeHook] = []  # noqa: RUF012 - shared on purpose: the operator makes its own hook

    def __init__(self, conn_id: str, namespace: str | None = None, error: Exception | None = None) -> None:
        self.conn_id, self.namespace = conn_id, namespace
        self.cancels: list[tuple[str, dict[str, str], str | None]] = []
        self.timeouts: list[float] = []
        self.closed = False
        self.error = error
        FakeHook.made.append(self)

    @property
    def client(self) -> Any:
        hook = self

        class Client:
            def with_timeout(self, seconds: float) -> Client:
                hook.timeouts.append(seconds)
                return self

            def cancel(self, name: str, options: dict[str, str], *, namespace: str | None = None) -> None:
                hook.cancels.append((name, options, namespace))
                if hook.error is not None:
                    raise hook.error

        return Client()

    def close(self) -> None:
        self.closed = True


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[FakeHook]:
    FakeHook.made = []
    monkeypatch.setattr(waiter_module, "KontinueHook", FakeHook)
    return FakeHook.made


def operator(**kwargs: Any) -> KontinueSpawnOperator:
    return KontinueSpawnOperator(task_id="spawn", function="hello", kontinue_conn_id="kc", **kwargs)


def running(name: str = "run-1", phase: str = "Executing") -> Execution:
    return Execution.model_validate(
        {
            "metadata": {"name": name, "namespace": "ns", "generation": 1},
            "spec": {"function": "hello"},
            "status": {"phase": phase},
        }
    )


def event(**fields: Any) -> dict[str, Any]:
    return {
        "status": "done",
        "name": "run-1",
        "namespace": "ns",
        "phase": "Completed",
        "message": "",
        **fields,
    }


def test_no_execution_timeout_means_no_deadline() -> None:
    op = operator()
    op._start_clock()
    assert op._deadline() is None


def test_the_deadline_ends_a_tenth_early_for_short_timeouts_and_a_second_early_for_long_ones() -> None:
    op = operator(execution_timeout=timedelta(seconds=5))
    op._started = 1000.0
    assert op._deadline() == pytest.approx(1004.5)
    op.execution_timeout = timedelta(seconds=10)
    assert op._deadline() == pytest.approx(1009.0)
    op.execution_timeout = timedelta(seconds=100)
    assert op._deadline() == pytest.approx(1099.0)


def test_an_execution_that_already_ended_finishes_without_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    op = operator(deferrable=True)
    monkeypatch.setattr(op, "defer", lambda **_: pytest.fail("deferred"))
    seen: list[Any] = []

    def finish(context: Any, event: Any) -> str:
        seen.append((context, event))
        return "finished"

    monkeypatch.setattr(op, "finish", finish)
    done = Execution.model_validate(
        {
            "metadata": {"name": "run-1", "namespace": "ns"},
            "spec": {"function": "hello"},
            "status": {"phase": "Completed", "result": {"x": 1}},
        }
    )
    context = SimpleNamespace()
    assert op.wait_for(context, None, done) == "finished"  # type: ignore[arg-type]
    ((given, outcome),) = seen
    assert given is context
    assert (outcome["name"], outcome["phase"], outcome["result"]) == ("run-1", "Completed", {"x": 1})


def test_the_sync_wait_passes_on_the_context_and_the_task_logger(monkeypatch: pytest.MonkeyPatch) -> None:
    op = operator(deferrable=False)
    loggers: list[Any] = []

    def sync_wait(hook: Any, wait: Any, logger: Any) -> dict[str, Any]:
        loggers.append(logger)
        return event()

    monkeypatch.setattr(waiter_module, "run_sync_wait", sync_wait)
    seen: list[Any] = []
    monkeypatch.setattr(op, "finish", lambda context, event: seen.append(context))
    context = SimpleNamespace()
    op.wait_for(context, None, running())  # type: ignore[arg-type]
    assert seen == [context]
    assert loggers == [op.log]


class FakeTaskInstance:
    """The context's ``ti`` as a deferring operator uses it: its try number and XCom pushes."""

    def __init__(self, try_number: int = 3) -> None:
        self.try_number = try_number
        self.pushed: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        self.pushed[key] = value


def deferring_context() -> Any:
    return {"ti": FakeTaskInstance()}


def test_deferring_records_the_try_that_defers_in_xcom_for_the_trigger_to_compare() -> None:
    op = operator(deferrable=True)
    context = deferring_context()
    with pytest.raises(TaskDeferred):
        op.wait_for(context, None, running())  # type: ignore[arg-type]
    assert context["ti"].pushed == {XCOM_DEFERRED_TRY: 3}


def test_deferring_hands_the_trigger_everything_it_needs_and_a_padded_timeout() -> None:
    op = operator(
        deferrable=True, execution_timeout=timedelta(seconds=100), stream_logs=False, cancel_on_kill=False
    )
    op._start_clock()
    with pytest.raises(TaskDeferred) as deferred:
        op.wait_for(deferring_context(), None, running(), min_generation=2)  # type: ignore[arg-type]
    trigger = deferred.value.trigger
    assert isinstance(trigger, KontinueExecutionTrigger)
    _, kwargs = trigger.serialize()
    assert kwargs["name"] == "run-1"
    assert kwargs["namespace"] == "ns"
    assert kwargs["kontinue_conn_id"] == "kc"
    assert kwargs["deadline"] == op._deadline()
    assert kwargs["min_generation"] == 2
    assert kwargs["stream_logs"] is False
    assert kwargs["cancel_on_kill"] is False
    assert deferred.value.method_name == "execute_complete"
    timeout = deferred.value.timeout
    assert timeout is not None
    left = timeout - DEFER_TIMEOUT_PAD
    assert timedelta(seconds=98) < left <= timedelta(seconds=99)


def test_deferring_without_an_execution_timeout_has_no_timeout() -> None:
    op = operator(deferrable=True)
    op._start_clock()
    with pytest.raises(TaskDeferred) as deferred:
        op.wait_for(deferring_context(), None, running())  # type: ignore[arg-type]
    assert deferred.value.timeout is None
    assert deferred.value.trigger.serialize()[1]["deadline"] is None


def test_a_deadline_already_past_defers_with_only_the_pad() -> None:
    op = operator(deferrable=True, execution_timeout=timedelta(seconds=10))
    op._started = time.time() - 3600
    with pytest.raises(TaskDeferred) as deferred:
        op.wait_for(deferring_context(), None, running())  # type: ignore[arg-type]
    assert deferred.value.timeout == DEFER_TIMEOUT_PAD


def test_the_sync_wait_gets_the_same_wait_and_its_outcome_becomes_the_result(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    op = operator(deferrable=False, execution_timeout=timedelta(seconds=100), stream_logs=False)
    op._start_clock()
    seen: list[Any] = []

    def sync_wait(hook: Any, wait: Any, logger: Any) -> dict[str, Any]:
        seen.append((hook, wait))
        return event(result={"sum": 3})

    monkeypatch.setattr(waiter_module, "run_sync_wait", sync_wait)
    assert op.wait_for({}, "the-hook", running(), min_generation=4) == {"sum": 3}  # type: ignore[arg-type]
    hook, wait = seen[0]
    assert hook == "the-hook"
    assert (wait.conn_id, wait.namespace, wait.name) == ("kc", "ns", "run-1")
    assert wait.deadline == op._deadline()
    assert wait.min_generation == 4
    assert wait.stream_logs is False


def test_a_timeout_cancels_the_execution_and_fails_the_task_as_timed_out(hooks: list[FakeHook]) -> None:
    op = operator()
    with pytest.raises(
        AirflowTaskTimeout, match="execution run-1 did not end within the task's execution_timeout"
    ):
        op.execute_complete({}, event(status="timeout"))
    (hook,) = hooks
    assert (hook.conn_id, hook.namespace) == ("kc", "ns")
    assert hook.cancels == [("run-1", {"message": TIMEOUT_CANCEL_MESSAGE}, "ns")]
    assert hook.timeouts == [20]
    assert hook.closed


@pytest.mark.parametrize("error", [InvalidStateError("ended"), NotFoundError("gone"), KontinueError("down")])
def test_a_cancel_that_fails_never_hides_the_timeout(
    hooks: list[FakeHook], monkeypatch: pytest.MonkeyPatch, error: Exception
) -> None:
    monkeypatch.setattr(waiter_module, "KontinueHook", lambda conn, ns: FakeHook(conn, ns, error))
    with pytest.raises(AirflowTaskTimeout):
        operator().execute_complete({}, event(status="timeout"))
    assert hooks[0].closed


def test_the_outcome_names_the_execution_it_came_from(hooks: list[FakeHook]) -> None:
    op = operator(cancel_on_kill=True)
    assert op.execute_complete({}, event(name="run-9", namespace="other", result=5)) == 5
    assert op._execution == ("run-9", "other")
    op.on_kill()
    assert hooks[0].cancels == [("run-9", {"message": KILL_CANCEL_MESSAGE}, "other")]


def test_a_failure_without_a_reason_says_only_the_message() -> None:
    with pytest.raises(Exception, match=r"^execution run-1 failed: boom$"):
        operator().execute_complete({}, event(phase="Failed", message="boom"))
    with pytest.raises(Exception, match=r"^execution run-1 failed: $"):
        operator().execute_complete({}, event(phase="Failed", message=None))


def test_a_wanted_non_terminal_phase_returns_the_result() -> None:
    assert operator().execute_complete({}, event(phase="Suspended", result=[1])) == [1]


def test_on_kill_before_any_execution_cancels_nothing(hooks: list[FakeHook]) -> None:
    operator(cancel_on_kill=True).on_kill()
    assert hooks == []


def test_on_kill_past_the_deadline_says_the_task_timed_out(hooks: list[FakeHook]) -> None:
    op = operator(cancel_on_kill=True, execution_timeout=timedelta(seconds=10))
    op._execution = ("run-1", "ns")
    op._started = time.time() - 9.5  # past the deadline (9 s), before Airflow's own 10 s
    op.on_kill()
    assert hooks[0].cancels == [("run-1", {"message": TIMEOUT_CANCEL_MESSAGE}, "ns")]


def test_on_kill_before_the_deadline_says_the_task_was_killed(hooks: list[FakeHook]) -> None:
    op = operator(cancel_on_kill=True, execution_timeout=timedelta(seconds=10))
    op._execution = ("run-1", "ns")
    op._start_clock()
    op.on_kill()
    assert hooks[0].cancels == [("run-1", {"message": KILL_CANCEL_MESSAGE}, "ns")]


def test_on_kill_without_cancel_on_kill_leaves_the_execution_running(hooks: list[FakeHook]) -> None:
    op = operator(cancel_on_kill=False)
    op._execution = ("run-1", "ns")
    op.on_kill()
    assert hooks == []


def test_the_context_reaches_finish(monkeypatch: pytest.MonkeyPatch) -> None:
    op = operator()
    seen: list[Any] = []
    monkeypatch.setattr(op, "finish", lambda context, event: seen.append(context))
    context = SimpleNamespace()
    op.execute_complete(context, event())  # type: ignore[arg-type]
    assert seen == [context]
