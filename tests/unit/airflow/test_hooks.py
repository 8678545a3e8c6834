"""The hooks hand out the typed clients, and the async hook has nothing that blocks."""

from __future__ import annotations

import inspect
import typing

import pytest

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient
from airflow_provider_kontinue.hooks import KontinueAsyncHook, KontinueHook


def test_the_sync_hook_gives_the_typed_client_and_forwards_nothing() -> None:
    hints = typing.get_type_hints(KontinueHook.get_conn)
    assert hints["return"] is KontinueClient
    assert typing.get_type_hints(KontinueHook.client.fget)["return"] is KontinueClient  # type: ignore[attr-defined]
    hook = KontinueHook("kontinue_unit")
    with pytest.raises(AttributeError):
        hook.spawn  # type: ignore[attr-defined]  # noqa: B018 - the client's methods live on hook.client


def test_the_async_hook_is_composed_and_only_offers_the_async_client() -> None:
    assert not issubclass(KontinueAsyncHook, KontinueHook)
    assert inspect.iscoroutinefunction(KontinueAsyncHook.get_async_client)
    assert typing.get_type_hints(KontinueAsyncHook.get_async_client)["return"] is AsyncKontinueClient
    assert inspect.iscoroutinefunction(KontinueAsyncHook.aclose)
    for blocking in ("client", "settings", "test_connection", "namespace", "close", "spawn"):
        assert not hasattr(KontinueAsyncHook, blocking), blocking
    with pytest.raises(TypeError, match=r"await hook\.get_async_client"):
        KontinueAsyncHook("kontinue_unit").get_conn()
