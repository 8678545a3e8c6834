"""``KontinueSuspensionSensor``: wait until an execution asks for approval (a suspension is
reached), or until that suspension was resumed."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.client import SuspensionPhase
from airflow_provider_kontinue.sensors.base import KontinueSensorBase
from airflow_provider_kontinue.triggers.suspension import (
    UNTIL,
    KontinueSuspensionTrigger,
    SuspensionWait,
    decide,
    suspensions_of,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_kontinue.hooks.kontinue import KontinueHook


class KontinueSuspensionSensor(KontinueSensorBase):
    """Wait for a suspension: ``until="reached"`` (it waits for a resume, e.g. an approval) or
    ``until="resumed"``.

    Name the suspension (``suspension_name``), or the execution that suspends
    (``execution_name``: its direct child suspensions, the usual case since suspension names are
    made by kontinue). Waiting through the execution fails the sensor if the execution ends
    without suspending. A canceled suspension fails it too. The XCom value is
    ``{"suspension", "phase", "message", "execution", "namespace"}``: hand ``suspension`` to
    :class:`~airflow_provider_kontinue.operators.KontinueResumeOperator`.

    :param suspension_name: The suspension (templated). Or:
    :param execution_name: The execution whose suspension to wait for (templated).
    :param until: ``"reached"`` (default) or ``"resumed"``.
    :param namespace: The namespace (templated; default: the connection's).
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("suspension_name", "execution_name", "namespace", "kontinue_conn_id")
    ui_color = "#fbf0e8"

    def __init__(
        self,
        *,
        suspension_name: str | None = None,
        execution_name: str | None = None,
        until: str = "reached",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (suspension_name is None) == (execution_name is None):
            raise ValueError(
                "KontinueSuspensionSensor: give exactly one of suspension_name or execution_name"
            )
        if until not in UNTIL:
            raise ValueError(f"until: must be one of {', '.join(UNTIL)}, got {until!r}")
        self.suspension_name = suspension_name
        self.execution_name = execution_name
        self.until = until

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
        tree = hook.client.get_tree(self.execution_name, namespace=namespace)
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
