"""Triggers: waiting on kontinue in the triggerer, over one shared watch per namespace."""

from __future__ import annotations

from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger

__all__ = ["KontinueExecutionTrigger"]
