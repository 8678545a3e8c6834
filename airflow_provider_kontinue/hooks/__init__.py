"""Hooks: the kontinue client built from an Airflow ``kontinue`` connection (sync and async).

The hook classes load on first use: Airflow's provider discovery, which runs in every Airflow
process, imports :mod:`airflow_provider_kontinue.hooks.connection` for the connection form, and
that should not load the client (about 10 MiB) into processes that never talk to kontinue.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_kontinue.hooks.kontinue import KontinueAsyncHook, KontinueHook

__all__ = ["KontinueAsyncHook", "KontinueHook"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from airflow_provider_kontinue.hooks import kontinue

        return getattr(kontinue, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
