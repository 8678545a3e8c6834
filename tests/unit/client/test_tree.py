"""Tree types: nodes made from each kind of object, typed accessors, walking."""

from __future__ import annotations

import copy
from datetime import datetime, timezone
from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    Execution,
    ExecutionTree,
    ExecutionTreeNode,
    JobPhase,
    NodeKind,
    Suspension,
    job_phase,
)
from tests.support.spec_examples import FAILED_JOB, MANUAL_SUSPENSION, ROOT_EXECUTION, SLEEP_SUSPENSION

UTC = timezone.utc


def _root() -> Execution:
    return Execution.model_validate(copy.deepcopy(ROOT_EXECUTION))


def test_execution_node_shows_the_execution() -> None:
    node = ExecutionTreeNode.for_execution(_root())

    assert node.kind is NodeKind.EXECUTION
    assert node.name == "deploy-cluster-x7k2p"
    assert node.namespace == "infra"
    assert node.phase == "Suspended"
    assert node.message == "sleeping until 2025-03-01T11:06:05Z"
    assert node.created_at == datetime(2025, 3, 1, 9, 59, 58, tzinfo=UTC)
    assert node.started_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert node.finished_at is None
    assert node.attempt_number == 0
    assert node.children == []


def test_node_accessors_return_only_their_own_kind() -> None:
    execution = _root()
    node = ExecutionTreeNode.for_execution(execution)

    assert node.execution() is execution
    assert node.suspension() is None
    assert node.job() is None
    assert node.attempt() is None


def test_suspension_node_starts_when_created_and_finishes_when_resumed() -> None:
    manual = Suspension.model_validate(copy.deepcopy(MANUAL_SUSPENSION))
    sleep = Suspension.model_validate(copy.deepcopy(SLEEP_SUSPENSION))

    node = ExecutionTreeNode.for_suspension(manual)

    assert node.kind is NodeKind.SUSPENSION
    assert node.phase == "Completed"
    assert node.finished_at == datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
    assert node.suspension() is manual
    assert node.is_terminal
    assert not ExecutionTreeNode.for_suspension(sleep).is_terminal


def test_attempt_node_is_named_after_its_execution_and_number() -> None:
    execution = _root()

    node = ExecutionTreeNode.for_attempt(execution, execution.attempts[0])

    assert node.kind is NodeKind.ATTEMPT
    assert node.name == "deploy-cluster-x7k2p#1"
    assert node.attempt_number == 1
    assert node.phase == "Failed"
    assert node.message == "helm upgrade failed: timeout"
    assert node.created_at == node.started_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert node.attempt() is execution.attempts[0]
    assert node.execution() is None


def test_failed_job_node_takes_phase_message_and_finish_from_its_failed_condition() -> None:
    node = ExecutionTreeNode.for_job(copy.deepcopy(FAILED_JOB))

    assert node.kind is NodeKind.JOB
    assert node.phase == "Failed"
    assert node.message == "Job has reached the specified backoff limit"
    assert node.started_at == datetime(2025, 3, 1, 10, 0, 2, tzinfo=UTC)
    assert node.finished_at == datetime(2025, 3, 1, 10, 4, 50, tzinfo=UTC)
    assert node.job() is not None
    assert node.is_terminal


@pytest.mark.parametrize(
    ("status", "phase"),
    [
        ({}, JobPhase.PENDING),
        ({"active": 1}, JobPhase.RUNNING),
        ({"conditions": [{"type": "Complete", "status": "True"}], "succeeded": 1}, JobPhase.SUCCEEDED),
        ({"conditions": [{"type": "Failed", "status": "True"}]}, JobPhase.FAILED),
        ({"conditions": [{"type": "Failed", "status": "False"}], "active": 2}, JobPhase.RUNNING),
    ],
)
def test_job_phase_follows_conditions_then_active_pods(status: dict[str, Any], phase: JobPhase) -> None:
    assert job_phase({"status": status}) is phase


def test_tree_walks_depth_first_and_finds_by_name() -> None:
    leaf = ExecutionTreeNode(name="c", namespace="n", kind=NodeKind.JOB)
    middle = ExecutionTreeNode(name="b", namespace="n", kind=NodeKind.EXECUTION, children=[leaf])
    sibling = ExecutionTreeNode(name="d", namespace="n", kind=NodeKind.SUSPENSION)
    root = ExecutionTreeNode(name="a", namespace="n", kind=NodeKind.EXECUTION, children=[middle, sibling])
    tree = ExecutionTree(root, archived=True)

    assert [(node.name, depth) for node, depth in tree.walk()] == [("a", 0), ("b", 1), ("c", 2), ("d", 1)]
    assert tree.root() is root
    assert tree.is_archived()
    assert tree.find("c") is leaf
    assert tree.find("zzz") is None
