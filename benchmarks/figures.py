"""How a benchmark reports a figure: one JSON line on stdout, ``{"figure", "value", "unit"}``."""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Sequence


def emit(figure: str, value: float, unit: str) -> None:
    """Print one figure as the JSON line ``make bench`` collects."""
    print(json.dumps({"figure": figure, "value": round(value, 4), "unit": unit}), flush=True)


def require(figure: str, value: float, expected: float) -> None:
    """Fail the run when a count every run must give is off: a benchmark whose waits were lost or
    fired twice measures nothing, and its latencies would be quoted as if it had worked."""
    if value != expected:
        raise SystemExit(f"benchmark figure {figure} = {value}, expected {expected}")


def median(samples: Sequence[float]) -> float:
    return statistics.median(samples)


def percentile(samples: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def progress(message: str) -> None:
    """Progress for the person watching; stderr, so it never mixes with the figures."""
    print(message, file=sys.stderr, flush=True)
