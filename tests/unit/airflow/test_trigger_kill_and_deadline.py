"""The execution trigger's on_kill and deadline, and the wait behind it (``execution_wait``,
``resilient``), with the hooks, the shared watch, the clock and the sleeps replaced by fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Sequence
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_kontinue.client import (
    ConfigError,
    Execution,
    ForbiddenError,
    InvalidStateError,
    KontinueError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)
from airflow_provider_kontinue.client.watch import ObjectChange
from airflow_provider_kontinue.hooks.connection import ConnectionFieldError
from airflow_provider_kontinue.triggers import execution as execution_module
from airflow_provider_kontinue.triggers import execution_wait as wait_module
from airflow_provider_kontinue.triggers import resilient as resilient_module
from airflow_provider_kontinue.triggers.execution import (
    KILL_MESSAGE,
    ON_KILL_TIMEOUT,
    XCOM_DEFERRED_TRY,
    KontinueExecutionTrigger,
)
from airflow_provider_kontinue.triggers.execution_wait import (
    ExecutionWait,
    outcome,
    poll_for_execution,
    wait_for_execution,
)
from airflow_provider_kontinue.triggers.resilient import PERMANENT_ERRORS, connection_client, resilient

# --- fakes ----------------------------------------------------------------------------------------


class Log:
    """A logger that keeps each line as ``(level, text)``, formatted as logging would."""

    def __init__(self) -> None:
        self.lines: list[tuple[str, str]] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(("info", msg % args))

    def warning(self, msg: str, *args: Any) -> None:
        self.lines.append(("warning", msg % args))

    def at(self, level: str) -> list[str]:
        return [text for lvl, text in self.lines if lvl == level]


class FakeAsyncHook:
    """Records the cancels of its client; ``error`` (set on the class) makes the cancel fail."""

    made: ClassVar[list[FakeAsyncHook]] = []
    error: ClassVar[BaseException | None] = None

    def __init__(self, conn_id: str, namespace: str | None = None) -> None:
        self.conn_id, self.namespace = conn_id, namespace
        self.cancels: list[tuple[str, dict[str, str], str | None]] = []
        self.closed = False
        self.client: Any = SimpleNamespace(cancel=self._cancel)
        FakeAsyncHook.made.append(self)

    async def _cancel(self, name: str, options: dict[str, str], *, namespace: str | None = None) -> None:
        self.cancels.append((name, options, namespace))
        if FakeAsyncHook.error is not None:
            raise FakeAsyncHook.error

    async def get_async_client(self) -> Any:
        assert not self.closed, "the hook's client is asked for after aclose()"
        return self.client

    async def aclose(self) -> None:
        self.closed = True


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> list[FakeAsyncHook]:
    FakeAsyncHook.made = []
    FakeAsyncHook.error = None
    monkeypatch.setattr(execution_module, "KontinueAsyncHook", FakeAsyncHook)
    monkeypatch.setattr(resilient_module, "KontinueAsyncHook", FakeAsyncHook)
    return FakeAsyncHook.made


class Clock:
    """``time.time`` and ``asyncio.sleep`` for the module under test: sleeping moves the clock."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    clock = Clock()
    monkeypatch.setattr(wait_module, "time", SimpleNamespace(time=clock.time))
    monkeypatch.setattr(wait_module, "asyncio", SimpleNamespace(sleep=clock.sleep))
    monkeypatch.setattr(resilient_module, "asyncio", SimpleNamespace(sleep=clock.sleep))
    return clock


@pytest.fixture
def jitter(monkeypatch: pytest.MonkeyPatch) -> list[tuple[float, float]]:
    """``random.uniform`` in ``resilient``: records its bounds and always draws 0.75."""
    bounds: list[tuple[float, float]] = []

    def uniform(low: float, high: float) -> float:
        bounds.append((low, high))
        return 0.75

    monkeypatch.setattr(resilient_module, "random", SimpleNamespace(uniform=uniform))
    return bounds


