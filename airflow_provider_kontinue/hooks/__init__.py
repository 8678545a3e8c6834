"""Hooks: the kontinue client built from an Airflow ``kontinue`` connection (sync and async).

The hook classes are imported on first use, so that the pure connection helpers
(:mod:`.connection`, used by ``kontinue-sandbox env``) load without Airflow.
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
