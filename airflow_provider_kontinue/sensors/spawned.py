"""``spawned_by``: a sensor names the spawn task whose execution it follows, not the execution.

A deferrable :class:`~airflow_provider_kontinue.operators.KontinueSpawnOperator` stays deferred
until its execution ends, so a sensor that must answer something *while* it runs (an approval) is
not downstream of it and cannot read its ``execution_name`` XCom reliably: the sensor may start
before the spawn pushed it. The spawn's name needs no XCom, though: it is derived from the task
instance (:func:`~airflow_provider_kontinue.operators.naming.execution_name`), and every part of
that key but the task id is the same for every task of one DAG run. ``spawned_by="deploy"``
therefore gives the sensor the name the spawn ``deploy`` of the same run uses (or will use), with
no coupling in time; the sensor waits for the execution to be created if it starts first.

Resolved in the worker when the sensor runs, before anything touches the cluster, from the DAG
the worker parsed: the task must exist in the DAG and be a spawn. A spawn with an explicit
``name=`` (or ``namespace=``) is followed by that template, rendered in the sensor's context. A
mapped spawn is followed at ``spawned_by_map_index``, by default the sensor's own map index (a
sensor mapped the same way follows "its" spawn).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow.sdk.definitions.mappedoperator import MappedOperator
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.operators.naming import execution_name
from airflow_provider_kontinue.operators.spawn import KontinueSpawnOperator

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context


@dataclass(frozen=True)
class SpawnedExecution:
    """The execution a spawn task of the same DAG run starts: its name, and the namespace the
    spawn sets (``None``: the connection's)."""

    name: str
    namespace: str | None
    task_id: str
    map_index: int


def check_spawned_by(spawned_by: Any, map_index: Any, owner: str) -> None:
    """What can be checked when the DAG is parsed (the rest needs the whole DAG: at run time)."""
    if not isinstance(spawned_by, str) or not spawned_by.strip():
        raise ValueError(
            f"spawned_by: give the task_id of the KontinueSpawnOperator whose execution to follow, "
            f"got {spawned_by!r}"
        )
    if spawned_by == owner:
        raise ValueError(
            f"spawned_by: {owner!r} is this sensor's own task_id; give the task_id of the spawn to follow"
        )
    literal = map_index is not None and not isinstance(map_index, str)
    if literal and (isinstance(map_index, bool) or not isinstance(map_index, int) or map_index < -1):
        raise ValueError(
            f"spawned_by_map_index: a map index (0, 1, ...; -1 for a spawn that is not mapped) "
            f"or a template, got {map_index!r}"
        )


def _no_such_task(spawned_by: str, dag_id: str, task_ids: list[str]) -> AirflowFailException:
    close = [t for t in task_ids if t.rsplit(".", 1)[-1] == spawned_by]
    close += [t for t in difflib.get_close_matches(spawned_by, task_ids, n=3) if t not in close]
    hint = f" (did you mean {', '.join(repr(t) for t in close)}?)" if close else ""
    return AirflowFailException(
        f"kontinue: spawned_by: there is no task {spawned_by!r} in DAG {dag_id!r}{hint}; give the "
        "task_id of the KontinueSpawnOperator whose execution to follow (a task in a task group has "
        "the group's prefix: 'group.task')"
    )


def _map_index(rendered: Any, mapped: bool, spawned_by: str, own_index: int) -> int:
    if rendered is None or rendered == "":
        index = own_index if mapped else -1
    else:
        try:
            index = int(rendered)
        except (TypeError, ValueError):
            raise AirflowFailException(
                f"kontinue: spawned_by_map_index: not a map index: {rendered!r}"
            ) from None
    if mapped and index < 0:
        raise AirflowFailException(
            f"kontinue: spawned_by_map_index: task {spawned_by!r} is mapped; give the map index of "
            "the spawn to follow (0, 1, ...), or map this sensor the same way to follow the spawn "
            "with its own map index"
        )
    if not mapped and index != -1:
        raise AirflowFailException(
            f"kontinue: spawned_by_map_index: task {spawned_by!r} is not mapped, it has no map index "
            f"{index}; leave spawned_by_map_index unset"
        )
    return index


def resolve_spawned(
    sensor: BaseOperator, context: Context, spawned_by: str, map_index: Any
) -> SpawnedExecution:
    """The execution the spawn ``spawned_by`` of this DAG run starts, named as the spawn names it.

    Raises ``AirflowFailException`` (no retries: the DAG must change) naming the parameter when
    ``spawned_by`` is not a spawn of this DAG, or the map index does not fit it.
    """
    ti = context["ti"]
    dag = sensor.dag
    if dag is None:
        raise AirflowFailException("kontinue: spawned_by: this sensor belongs to no DAG")
    if not dag.has_task(spawned_by):
        raise _no_such_task(spawned_by, dag.dag_id, sorted(dag.task_ids))
    spawn = dag.get_task(spawned_by)
    mapped = isinstance(spawn, MappedOperator)
    cls = spawn.operator_class if isinstance(spawn, MappedOperator) else type(spawn)
    if not (isinstance(cls, type) and issubclass(cls, KontinueSpawnOperator)):
        kind = cls.__name__ if isinstance(cls, type) else str(cls)
        raise AirflowFailException(
            f"kontinue: spawned_by: task {spawned_by!r} is a {kind}, not a KontinueSpawnOperator; "
            "give the task_id of the spawn whose execution to follow (or name the execution with "
            "execution_name=)"
        )
    index = _map_index(map_index, mapped, spawned_by, int(getattr(ti, "map_index", -1)))
    if isinstance(spawn, MappedOperator):
        expanded = getattr(spawn.expand_input, "value", None)
        if isinstance(expanded, dict) and ({"name", "namespace"} & set(expanded)):
            raise AirflowFailException(
                f"kontinue: spawned_by: task {spawned_by!r} expands its name or namespace per map "
                "index, which this sensor cannot know; name the execution with execution_name="
            )
        explicit_name = spawn.partial_kwargs.get("name")
        explicit_namespace = spawn.partial_kwargs.get("namespace")
    else:
        explicit_name = getattr(spawn, "name", None)
        explicit_namespace = getattr(spawn, "namespace", None)
    if explicit_name:
        name = str(sensor.render_template(explicit_name, context))
    else:
        name = execution_name(ti.dag_id, spawned_by, ti.run_id, index)
    namespace = str(sensor.render_template(explicit_namespace, context)) if explicit_namespace else None
    return SpawnedExecution(name=name, namespace=namespace or None, task_id=spawned_by, map_index=index)
