"""Fixtures every tier may use."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

from tests.support.faults import CutProxy

if TYPE_CHECKING:
    from kontinue_sandbox.controlplane import ControlPlane


@pytest.fixture
def cut_proxy() -> Iterator[Callable[[ControlPlane], CutProxy]]:
    """Make a :class:`CutProxy` in front of a plane's API server; every one is closed afterwards."""
    made: list[CutProxy] = []

    def make(plane: ControlPlane) -> CutProxy:
        host, _, port = plane.server.removeprefix("https://").rpartition(":")
        made.append(CutProxy(host, int(port)))
        return made[-1]

    yield make
    for proxy in made:
        proxy.close()
