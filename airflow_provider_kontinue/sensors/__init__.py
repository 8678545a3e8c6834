"""Sensors: wait for executions, suspensions (approvals) and schedules, poking or deferred."""

from __future__ import annotations

from airflow_provider_kontinue.sensors.execution import KontinueExecutionSensor
from airflow_provider_kontinue.sensors.schedule import KontinueScheduledExecutionSensor
from airflow_provider_kontinue.sensors.suspension import KontinueSuspensionSensor

__all__ = ["KontinueExecutionSensor", "KontinueScheduledExecutionSensor", "KontinueSuspensionSensor"]
