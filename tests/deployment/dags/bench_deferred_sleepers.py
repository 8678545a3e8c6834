"""``make bench``'s deployment DAG (benchmarks/bench_deployment.py): deferred spawns of a long ``sleeper``.

Rendered per DAG: ``$dag_id``, ``$conn_id``, ``$tasks`` (how many), ``$duration`` (the sleep, which
the benchmark ends with a resume) and ``$poll_interval``. With ``0`` the tasks are the provider's
``KontinueSpawnOperator`` as users write it (its trigger follows the shared watch); otherwise a
subclass defined here for the benchmark only hands the triggerer the same
``KontinueExecutionTrigger`` polling every ``$poll_interval`` seconds, the anchors' way. The
operators keep no polling option: polling is the baseline the watch is measured against.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, NoReturn

from airflow.sdk import dag
from airflow.triggers.base import BaseTrigger

from airflow_provider_kontinue.operators import KontinueSpawnOperator
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger

POLL_INTERVAL = float("$poll_interval") or None


class PollingSpawnOperator(KontinueSpawnOperator):
    """The spawn operator, deferring on a polling trigger (the benchmark's baseline only)."""

    def defer(
        self,
        *,
        trigger: BaseTrigger,
        method_name: str,
        kwargs: dict[str, Any] | None = None,
        timeout: timedelta | int | float | None = None,
    ) -> NoReturn:
        if isinstance(trigger, KontinueExecutionTrigger):
            trigger.poll_interval = POLL_INTERVAL
        super().defer(trigger=trigger, method_name=method_name, kwargs=kwargs, timeout=timeout)


@dag(dag_id="$dag_id", schedule=None, start_date=datetime(2025, 1, 1), catchup=False, max_active_tasks=64)
def bench_deferred_sleepers() -> None:
    operator = PollingSpawnOperator if POLL_INTERVAL else KontinueSpawnOperator
    for index in range(int("$tasks")):
        operator(
            task_id=f"sleep_{index}",
            function="sleeper",
            arguments={"duration": "$duration"},
            deferrable=True,
            kontinue_conn_id="$conn_id",
            retries=0,
        )


bench_deferred_sleepers()