def execution(
    phase: str | None = "Executing",
    *,
    name: str = "x",
    generation: int | None = None,
    observed: int | None = None,
    archived: bool = False,
    status: bool = True,
    **fields: Any,
) -> Execution:
    annotations = {"kontinue.cloud/archived": "true"} if archived else {}
    document: dict[str, Any] = {
        "metadata": {"name": name, "namespace": "ns", "generation": generation, "annotations": annotations},
        "spec": {"function": "f"},
    }
    if status:
        document["status"] = {"phase": phase, "observedGeneration": observed, **fields}
    return Execution.model_validate(document)


def changed(obj: Execution, kind: Any = "MODIFIED") -> ObjectChange[Execution]:
    return ObjectChange(kind, obj)


def relisted(*objects: Execution) -> ObjectChange[Execution]:
    return ObjectChange("RELISTED", None, objects)


class FakeSubscription:
    """One subscription to the shared watch: scripted reads and changes, each used once."""

    def __init__(self, reads: Sequence[Execution | None], changes: Sequence[Any] = ()) -> None:
        self.reads = list(reads)
        self.changes = list(changes)
        self.asked: list[str] = []
        self.timeouts: list[float | None] = []
        self.client: Any = "the informer's client"

    async def read(self, name: str) -> Execution | None:
        self.asked.append(name)
        assert self.reads, f"read({name!r}) once more than scripted"
        return self.reads.pop(0)

    async def next(self, timeout: float | None = None) -> ObjectChange[Execution]:
        self.timeouts.append(timeout)
        assert self.changes, "next() once more than scripted"
        change = self.changes.pop(0)
        if isinstance(change, BaseException):
            raise change
        assert isinstance(change, ObjectChange)
        return change


class FakeInformer:
    """``Informer`` for ``execution_wait``: hands out the scripted subscriptions in order."""

    def __init__(self, *subscriptions: FakeSubscription) -> None:
        self.subscriptions = list(subscriptions)
        self.calls: list[tuple[Any, ...]] = []
        self.left = 0

    @contextlib.asynccontextmanager
    async def subscribe(
        self, source: str, namespace: str, model: Any, make_client: Any, names: Any, **kwargs: Any
    ) -> AsyncIterator[FakeSubscription]:
        self.calls.append((source, namespace, model, make_client, names, kwargs))
        assert self.subscriptions, "subscribed once more than scripted"
        try:
            yield self.subscriptions.pop(0)
        finally:
            self.left += 1


class FakeForwarder:
    """``LogForwarder``: records the states it is shown and how long ``finish`` may drain."""

    made: ClassVar[list[FakeForwarder]] = []

    def __init__(self, client: Any, namespace: str, logger: Any, *, reader: str | None = None) -> None:
        self.args = (client, namespace, logger)
        self.reader = reader
        self.phases: list[str] = []
        self.drains: list[float | None] = []
        FakeForwarder.made.append(self)

    def update(self, execution: Execution) -> None:
        self.phases.append(str(execution.phase))

    async def finish(self, drain: float | None = None) -> None:  # None: the default drain
        self.drains.append(drain)


@pytest.fixture
def forwarders(monkeypatch: pytest.MonkeyPatch) -> list[FakeForwarder]:
    FakeForwarder.made = []
    monkeypatch.setattr(wait_module, "LogForwarder", FakeForwarder)
    return FakeForwarder.made


def informer(monkeypatch: pytest.MonkeyPatch, *subscriptions: FakeSubscription) -> FakeInformer:
    fake = FakeInformer(*subscriptions)
    monkeypatch.setattr(wait_module, "Informer", fake)
    return fake


async def make_client() -> Any:
    raise AssertionError("the fake informer never opens a client")


def trigger(**kwargs: Any) -> KontinueExecutionTrigger:
    made = KontinueExecutionTrigger(
        **{"name": "run-1", "namespace": "ns", "kontinue_conn_id": "kc", **kwargs}
    )
    made._log = Log()  # type: ignore[assignment]
    return made


def log_of(made: KontinueExecutionTrigger) -> Log:
    log = made.log
    assert isinstance(log, Log)
    return log


DONE = {"status": "done", "name": "run-1", "namespace": "ns", "phase": "Completed", "message": None}


# --- KontinueExecutionTrigger: serialize, run, on_kill --------------------------------------------


