"""Operators: spawn kontinue executions and steer them (cancel, skip, retry, resume) from DAGs."""

from __future__ import annotations

from airflow_provider_kontinue.operators.control import (
    KontinueCancelOperator,
    KontinueResumeOperator,
    KontinueRetryOperator,
    KontinueSkipOperator,
)
from airflow_provider_kontinue.operators.spawn import KontinueSpawnOperator

__all__ = [
    "KontinueCancelOperator",
    "KontinueResumeOperator",
    "KontinueRetryOperator",
    "KontinueSkipOperator",
    "KontinueSpawnOperator",
]
