"""The schedule sensor: a kontinue schedule fired a run after the task started, and that run completed."""

from __future__ import annotations

from datetime import datetime

from airflow.sdk import dag

from airflow_provider_kontinue.sensors import KontinueScheduledExecutionSensor


@dag(dag_id="e2e_schedule", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def e2e_schedule() -> None:
    fired = KontinueScheduledExecutionSensor(
        task_id="fired", schedule_name="every-minute", wait_for="fired", poke_interval=1, timeout=120
    )
    completed = KontinueScheduledExecutionSensor(
        task_id="completed", schedule_name="every-minute", wait_for="completed", poke_interval=1, timeout=120
    )
    missing = KontinueScheduledExecutionSensor(
        task_id="missing", schedule_name="no-such-schedule", poke_interval=1, timeout=30
    )
    fired >> completed >> missing


e2e_schedule()