def test_a_polling_trigger_keeps_its_interval_and_the_deadline_is_always_a_float() -> None:
    made = KontinueExecutionTrigger(name="x", namespace="ns", deadline=1767225600, poll_interval=2.5)
    _, kwargs = made.serialize()
    assert kwargs["poll_interval"] == 2.5
    assert kwargs["deadline"] == 1767225600.0
    assert isinstance(kwargs["deadline"], float)
    assert KontinueExecutionTrigger(**kwargs).serialize()[1] == kwargs


def test_a_deadline_at_epoch_zero_is_a_deadline() -> None:
    assert KontinueExecutionTrigger(name="x", namespace="ns", deadline=0).wait().deadline == 0.0


async def test_the_trigger_fires_one_event_with_the_outcome_of_the_shared_wait(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    made = trigger(phases=["Completed"], deadline=2000.0)
    seen: list[Any] = []

    def client_for(conn_id: str, namespace: str) -> str:
        seen.append(("connection", conn_id, namespace))
        return "the client maker"

    async def wait_for(wait: ExecutionWait, maker: Any, logger: Any) -> dict[str, Any]:
        seen.append(("wait", wait, maker, logger))
        return DONE

    monkeypatch.setattr(execution_module, "connection_client", client_for)
    monkeypatch.setattr(execution_module, "wait_for_execution", wait_for)
    events = [event async for event in made.run()]
    assert [event.payload for event in events] == [DONE]
    assert seen == [("connection", "kc", "ns"), ("wait", made.wait(), "the client maker", made.log)]
    assert log_of(made).at("info") == [
        "kontinue: waiting for execution run-1 in namespace ns",
        "kontinue: execution run-1 is Completed",
    ]


async def test_a_trigger_that_stopped_waiting_logs_why(monkeypatch: pytest.MonkeyPatch) -> None:
    made = trigger()
    payload = {**DONE, "status": "timeout", "phase": None, "message": "the deadline passed"}

    async def wait_for(wait: ExecutionWait, maker: Any, logger: Any) -> dict[str, Any]:
        return payload

    monkeypatch.setattr(execution_module, "wait_for_execution", wait_for)
    assert [event.payload async for event in made.run()] == [payload]
    assert log_of(made).at("info")[-1] == "kontinue: stopped waiting for run-1 (timeout): the deadline passed"


@pytest.mark.parametrize("fails", [False, True])
async def test_a_polling_trigger_polls_with_its_own_hook_and_always_closes_it(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook], fails: bool
) -> None:
    made = trigger(poll_interval=2.5)
    seen: list[Any] = []

    async def poll(wait: ExecutionWait, client: Any, interval: float) -> dict[str, Any]:
        seen.append((wait, client, interval))
        if fails:
            raise RuntimeError("boom")
        return DONE

    monkeypatch.setattr(execution_module, "poll_for_execution", poll)
    monkeypatch.setattr(execution_module, "wait_for_execution", lambda *_: pytest.fail("watched"))
    if fails:
        with pytest.raises(RuntimeError, match="boom"):
            await anext(made.run())
    else:
        assert (await anext(made.run())).payload == DONE
    (hook,) = hooks
    assert (hook.conn_id, hook.namespace) == ("kc", "ns")
    assert seen == [(made.wait(), hook.client, 2.5)]
    assert hook.closed


async def test_on_kill_cancels_the_execution_saying_the_task_was_killed(hooks: list[FakeAsyncHook]) -> None:
    made = trigger()
    await made.on_kill()
    (hook,) = hooks
    assert (hook.conn_id, hook.namespace) == ("kc", "ns")
    assert hook.cancels == [("run-1", {"message": KILL_MESSAGE}, "ns")]
    assert hook.closed
    assert log_of(made).lines == [("info", "kontinue: canceled execution run-1 because the task was killed")]


async def test_on_kill_after_the_trigger_fired_cancels_nothing(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook]
) -> None:
    made = trigger()

    async def wait_for(wait: ExecutionWait, maker: Any, logger: Any) -> dict[str, Any]:
        return DONE

    monkeypatch.setattr(execution_module, "wait_for_execution", wait_for)
    await anext(made.run())
    await made.on_kill()
    assert hooks == []


