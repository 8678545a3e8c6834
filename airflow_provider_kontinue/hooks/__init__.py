"""Hooks: the kontinue client built from an Airflow ``kontinue`` connection (sync and async)."""

from __future__ import annotations

from airflow_provider_kontinue.hooks.kontinue import KontinueAsyncHook, KontinueHook

__all__ = ["KontinueAsyncHook", "KontinueHook"]
