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


def api_methods() -> list[str]:
    """The client methods that run one of the shared operations (``self._run(...)``)."""
    return sorted(
        name
        for name, value in vars(KontinueClient).items()
        if inspect.isfunction(value) and not name.startswith("_") and "self._run(" in inspect.getsource(value)
    )


def test_every_api_method_is_declared_on_both_clients_awaitable_on_the_async_one() -> None:
    names = api_methods()
    assert len(names) == 22, names
    for name in names:
        sync_method, async_method = vars(KontinueClient)[name], vars(AsyncKontinueClient)[name]
        assert inspect.isfunction(sync_method), f"KontinueClient.{name} is not a plain method"
        assert not inspect.iscoroutinefunction(sync_method), name
        assert inspect.iscoroutinefunction(async_method), name
    assert inspect.iscoroutinefunction(AsyncKontinueClient.get_job_logs)
    assert inspect.iscoroutinefunction(AsyncKontinueClient.connect)


@pytest.mark.parametrize("name", api_methods())
def test_both_clients_show_the_same_signature_and_docstring(name: str) -> None:
    sync_method, async_method = getattr(KontinueClient, name), getattr(AsyncKontinueClient, name)
    assert inspect.signature(sync_method) == inspect.signature(async_method)
    assert sync_method.__doc__
    assert sync_method.__doc__ == async_method.__doc__


def test_help_shows_the_real_parameters_and_the_return_type() -> None:
    assert str(inspect.signature(KontinueClient.spawn)) == (
        "(self, function: 'str', args: 'Any' = None, "
        "opts: 'SpawnOptions | Mapping[str, Any] | None' = None) -> 'Execution'"
    )
    assert inspect.signature(AsyncKontinueClient.wait_for_execution).return_annotation == "Execution"
    assert inspect.signature(KontinueClient.retry_execution).return_annotation == "Execution"


def test_every_public_client_method_is_in_the_table() -> None:
    table = {name.split(".")[1] for name in documented() if name.startswith("client.")}
    public = {n for n in dir(KontinueClient) if not n.startswith("_")}
    undocumented = (
        public - table - {"close", "connect", "options", "requests_by_verb", "requests_sent", "with_timeout"}
    )
    assert undocumented == set()