def deferred_task(made: KontinueExecutionTrigger, try_number: int = 2) -> SimpleNamespace:
    """Give ``made`` the task instance the triggerer sets on a trigger it runs."""
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=-1, try_number=try_number)
    made.task_instance = ti  # type: ignore[assignment]
    return ti


async def test_on_kill_of_a_trigger_moved_off_this_triggerer_cancels_nothing(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook]
) -> None:
    made = trigger()
    ti = deferred_task(made)
    asked: list[Any] = []

    async def still_deferred(task_instance: Any) -> bool:
        asked.append(task_instance)
        return True

    monkeypatch.setattr(execution_module, "still_deferred_in", still_deferred)
    await made.on_kill()
    assert asked == [ti]
    assert hooks == []
    assert log_of(made).lines == [
        ("info", "kontinue: the trigger moved to another triggerer; execution run-1 goes on")
    ]


async def test_on_kill_of_a_task_that_left_deferred_cancels_its_execution(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook]
) -> None:
    made = trigger()
    deferred_task(made)

    async def still_deferred(task_instance: Any) -> bool:
        return False

    monkeypatch.setattr(execution_module, "still_deferred_in", still_deferred)
    await made.on_kill()
    assert hooks[0].cancels == [("run-1", {"message": KILL_MESSAGE}, "ns")]


async def test_on_kill_cancels_when_the_task_state_cannot_be_read(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook]
) -> None:
    made = trigger()
    deferred_task(made)

    async def still_deferred(task_instance: Any) -> bool:
        raise ConnectionResetError("the supervisor went away")

    monkeypatch.setattr(execution_module, "still_deferred_in", still_deferred)
    await made.on_kill()
    assert hooks[0].cancels == [("run-1", {"message": KILL_MESSAGE}, "ns")]
    assert log_of(made).lines[0] == (
        "warning",
        "kontinue: could not read the state of task t: the supervisor went away",
    )


@pytest.mark.parametrize(
    ("deferred_count", "xcom_try", "moved"),
    [
        (1, 2, True),  # still deferred by the try that deferred: the trigger only moved
        (0, 2, False),  # marked failed or success: not deferred any more
        (1, 3, False),  # cleared, and the new try deferred again: this trigger's try is over
        (1, None, False),  # cleared, the new try started (its XComs cleared) and deferred anew
    ],
)
async def test_a_task_is_still_deferred_only_if_deferred_by_the_same_try(
    monkeypatch: pytest.MonkeyPatch, deferred_count: int, xcom_try: int | None, moved: bool
) -> None:
    from airflow.sdk.execution_time.task_runner import RuntimeTaskInstance
    from airflow.sdk.execution_time.xcom import XCom

    asked: list[tuple[str, Any]] = []

    def get_ti_count(dag_id: str, **kwargs: Any) -> int:
        asked.append(("count", (dag_id, kwargs)))
        return deferred_count

    def get_one(**kwargs: Any) -> Any:
        asked.append(("xcom", kwargs))
        return xcom_try

    monkeypatch.setattr(RuntimeTaskInstance, "get_ti_count", staticmethod(get_ti_count))
    monkeypatch.setattr(XCom, "get_one", staticmethod(get_one))
    ti = SimpleNamespace(dag_id="d", run_id="r", task_id="t", map_index=4, try_number=2)
    assert await execution_module.still_deferred_in(ti) is moved
    assert asked[0] == (
        "count",
        ("d", {"map_index": 4, "task_ids": ["t"], "run_ids": ["r"], "states": ["deferred"]}),
    )
    if deferred_count:
        assert asked[1] == (
            "xcom",
            {"key": XCOM_DEFERRED_TRY, "dag_id": "d", "task_id": "t", "run_id": "r", "map_index": 4},
        )
    else:
        assert len(asked) == 1  # not deferred: no need to read the XCom


async def test_on_kill_without_cancel_on_kill_leaves_the_execution_running(
    hooks: list[FakeAsyncHook],
) -> None:
    await trigger(cancel_on_kill=False).on_kill()
    assert hooks == []


