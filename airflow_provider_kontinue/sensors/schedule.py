"""``KontinueScheduledExecutionSensor``: wait until a kontinue schedule fired a new run (since a
given time), or until that run completed."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.client import ExecutionPhase, ListOptions, parse_timestamp
from airflow_provider_kontinue.sensors.base import KontinueSensorBase
from airflow_provider_kontinue.triggers.schedule import (
    WAIT_FOR,
    KontinueScheduledExecutionTrigger,
    ScheduleWait,
    decide,
    first_run,
)

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

    from airflow_provider_kontinue.hooks.kontinue import KontinueHook


def since_epoch(value: str | float | datetime | None, context: Context) -> float:
    """``since`` as epoch seconds; by default, when the task instance started (its first poke)."""
    if value is None or value == "":
        started = getattr(context["ti"], "start_date", None)
        return started.timestamp() if isinstance(started, datetime) else datetime.now().timestamp()
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, (int, float)):
        return float(value)
    try:
        return float(value)
    except ValueError:
        parsed = parse_timestamp(value)
        if parsed is None:
            raise ValueError(f"since: not a time: {value!r}") from None
        return parsed.timestamp()


class KontinueScheduledExecutionSensor(KontinueSensorBase):
    """Wait until the ScheduledExecution ``schedule_name`` starts a run after ``since``
    (``wait_for="fired"``), or until that run ended (``wait_for="completed"``; a Failed or
    Canceled run fails the sensor).

    The XCom value is ``{"run", "phase", "result", "message", "schedule", "namespace"}``.

    :param schedule_name: The ScheduledExecution (templated).
    :param since: Only runs created after this time count (templated; ISO 8601 text, epoch
        seconds or a datetime). Default: when this task instance started.
    :param wait_for: ``"fired"`` (default) or ``"completed"``.
    :param namespace: The namespace (templated; default: the connection's).
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    """

    template_fields: Sequence[str] = ("schedule_name", "since", "namespace", "kontinue_conn_id")
    ui_color = "#eef8e8"

    def __init__(
        self,
        *,
        schedule_name: str,
        since: str | float | datetime | None = None,
        wait_for: str = "fired",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if wait_for not in WAIT_FOR:
            raise ValueError(f"wait_for: must be one of {', '.join(WAIT_FOR)}, got {wait_for!r}")
        self.schedule_name = schedule_name
        self.since = since
        self.wait_for = wait_for

    def describe(self) -> str:
        return f"schedule {self.schedule_name} has a run {self.wait_for}"

    def _wait(self, namespace: str, context: Context) -> ScheduleWait:
        return ScheduleWait(
            self.kontinue_conn_id,
            namespace,
            self.schedule_name,
            since_epoch(self.since, context),
            self.wait_for,
        )

    def check(self, hook: KontinueHook, namespace: str, context: Context) -> dict[str, Any] | None:
        wait = self._wait(namespace, context)
        hook.client.get_scheduled_execution(self.schedule_name, namespace=namespace)  # NotFound: fail at once
        runs = hook.client.list(ListOptions(schedule=self.schedule_name), namespace=namespace)
        return decide(wait, first_run(wait, runs))

    def trigger(self, namespace: str, deadline: float, context: Context) -> BaseTrigger:
        wait = self._wait(namespace, context)
        return KontinueScheduledExecutionTrigger(
            namespace=namespace,
            schedule=wait.schedule,
            since=wait.since,
            wait_for=wait.wait_for,
            deadline=deadline,
            kontinue_conn_id=self.kontinue_conn_id,
        )

    def result(self, event: dict[str, Any]) -> Any:
        if self.wait_for == "completed" and event.get("phase") in (
            ExecutionPhase.FAILED,
            ExecutionPhase.CANCELED,
        ):
            raise AirflowFailException(
                f"kontinue: run {event.get('run')} of schedule {self.schedule_name} ended "
                f"{event.get('phase')}: {event.get('message') or ''}"
            )
        keys = ("run", "phase", "result", "message", "schedule", "namespace")
        return {key: event.get(key) for key in keys}
