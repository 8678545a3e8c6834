"""``KontinueExecutionSensor``: wait until an execution reaches one of a set of phases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.client import TERMINAL_PHASES, ExecutionPhase
from airflow_provider_kontinue.links.execution import KontinueExecutionLink
from airflow_provider_kontinue.sensors.base import KontinueSensorBase
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from airflow_provider_kontinue.triggers.execution_wait import ExecutionWait, payload_for

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_kontinue.hooks.kontinue import KontinueHook

ALL_PHASES = frozenset(p.value for p in ExecutionPhase)
DEFAULT_PHASES = ("Completed",)


class KontinueExecutionSensor(KontinueSensorBase):
    """Wait until ``execution_name`` is in one of ``phases`` (default ``Completed``).

    An execution that ends in a phase not listed can never get there: the sensor fails with its
    message (e.g. waiting for ``Completed`` and it Failed). The XCom value is
    ``{"name", "namespace", "phase", "message", "result"}``.

    :param execution_name: The execution (templated).
    :param phases: The phase, or phases, that satisfy the sensor: ``"Suspended"``, or
        ``["Completed", "Skipped"]``.
    :param namespace: Its namespace (templated; default: the connection's).
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("execution_name", "namespace", "kontinue_conn_id")
    operator_extra_links = (KontinueExecutionLink(),)
    ui_color = "#e8f4fb"

    def __init__(
        self, *, execution_name: str, phases: str | Iterable[str] = DEFAULT_PHASES, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        wanted = frozenset([phases] if isinstance(phases, str) else (str(p) for p in phases))
        unknown = wanted - ALL_PHASES
        if unknown or not wanted:
            raise ValueError(
                f"phases: {sorted(unknown) or 'empty'} not kontinue phases; "
                f"use {', '.join(sorted(ALL_PHASES))}"
            )
        self.execution_name = execution_name
        self.phases = sorted(wanted)

    def describe(self) -> str:
        return f"execution {self.execution_name} is {' or '.join(self.phases)}"

    def _wait(self, namespace: str) -> ExecutionWait:
        return ExecutionWait(
            conn_id=self.kontinue_conn_id,
            namespace=namespace,
            name=self.execution_name,
            phases=frozenset(self.phases),
            stream_logs=False,
        )

    def check(self, hook: KontinueHook, namespace: str, context: Context) -> dict[str, Any] | None:
        wait = self._wait(namespace)
        execution = hook.client.get(self.execution_name, namespace=namespace)
        return payload_for(wait, execution) if wait.reached(execution) else None

    def trigger(self, namespace: str, deadline: float, context: Context) -> BaseTrigger:
        return KontinueExecutionTrigger(
            name=self.execution_name,
            namespace=namespace,
            kontinue_conn_id=self.kontinue_conn_id,
            phases=self.phases,
            deadline=deadline,
            stream_logs=False,
            cancel_on_kill=False,  # a sensor watches; it does not own the execution
        )

    def result(self, event: dict[str, Any]) -> Any:
        phase = event.get("phase")
        if phase not in self.phases:
            ended = phase in {p.value for p in TERMINAL_PHASES}
            raise AirflowFailException(
                f"kontinue: execution {event.get('name')} is {phase}"
                + (" (it has ended)" if ended else "")
                + f", not {' or '.join(self.phases)}: {event.get('message') or ''}"
            )
        keys = ("name", "namespace", "phase", "message", "result")
        return {key: event.get(key) for key in keys}