@pytest.mark.parametrize("error", [InvalidStateError("it has ended"), NotFoundError("gone")])
async def test_on_kill_of_an_execution_that_ended_or_is_gone_is_quiet(
    hooks: list[FakeAsyncHook], error: Exception
) -> None:
    FakeAsyncHook.error = error
    made = trigger()
    await made.on_kill()
    assert len(hooks[0].cancels) == 1
    assert hooks[0].closed
    assert log_of(made).lines == []


@pytest.mark.parametrize(
    "error",
    [
        KontinueError("connection refused"),
        ConfigError("no kubeconfig"),
        AirflowNotFoundException("The conn_id `kc` isn't defined"),  # deleted since the defer
        ConnectionFieldError("kc", "qps", "must be a number"),
    ],
)
async def test_a_cancel_on_kill_that_fails_is_logged_as_a_warning(
    hooks: list[FakeAsyncHook], error: Exception
) -> None:
    FakeAsyncHook.error = error
    made = trigger()
    await made.on_kill()  # never raises into the triggerer
    assert hooks[0].closed
    assert log_of(made).lines == [("warning", f"kontinue: could not cancel execution run-1 on kill: {error}")]


async def test_the_cancel_on_kill_is_bounded_by_on_kill_timeout(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook]
) -> None:
    timeouts: list[float] = []

    async def wait_for(awaitable: Any, timeout: float) -> Any:
        timeouts.append(timeout)
        return await awaitable

    monkeypatch.setattr(
        execution_module, "asyncio", SimpleNamespace(wait_for=wait_for, TimeoutError=asyncio.TimeoutError)
    )
    await trigger().on_kill()
    assert timeouts == [ON_KILL_TIMEOUT]
    assert ON_KILL_TIMEOUT < 30  # Airflow's [triggerer] on_kill_timeout
    assert len(hooks[0].cancels) == 1


async def test_a_cancel_on_kill_that_takes_too_long_is_logged_as_a_warning(
    monkeypatch: pytest.MonkeyPatch, hooks: list[FakeAsyncHook]
) -> None:
    async def slow_cancel(self: FakeAsyncHook, name: str, options: dict[str, str], **_: Any) -> None:
        await asyncio.sleep(2)  # far beyond the 0.01 s the cancel may take here

    monkeypatch.setattr(FakeAsyncHook, "_cancel", slow_cancel)
    monkeypatch.setattr(execution_module, "ON_KILL_TIMEOUT", 0.01)
    made = trigger()
    await made.on_kill()
    assert hooks[0].closed
    ((level, text),) = log_of(made).lines
    assert level == "warning"
    assert text.startswith("kontinue: could not cancel execution run-1 on kill")


# --- ExecutionWait, outcome -----------------------------------------------------------------------


def wait_for_x(**kwargs: Any) -> ExecutionWait:
    return ExecutionWait(**{"conn_id": "kc", "namespace": "ns", "name": "x", **kwargs})


def test_an_archived_execution_ends_the_wait_whatever_its_status_says() -> None:
    wait = wait_for_x(min_generation=5)
    assert wait.reached(execution("Failed", generation=5, observed=1, archived=True))
    assert not wait.reached(execution("Failed", generation=5, observed=1))


def test_a_phase_the_controller_wrote_for_an_older_spec_does_not_end_the_wait() -> None:
    wait = wait_for_x()  # no min_generation: is_observed alone decides
    assert not wait.reached(execution("Failed", generation=2, observed=1))
    assert wait.reached(execution("Failed", generation=2, observed=2))


def test_a_status_without_an_observed_generation_counts_as_generation_zero() -> None:
    wait = wait_for_x(phases=frozenset({"Pending"}), min_generation=1)
    assert not wait.reached(execution("Pending"))
    assert not wait.reached(execution(status=False))
    assert wait.reached(execution("Pending", observed=1))


def test_the_time_remaining_counts_down_to_zero_and_never_below(clock: Clock) -> None:
    assert wait_for_x().remaining() is None
    wait = wait_for_x(deadline=1010.0)
    assert wait.remaining() == 10.0
    clock.now = 1015.0
    assert wait.remaining() == 0.0


