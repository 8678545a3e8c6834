"""Every Go method in docs/client.md has its Python twin on both clients (awaitable on the async one)."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    AsyncTreeWatcher,
    ExecutionTree,
    ExecutionTreeNode,
    KontinueClient,
    TreeWatcher,
)
from airflow_provider_kontinue.client.operations import operation

TABLE = Path(__file__).resolve().parents[3] / "docs" / "client.md"
ROW = re.compile(r"^\| [^|]+ \| `(?P<python>[a-zA-Z_.]+)` \|", re.MULTILINE)
HOLDERS = {
    "ExecutionTree": (ExecutionTree,),
    "ExecutionTreeNode": (ExecutionTreeNode,),
    "TreeWatcher": (TreeWatcher, AsyncTreeWatcher),
}


def documented() -> list[str]:
    names = ROW.findall(TABLE.read_text())
    assert len(names) >= 38, "the parity table lost rows"
    return names


@pytest.mark.parametrize("python_name", documented())
def test_the_documented_method_exists_on_both_clients(python_name: str) -> None:
    owner, attribute = python_name.split(".")
    classes = (KontinueClient, AsyncKontinueClient) if owner == "client" else HOLDERS[owner]
    for cls in classes:
        assert hasattr(cls, attribute), f"{cls.__name__} has no {attribute} (docs/client.md)"


def test_every_api_operation_is_awaitable_on_the_async_client_and_blocking_on_the_sync_one() -> None:
    sync_client = KontinueClient(object(), "default")
    async_client = AsyncKontinueClient(object(), "default")
    operations = [n for n, v in vars(KontinueClient.__mro__[1]).items() if isinstance(v, operation)]
    assert len(operations) == 21
    for name in operations:
        assert inspect.iscoroutinefunction(getattr(async_client, name)), name
        assert not inspect.iscoroutinefunction(getattr(sync_client, name)), name
    assert inspect.iscoroutinefunction(AsyncKontinueClient.get_job_logs)
    assert inspect.iscoroutinefunction(AsyncKontinueClient.connect)


def test_every_public_client_method_is_in_the_table() -> None:
    table = {name.split(".")[1] for name in documented() if name.startswith("client.")}
    public = {n for n in dir(KontinueClient) if not n.startswith("_")}
    undocumented = (
        public - table - {"close", "connect", "options", "requests_by_verb", "requests_sent", "with_timeout"}
    )
    assert undocumented == set()
