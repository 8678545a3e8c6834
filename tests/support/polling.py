"""Waiting in tests for something the code under test makes happen (the code itself never polls)."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T | None], timeout: float = 60.0, what: str = "condition", every: float = 0.05
) -> T:
    """Call ``condition`` every ``every`` seconds until it returns something truthy, and return it;
    fail the test, naming ``what``, after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(every)