def test_an_outcome_without_an_execution_names_the_wait_only() -> None:
    assert outcome(wait_for_x(), "error", error="boom") == {
        "status": "error",
        "name": "x",
        "namespace": "ns",
        "phase": None,
        "message": "boom",
        "reason": None,
        "result": None,
        "attempt": None,
    }
    assert outcome(wait_for_x(), "error")["message"] is None


def test_an_outcome_carries_what_the_execution_says_unless_an_error_overrides_its_message() -> None:
    ended = execution("Failed", message="exit 3", reason="WorkerFailed", result={"n": 1}, attempt=2)
    assert outcome(wait_for_x(), "done", ended) == {
        "status": "done",
        "name": "x",
        "namespace": "ns",
        "phase": "Failed",
        "message": "exit 3",
        "reason": "WorkerFailed",
        "result": {"n": 1},
        "attempt": 2,
    }
    assert outcome(wait_for_x(), "error", ended, error="deleted")["message"] == "deleted"


# --- poll_for_execution ---------------------------------------------------------------------------


class PollClient:
    """``client.get`` answering the scripted executions (or errors), one per call."""

    def __init__(self, *answers: Execution | Exception) -> None:
        self.answers = list(answers)
        self.gets: list[tuple[str, str | None]] = []

    async def get(self, name: str, *, namespace: str | None = None) -> Execution:
        self.gets.append((name, namespace))
        assert self.answers, "polled once more than scripted"
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


async def test_polling_reads_every_interval_until_the_execution_ends(clock: Clock) -> None:
    client = PollClient(execution("Executing"), execution("Executing"), execution("Completed", result=7))
    payload = await poll_for_execution(wait_for_x(), client, 2.0)  # type: ignore[arg-type]
    assert (payload["status"], payload["phase"], payload["result"]) == ("done", "Completed", 7)
    assert client.gets == [("x", "ns")] * 3
    assert clock.sleeps == [2.0, 2.0]


async def test_polling_never_sleeps_past_the_deadline_and_then_times_out(clock: Clock) -> None:
    client = PollClient(*[execution("Executing")] * 4)
    payload = await poll_for_execution(wait_for_x(deadline=1005.0), client, 2.0)  # type: ignore[arg-type]
    assert clock.sleeps == [2.0, 2.0, 1.0]
    assert payload == outcome(
        wait_for_x(), "timeout", error="the deadline passed while waiting for execution 'x'"
    )


async def test_polling_ends_with_the_error_a_read_failed_with(clock: Clock) -> None:
    error = ForbiddenError("no get on executions")
    payload = await poll_for_execution(wait_for_x(), PollClient(error), 2.0)  # type: ignore[arg-type]
    assert (payload["status"], payload["message"]) == ("error", str(error))


# --- wait_for_execution: the shared watch ---------------------------------------------------------


async def test_a_wait_subscribes_to_its_execution_by_name_and_an_ended_one_ends_it_at_once(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    sub = FakeSubscription([execution("Completed", result=1)])
    watch = informer(monkeypatch, sub)
    logger = Log()
    payload = await wait_for_execution(wait_for_x(), make_client, logger)
    assert (payload["status"], payload["phase"], payload["result"]) == ("done", "Completed", 1)
    assert watch.calls == [("kc", "ns", Execution, make_client, frozenset({"x"}), {})]
    assert sub.asked == ["x"]
    assert sub.timeouts == []
    (forwarder,) = forwarders
    assert forwarder.args == ("the informer's client", "ns", logger)
    assert forwarder.phases == ["Completed"]
    assert forwarder.drains == [None]  # the worker's last lines may drain


async def test_a_wait_follows_the_changes_until_a_wanted_phase(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder], clock: Clock
) -> None:
    sub = FakeSubscription(
        [execution("Pending")],
        [changed(execution("Executing")), changed(execution("Suspended", result="paused"), "ADDED")],
    )
    informer(monkeypatch, sub)
    wait = wait_for_x(phases=frozenset({"Suspended"}), deadline=1100.0)
    clock.now = 1030.0
    payload = await wait_for_execution(wait, make_client, Log())
    assert (payload["status"], payload["phase"], payload["result"]) == ("done", "Suspended", "paused")
    assert sub.timeouts == [70.0, 70.0]  # each wait for a change is bounded by the deadline
    assert forwarders[0].phases == ["Pending", "Executing", "Suspended"]


