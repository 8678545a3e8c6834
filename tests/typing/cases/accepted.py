"""User code in the documented forms: mypy (with and without the pydantic plugin) and pyright must
accept every line."""

from __future__ import annotations

from datetime import timedelta

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    ChildPolicy,
    Execution,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionTimeout,
    ExecutionTTL,
    KontinueClient,
    ListOptions,
    RetryOptions,
    SpawnOptions,
)


def options() -> None:
    SpawnOptions(retry={"retries": 3})
    SpawnOptions(retry={"retries": 3, "backoff": "30s", "child_policy": "RetryFailed"})
    SpawnOptions(retry={"childPolicy": ChildPolicy.RETRY_ALL})
    SpawnOptions(ttl={"delete_after": "24h"}, timeout={"attempt": timedelta(minutes=5), "overall": "1h"})
    SpawnOptions(name="etl-1", mutex={"name": "deploy"}, labels={"team": "data"})
    SpawnOptions(retry=ExecutionRetry(retries=2), ttl=ExecutionTTL(archive_after="1h"))
    ExecutionTTL(delete_after="24h")
    ExecutionTTL(delete_after=timedelta(hours=24))
    ExecutionTimeout(attempt="10m")
    ExecutionRetry(retries=3, backoff="1m", child_policy=ChildPolicy.RETRY_ALL)
    RetryOptions(child_policy="RetryFailed")
    RetryOptions(child_policy=ChildPolicy.NONE)
    ListOptions(phases=["Executing"])
    ListOptions(phases="Completed")
    ListOptions(phases=[ExecutionPhase.FAILED, "Canceled"], function="etl", only_root=True)


def reading() -> timedelta | None:
    ttl = ExecutionTTL(delete_after="24h")
    return ttl.delete_after  # what was written as a string reads as a timedelta


def calls(client: KontinueClient) -> str:
    execution: Execution = client.spawn("etl", {"day": "2026-12-07"}, {"retry": {"retries": 2}})
    done: Execution = client.wait_for_execution(execution)
    client.list(ListOptions(phases=["Failed"]), namespace="")
    retried: Execution = client.retry_execution(done, RetryOptions(child_policy="RetryFailed"))
    return retried.name


async def async_calls(client: AsyncKontinueClient) -> Execution:
    execution = await client.spawn("etl", opts=SpawnOptions(ttl={"delete_after": "24h"}))
    return await client.wait_for_execution(execution)
