"""Extra links from Airflow tasks to the kontinue UI."""

from __future__ import annotations

from airflow_provider_kontinue.links.execution import KontinueExecutionLink

__all__ = ["KontinueExecutionLink"]