async def test_a_wait_without_logs_starts_no_forwarder(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    informer(monkeypatch, FakeSubscription([execution("Completed")]))
    payload = await wait_for_execution(wait_for_x(stream_logs=False), make_client, Log())
    assert payload["status"] == "done"
    assert forwarders == []


async def test_a_wait_for_an_execution_that_does_not_exist_ends_with_an_error(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    informer(monkeypatch, FakeSubscription([None]))
    payload = await wait_for_execution(wait_for_x(), make_client, Log())
    assert payload == outcome(
        wait_for_x(),
        "error",
        error="execution 'x' not found in namespace 'ns' (neither live nor archived)",
    )
    assert forwarders[0].drains == [0.0]  # no draining for a wait that did not end


async def test_a_deleted_execution_is_read_again_and_its_archive_ends_the_wait(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    archived = execution("Completed", archived=True, result="from the archive")
    sub = FakeSubscription([execution("Executing"), archived], [changed(execution("Executing"), "DELETED")])
    informer(monkeypatch, sub)
    payload = await wait_for_execution(wait_for_x(), make_client, Log())
    assert (payload["status"], payload["result"]) == ("done", "from the archive")
    assert sub.asked == ["x", "x"]


async def test_an_execution_deleted_for_good_ends_the_wait_with_an_error(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    sub = FakeSubscription([execution("Executing"), None], [changed(execution("Executing"), "DELETED")])
    informer(monkeypatch, sub)
    payload = await wait_for_execution(wait_for_x(), make_client, Log())
    assert (payload["status"], payload["message"]) == ("error", "execution 'x' was deleted")
    assert forwarders[0].drains == [0.0]


async def test_after_a_relist_the_wait_takes_its_execution_from_the_list(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    listed = (execution("Completed", name="other", result="other"), execution("Completed", result="mine"))
    sub = FakeSubscription([execution("Executing")], [relisted(*listed)])
    informer(monkeypatch, sub)
    payload = await wait_for_execution(wait_for_x(), make_client, Log())
    assert payload["result"] == "mine"
    assert sub.asked == ["x"]


async def test_an_execution_missing_from_a_relist_is_read_again(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    archived = execution("Failed", archived=True, result="archived")
    listed = execution("Completed", name="other")
    sub = FakeSubscription([execution("Executing"), archived], [relisted(listed)])
    informer(monkeypatch, sub)
    payload = await wait_for_execution(wait_for_x(), make_client, Log())
    assert (payload["phase"], payload["result"]) == ("Failed", "archived")
    assert sub.asked == ["x", "x"]


async def test_the_deadline_passing_while_watching_fires_the_timeout_payload(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder], clock: Clock
) -> None:
    sub = FakeSubscription([execution("Executing")], [TimeoutError()])
    informer(monkeypatch, sub)
    payload = await wait_for_execution(wait_for_x(deadline=1001.0), make_client, Log())
    assert payload == {
        "status": "timeout",
        "name": "x",
        "namespace": "ns",
        "phase": None,
        "message": "the deadline passed while waiting for execution 'x'",
        "reason": None,
        "result": None,
        "attempt": None,
    }
    assert sub.timeouts == [1.0]
    assert forwarders[0].drains == [0.0]


async def test_a_broken_watch_is_subscribed_and_read_again_after_a_backoff(
    monkeypatch: pytest.MonkeyPatch,
    forwarders: list[FakeForwarder],
    clock: Clock,
    jitter: list[tuple[float, float]],
) -> None:
    first = FakeSubscription([execution("Executing")], [KontinueError("watch broke")])
    second = FakeSubscription([execution("Completed")])
    watch = informer(monkeypatch, first, second)
    logger = Log()
    payload = await wait_for_execution(wait_for_x(), make_client, logger)
    assert payload["phase"] == "Completed"
    assert len(watch.calls) == 2
    assert watch.left == 2
    assert clock.sleeps == [0.75]
    (line,) = logger.at("warning")
    assert "execution x" in line
    assert "watch broke" in line


async def test_a_wait_refused_for_good_ends_with_the_error(
    monkeypatch: pytest.MonkeyPatch, forwarders: list[FakeForwarder]
) -> None:
    error = ForbiddenError("cannot watch executions")
    informer(monkeypatch, FakeSubscription([execution("Executing")], [error]))
    payload = await wait_for_execution(wait_for_x(), make_client, Log())
    assert payload == outcome(wait_for_x(), "error", error=str(error))


# --- resilient, connection_client -----------------------------------------------------------------


class Attempts:
    """An attempt that raises the scripted errors in turn, then returns ``{"ok": n}``."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> dict[str, Any]:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return {"ok": self.calls}


async def run(attempt: Attempts, remaining: Any = lambda: None, logger: Any = None) -> dict[str, Any]:
    return await resilient(
        attempt,
        remaining=remaining,
        on_timeout=lambda: {"timeout": attempt.calls},
        on_error=lambda message: {"error": message},
        what="the thing",
        logger=logger or Log(),
    )


async def test_an_attempt_that_returns_is_the_result(clock: Clock) -> None:
    assert await run(Attempts()) == {"ok": 1}
    assert clock.sleeps == []


async def test_a_timeout_in_an_attempt_is_the_deadline(clock: Clock) -> None:
    assert await run(Attempts(TimeoutError())) == {"timeout": 1}


@pytest.mark.parametrize(
    "error",
    [
        ForbiddenError("forbidden"),
        UnauthorizedError("expired token"),
        ConfigError("no such context"),
        ValidationError("bad name"),
        ConnectionFieldError("kc", "extra", "not JSON"),
        AirflowNotFoundException("The conn_id `kc` isn't defined"),
    ],
)
async def test_permission_and_configuration_errors_end_the_wait_at_once(
    clock: Clock, error: Exception
) -> None:
    assert isinstance(error, PERMANENT_ERRORS)
    attempt = Attempts(error)
    assert await run(attempt) == {"error": str(error)}
    assert attempt.calls == 1
    assert clock.sleeps == []


async def test_broken_connections_are_retried_with_doubling_jittered_backoff_up_to_30s(
    clock: Clock, jitter: list[tuple[float, float]]
) -> None:
    attempt = Attempts(*[KontinueError("connection reset")] * 8)
    logger = Log()
    assert await run(attempt, logger=logger) == {"ok": 9}
    # 0.5 s doubled per failure (from 1 s), at most 30 s, times the jitter (0.75 here)
    assert clock.sleeps == [0.75, 1.5, 3.0, 6.0, 12.0, 22.5, 22.5, 22.5]
    assert jitter == [(0.5, 1.0)] * 8
    assert logger.at("warning")[0] == (
        "kontinue: the wait for the thing broke off (kontinue error: connection reset); again in 0.8s"
    )


async def test_backoff_stays_at_30s_after_very_many_failures(
    clock: Clock, jitter: list[tuple[float, float]]
) -> None:
    attempt = Attempts(*[KontinueError("down")] * 1100)
    assert await run(attempt) == {"ok": 1101}
    assert clock.sleeps[-1] == 22.5


async def test_when_the_deadline_comes_before_the_next_try_it_sleeps_what_is_left_and_times_out(
    clock: Clock, jitter: list[tuple[float, float]]
) -> None:
    attempt = Attempts(*[KontinueError("down")] * 3)
    # 1 s left: the first delay (0.75 s) fits, the second (1.5 s) does not
    assert await run(attempt, remaining=lambda: 1.0) == {"timeout": 2}
    assert clock.sleeps == [0.75, 1.0]


async def test_a_delay_that_ends_exactly_at_the_deadline_times_out(
    clock: Clock, jitter: list[tuple[float, float]]
) -> None:
    attempt = Attempts(KontinueError("down"))
    assert await run(attempt, remaining=lambda: 0.75) == {"timeout": 1}
    assert clock.sleeps == [0.75]


async def test_a_trigger_gets_its_client_from_its_connection_when_the_watch_opens(
    hooks: list[FakeAsyncHook],
) -> None:
    make = connection_client("kc", "team")
    assert hooks == []  # nothing is read until the watch opens
    client = await make()
    (hook,) = hooks
    assert (hook.conn_id, hook.namespace) == ("kc", "team")
    assert client is hook.client
