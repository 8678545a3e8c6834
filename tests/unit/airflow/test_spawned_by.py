"""``spawned_by``: a suspension sensor follows the execution a spawn of the same DAG run starts,
named exactly as the spawn names it; bad input fails before anything touches the cluster; and an
execution that does not exist yet is waited for (poke, first check, trigger) instead of failing."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import datetime
from types import SimpleNamespace
from typing import Any, ClassVar

import pytest
from airflow.sdk import DAG, TaskGroup
from airflow.sdk.exceptions import AirflowFailException, TaskDeferred

from airflow_provider_kontinue.client import (
    Execution,
    ExecutionTree,
    ExecutionTreeNode,
    NotFoundError,
    Suspension,
)
from airflow_provider_kontinue.client.watch import ObjectChange
from airflow_provider_kontinue.operators import KontinueSpawnOperator
from airflow_provider_kontinue.operators.naming import execution_name
from airflow_provider_kontinue.sensors import KontinueSuspensionSensor
from airflow_provider_kontinue.sensors import base as base_module
from airflow_provider_kontinue.sensors.spawned import resolve_spawned
from airflow_provider_kontinue.triggers import suspension as suspension_module
from airflow_provider_kontinue.triggers.suspension import SuspensionWait, wait_for_suspension

RUN_ID = "manual__2025-01-01T00:00:00+00:00"
_dags = itertools.count()


def ti(task_id: str = "gate", map_index: int = -1, dag_id: str = "approval") -> SimpleNamespace:
    return SimpleNamespace(dag_id=dag_id, task_id=task_id, run_id=RUN_ID, map_index=map_index, try_number=1)


def context(task: KontinueSuspensionSensor, map_index: int = -1, **extra: Any) -> Any:
    assert task.dag is not None
    return {"ti": ti(task.task_id, map_index, task.dag.dag_id), "run_id": RUN_ID, **extra}


@contextlib.contextmanager
def dag(dag_id: str = "approval") -> Iterator[DAG]:
    with DAG(dag_id, schedule=None, start_date=datetime(2025, 1, 1)) as made:
        yield made


# --- the name: the spawn's own -----------------------------------------------------------------


def test_the_sensor_derives_the_name_the_spawn_of_the_same_run_uses() -> None:
    with dag():
        gate = KontinueSuspensionSensor(task_id="gate", spawned_by="deploy")  # defined first
        deploy = KontinueSpawnOperator(task_id="deploy", function="deploy")
    spawned = resolve_spawned(gate, context(gate), "deploy", None)
    assert spawned.name == deploy._base_name(ti("deploy"))
    assert spawned.name == execution_name("approval", "deploy", RUN_ID, -1)
    assert (spawned.namespace, spawned.task_id, spawned.map_index) == (None, "deploy", -1)


def test_another_run_or_dag_gives_another_name() -> None:
    with dag("one"):
        gate = KontinueSuspensionSensor(task_id="gate", spawned_by="deploy")
        KontinueSpawnOperator(task_id="deploy", function="deploy")
    with dag("two"):
        other = KontinueSuspensionSensor(task_id="gate", spawned_by="deploy")
        KontinueSpawnOperator(task_id="deploy", function="deploy")
    here = resolve_spawned(gate, context(gate), "deploy", None).name
    there = resolve_spawned(other, context(other), "deploy", None).name
    assert here != there
    later: Any = {"ti": SimpleNamespace(dag_id="one", run_id="manual__later", map_index=-1)}
    assert resolve_spawned(gate, later, "deploy", None).name != here


def test_a_spawn_in_a_task_group_is_named_by_its_full_task_id() -> None:
    with dag():
        with TaskGroup("release"):
            deploy = KontinueSpawnOperator(task_id="deploy", function="deploy")
        gate = KontinueSuspensionSensor(task_id="gate", spawned_by="release.deploy")
    assert resolve_spawned(gate, context(gate), "release.deploy", None).name == deploy._base_name(
        ti("release.deploy")
    )


def test_an_explicit_name_and_namespace_on_the_spawn_are_rendered_in_the_sensors_context() -> None:
    with dag():
        KontinueSpawnOperator(
            task_id="deploy",
            function="deploy",
            name="deploy-{{ params.version | replace('.', '-') }}",
            namespace="{{ params.team }}",
        )
        gate = KontinueSuspensionSensor(task_id="gate", spawned_by="deploy")
    spawned = resolve_spawned(gate, context(gate, params={"version": "1.4.2", "team": "web"}), "deploy", None)
    assert (spawned.name, spawned.namespace) == ("deploy-1-4-2", "web")


def test_a_mapped_spawn_is_followed_at_the_sensors_own_map_index_or_the_one_given() -> None:
    with dag():
        KontinueSpawnOperator.partial(task_id="deploy", function="deploy").expand(
            arguments=[{"version": "1"}, {"version": "2"}]
        )
        gate = KontinueSuspensionSensor(task_id="gate", spawned_by="deploy")
    own = resolve_spawned(gate, context(gate, map_index=1), "deploy", None)
    assert (own.name, own.map_index) == (execution_name("approval", "deploy", RUN_ID, 1), 1)
    assert resolve_spawned(gate, context(gate), "deploy", "0").name == execution_name(
        "approval", "deploy", RUN_ID, 0
    )


# --- bad input: when the DAG is parsed ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "says"),
    [
        ({}, "give exactly one of suspension_name, execution_name or spawned_by"),
        ({"execution_name": "x", "spawned_by": "deploy"}, "got execution_name='x', spawned_by='deploy'"),
        ({"suspension_name": "s", "spawned_by": "deploy"}, "got suspension_name='s', spawned_by='deploy'"),
        ({"spawned_by": ""}, "spawned_by: give the task_id of the KontinueSpawnOperator"),
        ({"spawned_by": "gate"}, "spawned_by: 'gate' is this sensor's own task_id"),
        ({"spawned_by": "deploy", "spawned_by_map_index": -2}, "spawned_by_map_index: a map index"),
        ({"spawned_by": "deploy", "spawned_by_map_index": True}, "spawned_by_map_index: a map index"),
        ({"execution_name": "x", "spawned_by_map_index": 0}, "spawned_by_map_index: only with spawned_by"),
    ],
)
def test_bad_parameters_fail_when_the_dag_is_parsed(kwargs: dict[str, Any], says: str) -> None:
    with pytest.raises(ValueError, match=r"\w") as raised:
        KontinueSuspensionSensor(task_id="gate", **kwargs)
    assert says in str(raised.value)


# --- bad input: when the sensor runs, before the cluster ----------------------------------------


class NoHook:
    def __init__(self, *args: Any) -> None:
        raise AssertionError("the sensor touched the cluster before checking spawned_by")


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(base_module, "KontinueHook", NoHook)


@pytest.mark.usefixtures("no_cluster")
@pytest.mark.parametrize("deferrable", [False, True], ids=["poke", "deferrable"])
@pytest.mark.parametrize(
    ("spawned_by", "map_index", "own_index", "says"),
    [
        ("deplyo", None, -1, "there is no task 'deplyo' in DAG 'approval' (did you mean 'deploy'?)"),
        ("inner", None, -1, "there is no task 'inner' in DAG 'approval' (did you mean 'release.inner'?)"),
        ("hello", None, -1, "task 'hello' is a EmptyOperator, not a KontinueSpawnOperator"),
        ("deploy", 0, -1, "spawned_by_map_index: task 'deploy' is not mapped"),
        ("fleet", None, -1, "spawned_by_map_index: task 'fleet' is mapped; give the map index"),
        ("fleet", "{{ 'x' }}", -1, "spawned_by_map_index: not a map index: 'x'"),
    ],
)
def test_a_spawned_by_that_names_no_spawn_of_the_dag_fails_naming_the_parameter(
    spawned_by: str, map_index: Any, own_index: int, says: str, deferrable: bool
) -> None:
    from airflow.providers.standard.operators.empty import EmptyOperator

    with dag():
        KontinueSpawnOperator(task_id="deploy", function="deploy")
        KontinueSpawnOperator.partial(task_id="fleet", function="deploy").expand(arguments=[{}, {}])
        EmptyOperator(task_id="hello")
        with TaskGroup("release"):
            KontinueSpawnOperator(task_id="inner", function="deploy")
        gate = KontinueSuspensionSensor(
            task_id="gate", spawned_by=spawned_by, spawned_by_map_index=map_index, deferrable=deferrable
        )
    ctx = context(gate, own_index)
    gate.render_template_fields(ctx)
    with pytest.raises(AirflowFailException) as raised:
        gate.execute(ctx)
    assert says in str(raised.value)
    assert str(raised.value).startswith("kontinue: spawned_by")


# --- an execution that does not exist yet: the sensor's own reads --------------------------------


class MissingClient:
    """The sync client: the execution does not exist (yet)."""

    def __init__(self) -> None:
        self.trees: list[str] = []

    def get_tree(self, name: str, *, namespace: str | None = None) -> ExecutionTree:
        self.trees.append(name)
        raise NotFoundError(f"execution {name!r} not found", resource="executions", name=name)


class FakeHook:
    made: ClassVar[list[FakeHook]] = []

    def __init__(self, conn_id: str, namespace: str | None) -> None:
        self.conn_id, self.namespace = conn_id, namespace or "default-ns"
        self.client = MissingClient()
        FakeHook.made.append(self)


@pytest.fixture
def missing(monkeypatch: pytest.MonkeyPatch) -> list[FakeHook]:
    FakeHook.made = []
    monkeypatch.setattr(base_module, "KontinueHook", FakeHook)
    return FakeHook.made


def test_a_deferrable_sensor_defers_on_the_derived_name_when_the_execution_does_not_exist_yet(
    missing: list[FakeHook], capsys: pytest.CaptureFixture[str]
) -> None:
    with dag():
        KontinueSpawnOperator(task_id="deploy", function="deploy", deferrable=True)
        gate = KontinueSuspensionSensor(task_id="gate", spawned_by="deploy", deferrable=True, timeout=60)
    expected = execution_name("approval", "deploy", RUN_ID, -1)
    with pytest.raises(TaskDeferred) as deferred:
        gate.execute(context(gate))
    logged = capsys.readouterr().out
    trigger = deferred.value.trigger
    assert isinstance(trigger, suspension_module.KontinueSuspensionTrigger)
    assert (trigger.execution_name, trigger.namespace, trigger.suspension_name) == (
        expected,
        "default-ns",
        None,
    )
    assert missing[0].client.trees == [expected]
    assert f"following execution {expected}, spawned by task 'deploy'" in logged
    assert f"execution {expected} does not exist yet in namespace default-ns" in logged


def test_a_poking_sensor_keeps_poking_while_the_execution_does_not_exist_and_says_so_once(
    missing: list[FakeHook], capsys: pytest.CaptureFixture[str]
) -> None:
    sensor = KontinueSuspensionSensor(task_id="gate", execution_name="deploy-1", namespace="team")
    poke_context: Any = {"ti": ti()}
    assert sensor.poke(poke_context) is False
    assert sensor.poke(poke_context) is False
    assert capsys.readouterr().out.count("execution deploy-1 does not exist yet in namespace team") == 1


# --- an execution that does not exist yet: the trigger -------------------------------------------


def _execution(name: str = "deploy-1", phase: str = "Suspended") -> Execution:
    return Execution.model_validate(
        {
            "metadata": {"name": name, "namespace": "ns", "creationTimestamp": "2025-01-01T00:00:00Z"},
            "spec": {"function": "deploy"},
            "status": {"phase": phase},
        }
    )


def _suspension(name: str = "deploy-1-approval", parent: str = "deploy-1") -> Suspension:
    return Suspension.model_validate(
        {
            "metadata": {
                "name": name,
                "namespace": "ns",
                "creationTimestamp": "2025-01-01T00:00:01Z",
                "labels": {"kontinue.cloud/parent": parent},
            },
            "spec": {"type": "Manual", "message": "approve?"},
            "status": {"phase": "Suspended"},
        }
    )


def _tree(execution: Execution, *suspensions: Suspension) -> ExecutionTree:
    root = ExecutionTreeNode.for_execution(execution)
    root.children.extend(ExecutionTreeNode.for_suspension(s) for s in suspensions)
    return ExecutionTree(root_node=root)


class TreeClient:
    """``get_tree`` answering the scripted trees (or NotFound), one per call."""

    def __init__(self, answers: Sequence[ExecutionTree | None]) -> None:
        self.answers = list(answers)

    async def get_tree(self, name: str, *, namespace: str | None = None) -> ExecutionTree:
        assert self.answers, "get_tree once more than scripted"
        answer = self.answers.pop(0)
        if answer is None:
            raise NotFoundError(f"{name} not found", resource="executions", name=name)
        return answer


class Sub:
    """Both subscriptions of a wait by execution: one mailbox, scripted changes."""

    def __init__(self, client: TreeClient, changes: Sequence[ObjectChange[Any] | BaseException]) -> None:
        self.client = client
        self.changes = list(changes)
        self.timeouts: list[float | None] = []

    async def next(self, timeout: float | None = None) -> ObjectChange[Any]:
        self.timeouts.append(timeout)
        if not self.changes:
            raise TimeoutError("no more changes scripted")
        change = self.changes.pop(0)
        if isinstance(change, BaseException):
            raise change
        return change


class FakeInformer:
    def __init__(self, sub: Sub) -> None:
        self.sub = sub
        self.kinds: list[Any] = []

    @contextlib.asynccontextmanager
    async def subscribe(
        self, source: str, namespace: str, model: Any, *args: Any, **kwargs: Any
    ) -> AsyncIterator[Sub]:
        self.kinds.append(model)
        yield self.sub


class Log:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def info(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)

    def warning(self, msg: str, *args: Any) -> None:
        self.lines.append(msg % args)


WAIT = SuspensionWait("kc", "ns", execution_name="deploy-1", until="reached")


async def _no_client() -> Any:
    raise AssertionError("the fake informer opens no client")


def run_wait(
    monkeypatch: pytest.MonkeyPatch, sub: Sub, wait: SuspensionWait = WAIT
) -> tuple[dict[str, Any], Log]:
    monkeypatch.setattr(suspension_module, "Informer", FakeInformer(sub))
    log = Log()
    return asyncio.run(wait_for_suspension(wait, _no_client, log)), log


def test_the_trigger_waits_for_the_execution_to_be_created_then_for_its_suspension(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    created, suspended = _execution(phase="Executing"), _execution()
    client = TreeClient([None, _tree(created)])
    sub = Sub(
        client,
        [
            ObjectChange("ADDED", _execution("deploy-1", "Pending")),  # created: the tree is read
            ObjectChange("MODIFIED", suspended),
            ObjectChange("ADDED", _suspension()),
        ],
    )
    payload, log = run_wait(monkeypatch, sub)
    assert (payload["status"], payload["suspension"], payload["phase"]) == (
        "done",
        "deploy-1-approval",
        "Suspended",
    )
    assert payload["execution"] == "deploy-1"
    assert log.lines[0] == (
        "kontinue: execution deploy-1 does not exist yet in namespace ns; waiting for it to be created "
        "(by its spawn) until the sensor's timeout"
    )
    assert "kontinue: execution deploy-1 now exists; waiting for its suspension" in log.lines
    assert client.answers == []


def test_the_trigger_times_out_saying_the_execution_was_never_created(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload, log = run_wait(monkeypatch, Sub(TreeClient([None]), []))
    assert payload["status"] == "timeout"
    assert payload["message"] == (
        "the deadline passed waiting for a suspension of deploy-1 (execution deploy-1 was never created "
        "in namespace ns)"
    )
    assert len(log.lines) == 1


def test_a_relist_while_the_execution_is_missing_keeps_waiting(monkeypatch: pytest.MonkeyPatch) -> None:
    client = TreeClient([None, None, _tree(_execution(), _suspension())])
    sub = Sub(client, [ObjectChange("RELISTED", None, ()), ObjectChange("ADDED", _execution())])
    payload, log = run_wait(monkeypatch, sub)
    assert payload["status"] == "done"
    assert sum("does not exist yet" in line for line in log.lines) == 1  # said once


def test_an_execution_deleted_after_it_existed_ends_the_wait_with_an_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    client = TreeClient([_tree(_execution("deploy-1", "Executing")), None])
    sub = Sub(client, [ObjectChange("DELETED", _execution("deploy-1", "Executing"))])
    payload, _ = run_wait(monkeypatch, sub)
    assert payload["status"] == "error"
    assert payload["message"].startswith("execution 'deploy-1' not found in namespace 'ns' (it was deleted)")


def test_a_wait_whose_execution_exists_times_out_without_the_never_created_note(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    payload, log = run_wait(monkeypatch, Sub(TreeClient([_tree(_execution("deploy-1", "Executing"))]), []))
    assert payload["message"] == "the deadline passed waiting for a suspension of deploy-1"
    assert log.lines == []
