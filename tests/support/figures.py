"""Figures a test run measures, printed at the end of the run (the reliability conftest prints them)."""

from __future__ import annotations

FIGURES: dict[str, float] = {}
"""Figures measured by this run's tests, printed at its end (docs/reliability.md quotes them)."""


def record_figure(name: str, value: float) -> None:
    FIGURES[name] = round(value, 3)
