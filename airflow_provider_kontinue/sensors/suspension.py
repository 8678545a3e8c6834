"""``KontinueSuspensionSensor``: wait until an execution asks for approval (a suspension is
reached), or until that suspension was resumed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.client import NotFoundError, SuspensionPhase
from airflow_provider_kontinue.sensors.base import KontinueSensorBase
from airflow_provider_kontinue.sensors.spawned import check_spawned_by, resolve_spawned
from airflow_provider_kontinue.triggers.suspension import (
    UNTIL,
    KontinueSuspensionTrigger,
    SuspensionWait,
    decide,
    not_created_yet,
    suspensions_of,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_kontinue.hooks.kontinue import KontinueHook


class KontinueSuspensionSensor(KontinueSensorBase):
    """Wait for a suspension: ``until="reached"`` (it waits for a resume, e.g. an approval) or
    ``until="resumed"``.

    Name the suspension (``suspension_name``), the execution that suspends (``execution_name``:
    its direct child suspensions, the usual case since suspension names are made by kontinue), or
    the spawn task of the same DAG run that starts that execution (``spawned_by``: the name the
    spawn derives, known before the spawn runs, so the sensor can run in parallel with a deferred
    spawn). An execution that does not exist yet is waited for (it is logged), until the sensor's
    timeout. Waiting through the execution fails the sensor if the execution ends without
    suspending. A canceled suspension fails it too. The XCom value is
    ``{"suspension", "phase", "message", "execution", "namespace"}``: hand ``suspension`` to
    :class:`~airflow_provider_kontinue.operators.KontinueResumeOperator`.

    :param suspension_name: The suspension (templated). Or:
    :param execution_name: The execution whose suspension to wait for (templated). Or:
    :param spawned_by: The task_id of the
        :class:`~airflow_provider_kontinue.operators.KontinueSpawnOperator` (same DAG, same run)
        whose execution to wait on; need not be upstream. Its namespace is the spawn's
        ``namespace`` if it sets one, else the connection's.
    :param spawned_by_map_index: With a mapped spawn: which map index to follow (templated).
        Default: this sensor's own map index (map both the same way).
    :param until: ``"reached"`` (default) or ``"resumed"``.
    :param namespace: The namespace (templated; default: the connection's).
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = (
        "suspension_name",
        "execution_name",
        "spawned_by_map_index",
        "namespace",
        "kontinue_conn_id",
    )
    ui_color = "#fbf0e8"
    _told_missing = False

    def __init__(
        self,
        *,
        suspension_name: str | None = None,
        execution_name: str | None = None,
        spawned_by: str | None = None,
        spawned_by_map_index: int | str | None = None,
        until: str = "reached",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        given = [
            f"{param}={value!r}"
            for param, value in (
                ("suspension_name", suspension_name),
                ("execution_name", execution_name),
                ("spawned_by", spawned_by),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError(
                "KontinueSuspensionSensor: give exactly one of suspension_name, execution_name or "
                f"spawned_by (the task_id of the spawn whose execution to follow); got "
                f"{', '.join(given) or 'none'}"
            )
        if spawned_by is not None:
            check_spawned_by(spawned_by, spawned_by_map_index, self.task_id)
        elif spawned_by_map_index is not None:
            raise ValueError("spawned_by_map_index: only with spawned_by")
        if until not in UNTIL:
            raise ValueError(f"until: must be one of {', '.join(UNTIL)}, got {until!r}")
        self.suspension_name = suspension_name
        self.execution_name = execution_name
        self.spawned_by = spawned_by
        self.spawned_by_map_index = spawned_by_map_index
        self.until = until

    def execute(self, context: Context) -> Any:
        if self.spawned_by is not None:  # before anything touches the cluster
            spawned = resolve_spawned(self, context, self.spawned_by, self.spawned_by_map_index)
            self.execution_name = spawned.name
            self.namespace = self.namespace or spawned.namespace
            self.log.info(
                "kontinue: following execution %s, spawned by task %r%s, in namespace %s",
                spawned.name,
                spawned.task_id,
                f" (map index {spawned.map_index})" if spawned.map_index >= 0 else "",
                self.namespace or "of the connection",
            )
        return super().execute(context)

    def describe(self) -> str:
        target = self.suspension_name or f"a suspension of {self.execution_name}"
        return f"{target} is {self.until}"

    def _wait(self, namespace: str) -> SuspensionWait:
        return SuspensionWait(
            self.kontinue_conn_id, namespace, self.suspension_name, self.execution_name, self.until
        )

    def check(self, hook: KontinueHook, namespace: str, context: Context) -> dict[str, Any] | None:
        wait = self._wait(namespace)
        if self.suspension_name:
            return decide(wait, [hook.client.get_suspension(self.suspension_name, namespace=namespace)], None)
        assert self.execution_name is not None
        try:
            tree = hook.client.get_tree(self.execution_name, namespace=namespace)
        except NotFoundError:
            if not self._told_missing:  # once per task run, not every poke
                self._told_missing = True
                self.log.info("kontinue: %s", not_created_yet(wait))
            return None
        node = tree.find(self.execution_name)
        return decide(wait, suspensions_of(tree, self.execution_name), node.execution() if node else None)

    def trigger(self, namespace: str, deadline: float, context: Context) -> BaseTrigger:
        return KontinueSuspensionTrigger(
            namespace=namespace,
            suspension_name=self.suspension_name,
            execution_name=self.execution_name,
            until=self.until,
            deadline=deadline,
            kontinue_conn_id=self.kontinue_conn_id,
        )

    def result(self, event: dict[str, Any]) -> Any:
        if event.get("status") == "ended":
            raise AirflowFailException(f"kontinue: {event.get('message')}")
        if event.get("phase") == SuspensionPhase.CANCELED:
            raise AirflowFailException(f"kontinue: suspension {event.get('suspension')} was canceled")
        keys = ("suspension", "phase", "message", "execution", "namespace")
        return {key: event.get(key) for key in keys}
