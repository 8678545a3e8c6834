"""The emulator's archive builder (spec §4): what it refuses, and the shape of what it writes."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import datetime, timezone
from typing import Any

import pytest

from kontinue_sandbox.emulator.archive import build_archive

ARCHIVED_AT = datetime(2025, 3, 1, 11, 10, tzinfo=timezone.utc)


def _root(name: str = "deploy-app-x7k2m") -> dict[str, Any]:
    return {
        "metadata": {"name": name, "namespace": "ns", "uid": "u-1", "managedFields": [{"manager": "k"}]},
        "spec": {"function": "deploy"},
        "status": {"phase": "Completed", "state": {"big": "x"}},
    }


def _tree(archive: dict[str, Any]) -> dict[str, Any]:
    data = base64.b64decode(archive["spec"]["tree"]["data"])
    document: dict[str, Any] = json.loads(gzip.decompress(data))
    return document


def test_an_unnamed_root_is_refused() -> None:
    with pytest.raises(ValueError, match=r"metadata\.name"):
        build_archive({"spec": {"function": "f"}}, [], [], [], archived_at=ARCHIVED_AT, delete_at=None)


def test_a_tree_too_large_even_after_shrinking_is_refused() -> None:
    with pytest.raises(ValueError, match="over 10"):
        build_archive(_root(), [], [], [], archived_at=ARCHIVED_AT, delete_at=None, max_bytes=10)


def test_the_root_comes_first_typed_and_without_managed_fields() -> None:
    child = {"metadata": {"name": "a-child", "namespace": "ns"}, "spec": {"function": "f"}}
    archive, status = build_archive(
        _root(),
        [child, _root()],
        [],
        [{"metadata": {"name": "job"}}],
        archived_at=ARCHIVED_AT,
        delete_at=None,
    )
    tree = _tree(archive)

    assert [e["metadata"]["name"] for e in tree["executions"]] == ["deploy-app-x7k2m", "a-child"]
    assert tree["executions"][0]["kind"] == "Execution"
    assert "managedFields" not in tree["executions"][0]["metadata"]
    assert tree["jobs"][0]["apiVersion"] == "batch/v1"
    assert archive["spec"]["archivedAt"] == "2025-03-01T11:10:00Z"
    assert "state" not in archive["spec"]["execution"]["status"]
    assert status is None


def test_the_same_tree_encodes_to_the_same_bytes() -> None:
    one = {"metadata": {"name": "b"}, "spec": {}}
    two = {"metadata": {"name": "a"}, "spec": {}}
    first, _ = build_archive(_root(), [one, two], [], [], archived_at=ARCHIVED_AT, delete_at=None)
    second, _ = build_archive(_root(), [two, one], [], [], archived_at=ARCHIVED_AT, delete_at=None)

    assert first["spec"]["tree"]["data"] == second["spec"]["tree"]["data"]
