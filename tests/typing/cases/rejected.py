"""User code with wrong value types: every line marked ``# flagged`` must be reported by mypy (with
and without the pydantic plugin) and by pyright, and no other line."""

from __future__ import annotations

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    Execution,
    ExecutionRetry,
    ExecutionTTL,
    KontinueClient,
    ListOptions,
    RetryOptions,
    SpawnOptions,
)


def options() -> None:
    ExecutionRetry(retries="three")  # flagged
    SpawnOptions(retry=3)  # flagged
    ExecutionTTL(delete_after=24)  # flagged
    SpawnOptions(ttl={"delete_after": 24})  # flagged
    SpawnOptions(retry={"retires": 3})  # flagged
    RetryOptions(child_policy="RetryMost")  # flagged
    ListOptions(phases=["Complete"])  # flagged
    ListOptions(only_root="yes")  # flagged


def calls(client: KontinueClient) -> int:
    client.spawn(42)  # flagged
    return client.wait_for_execution("etl").name  # flagged


async def async_calls(client: AsyncKontinueClient) -> None:
    execution: Execution = client.spawn("etl")  # flagged
    del execution
