"""Resource models: exact round trips, graceful reading of newer servers, and the accessors users need."""

from __future__ import annotations

import base64
import copy
import gzip
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    ArchiveDecodeError,
    ArchivedExecution,
    ChildPolicy,
    Execution,
    ExecutionPhase,
    ExecutionRetry,
    ExecutionSpec,
    Function,
    Resource,
    ScheduledExecution,
    Suspension,
    SuspensionPhase,
    SuspensionType,
    model_for_kind,
)
from airflow_provider_kontinue.client import models as models_module
from airflow_provider_kontinue.client.constants import ANNOTATION_ARCHIVED, API_VERSION
from kontinue_sandbox.emulator.archive import build_archive
from tests.support.spec_examples import (
    ARCHIVED_EXECUTION,
    CHILD_EXECUTION,
    FAILED_JOB,
    FUNCTION,
    MANUAL_SUSPENSION,
    ROOT_EXECUTION,
    SCHEDULED_EXECUTION,
    SLEEP_SUSPENSION,
)

UTC = timezone.utc
ARCHIVED_AT = datetime(2025, 3, 1, 12, 10, tzinfo=UTC)


def _as_read(raw: dict[str, Any]) -> dict[str, Any]:
    """``raw`` as the client keeps it: without ``metadata.managedFields``."""
    read = copy.deepcopy(raw)
    read.get("metadata", {}).pop("managedFields", None)
    return read


def test_managed_fields_are_dropped_on_read_and_everything_else_kept() -> None:
    raw = _raw(ROOT_EXECUTION)
    assert raw["metadata"]["managedFields"]

    execution = Execution.model_validate(raw)

    assert "managedFields" not in execution.to_dict()["metadata"]
    assert execution.model_extra is not None
    assert execution.metadata.model_extra == {}
    assert execution.to_dict() == _as_read(raw)
    assert raw["metadata"]["managedFields"]  # the caller's dict is left as it was


def _raw(obj: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(obj)


# --- Round trips ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "raw"),
    [
        (Execution, ROOT_EXECUTION),
        (Execution, CHILD_EXECUTION),
        (Suspension, SLEEP_SUSPENSION),
        (Suspension, MANUAL_SUSPENSION),
        (ScheduledExecution, SCHEDULED_EXECUTION),
        (Function, FUNCTION),
        (ArchivedExecution, ARCHIVED_EXECUTION),
    ],
    ids=["root", "child", "sleep", "manual", "schedule", "function", "archive"],
)
def test_every_spec_example_round_trips_unchanged(model: type[Resource], raw: dict[str, Any]) -> None:
    assert model.model_validate(_raw(raw)).to_dict() == _as_read(raw)


def test_round_trip_is_byte_exact_as_json() -> None:
    raw = _raw(ROOT_EXECUTION)

    text = json.dumps(Execution.model_validate(raw).to_dict(), sort_keys=True)

    assert text == json.dumps(_as_read(raw), sort_keys=True)


def test_unknown_server_fields_survive_a_round_trip() -> None:
    raw = _raw(ROOT_EXECUTION)
    raw["futureTopLevel"] = {"x": 1}
    raw["metadata"]["finalizers"] = ["kontinue.cloud/cleanup"]
    raw["spec"]["priority"] = "high"
    raw["spec"]["retry"]["jitter"] = "10%"
    raw["spec"]["mutex"]["scope"] = "Cluster"
    raw["status"]["conditions"] = [{"type": "Ready", "status": "True"}]
    raw["status"]["children"][0]["uid"] = "abc"
    raw["status"]["attempts"][0]["worker"] = "pod-1"
    raw["status"]["progress"]["label"] = "deploying"
    raw["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "X", "name": "y", "uid": "z", "newField": 1}
    ]

    assert Execution.model_validate(raw).to_dict() == _as_read(raw)


def test_fields_present_as_null_stay_null_and_absent_fields_stay_absent() -> None:
    raw = {"spec": {"function": "f", "arguments": {}}, "status": {"result": None, "message": ""}}

    execution = Execution.model_validate(raw)

    assert execution.to_dict() == raw
    assert "kind" not in execution.to_dict()
    assert execution.kind == "Execution"
    assert execution.api_version == API_VERSION


def test_objects_without_a_spec_do_not_gain_one() -> None:
    raw = {"metadata": {"name": "f"}}

    assert Function.model_validate(raw).to_dict() == raw
    assert Suspension.model_validate(raw).to_dict() == raw


def test_new_execution_writes_only_what_was_given() -> None:
    execution = Execution(
        api_version=API_VERSION,
        kind="Execution",
        metadata={"generate_name": "deploy-"},
        spec=ExecutionSpec(function="deploy", retry=ExecutionRetry(retries=2, backoff=timedelta(seconds=30))),
    )

    assert execution.to_dict() == {
        "apiVersion": API_VERSION,
        "kind": "Execution",
        "metadata": {"generateName": "deploy-"},
        "spec": {"function": "deploy", "retry": {"retries": 2, "backoff": "30s"}},
    }


def test_fields_accept_snake_case_and_camel_case() -> None:
    by_alias = ExecutionRetry.model_validate({"childPolicy": "RetryAll"})
    by_name = ExecutionRetry.model_validate({"child_policy": "RetryAll"})

    assert by_alias.child_policy is ChildPolicy.RETRY_ALL
    assert by_name.to_dict() == {"childPolicy": "RetryAll"}


# --- Timestamps and durations inside models --------------------------------------------------------


def test_timestamps_read_as_aware_utc_datetimes() -> None:
    execution = Execution.model_validate(_raw(ROOT_EXECUTION))

    assert execution.started_at == datetime(2025, 3, 1, 10, 0, tzinfo=UTC)
    assert execution.created_at == datetime(2025, 3, 1, 9, 59, 58, tzinfo=UTC)
    assert execution.attempts[0].finished_at == datetime(2025, 3, 1, 10, 4, 55, tzinfo=UTC)


def test_timestamp_with_an_offset_is_written_back_in_utc() -> None:
    raw = {"spec": {"function": "f"}, "status": {"startedAt": "2025-03-01T11:00:00+01:00"}}

    assert Execution.model_validate(raw).to_dict()["status"]["startedAt"] == "2025-03-01T10:00:00Z"


def test_assigned_naive_datetime_is_taken_as_utc() -> None:
    suspension = Suspension.model_validate(_raw(SLEEP_SUSPENSION))
    suspension.spec.resume_at = datetime(2025, 3, 1, 12, 0)

    assert suspension.to_dict()["spec"]["resumeAt"] == "2025-03-01T12:00:00Z"


def test_durations_read_as_timedelta_and_keep_their_spelling() -> None:
    raw = _raw(ROOT_EXECUTION)
    raw["spec"]["ttl"] = {"archiveAfter": "90m", "deleteAfter": "7d"}
    raw["spec"]["timeout"] = {"attempt": "1h0m0s"}

    execution = Execution.model_validate(raw)

    assert execution.spec.ttl is not None
    assert execution.spec.ttl.delete_after == timedelta(days=7)
    assert execution.spec.ttl.archive_after == timedelta(minutes=90)
    assert execution.to_dict() == _as_read(raw)


# --- Phases ---------------------------------------------------------------------------------------


def test_absent_execution_phase_reads_as_pending() -> None:
    no_status = Execution.model_validate({"spec": {"function": "f"}})
    no_phase = Execution.model_validate({"spec": {"function": "f"}, "status": {"attempt": 1}})

    assert no_status.phase is ExecutionPhase.PENDING
    assert no_phase.phase is ExecutionPhase.PENDING
    assert not no_status.is_terminal


def test_absent_suspension_phase_reads_as_suspended() -> None:
    suspension = Suspension.model_validate({"spec": {"type": "Manual"}})

    assert suspension.phase is SuspensionPhase.SUSPENDED
    assert not suspension.is_terminal


def test_known_phase_parses_to_the_enum() -> None:
    execution = Execution.model_validate(_raw(ROOT_EXECUTION))

    assert execution.phase == "Suspended"
    assert execution.phase is ExecutionPhase.SUSPENDED


def test_unknown_phase_from_a_newer_server_stays_a_string_and_round_trips() -> None:
    raw = {"spec": {"function": "f"}, "status": {"phase": "Paused", "attempts": [{"phase": "TimedOut"}]}}

    execution = Execution.model_validate(raw)

    assert execution.phase == "Paused"
    assert not isinstance(execution.phase, ExecutionPhase)
    assert not execution.is_terminal
    assert execution.to_dict() == raw


@pytest.mark.parametrize(
    ("phase", "terminal"),
    [
        ("Pending", False),
        ("Executing", False),
        ("Suspended", False),
        ("Backoff", False),
        ("Completed", True),
        ("Failed", True),
        ("Canceled", True),
        ("Skipped", True),
    ],
)
def test_only_completed_failed_canceled_and_skipped_are_terminal(phase: str, terminal: bool) -> None:
    execution = Execution.model_validate({"spec": {"function": "f"}, "status": {"phase": phase}})

    assert execution.is_terminal is terminal


@pytest.mark.parametrize(
    ("generation", "observed", "ended"),
    [(2, 1, False), (2, 2, True), (2, 3, True), (2, None, True), (None, 1, True)],
)
def test_a_failed_phase_ends_a_wait_only_once_the_controller_observed_the_current_generation(
    generation: int | None, observed: int | None, ended: bool
) -> None:
    status: dict[str, object] = {"phase": "Failed"}
    if observed is not None:
        status["observedGeneration"] = observed
    metadata = {"name": "e"} if generation is None else {"name": "e", "generation": generation}
    execution = Execution.model_validate({"metadata": metadata, "spec": {"function": "f"}, "status": status})

    assert execution.is_observed is ended
    assert execution.has_ended is ended


def test_an_archived_execution_has_ended_whatever_its_generations_say() -> None:
    execution = Execution.model_validate(
        {
            "metadata": {"name": "e", "generation": 3, "annotations": {ANNOTATION_ARCHIVED: "true"}},
            "spec": {"function": "f"},
            "status": {"phase": "Executing", "observedGeneration": 1},
        }
    )

    assert execution.has_ended


@pytest.mark.parametrize(
    ("phase", "terminal"), [("Suspended", False), ("Completed", True), ("Canceled", True)]
)
def test_suspension_is_terminal_once_completed_or_canceled(phase: str, terminal: bool) -> None:
    assert Suspension.model_validate({"status": {"phase": phase}}).is_terminal is terminal


def test_enums_print_as_their_server_values() -> None:
    assert str(ExecutionPhase.COMPLETED) == "Completed"
    assert f"{ChildPolicy.NONE}" == "None"
    assert ChildPolicy("None") is ChildPolicy.NONE


# --- Accessors ------------------------------------------------------------------------------------


def test_child_execution_accessors_read_its_labels() -> None:
    child = Execution.model_validate(_raw(CHILD_EXECUTION))

    assert child.name == "deploy-cluster-x7k2p-3f9a01bc"
    assert child.namespace == "infra"
    assert child.function == "run-smoke-tests"
    assert child.parent_name == "deploy-cluster-x7k2p"
    assert child.root_name == "deploy-cluster-x7k2p"
    assert child.worker_group == "deployments"
    assert child.step == "1"
    assert child.parent_attempt == 2
    assert not child.is_root
    assert child.result == {"passed": 42, "failed": 0}


def test_root_execution_is_the_root_of_its_own_tree() -> None:
    root = Execution.model_validate(_raw(ROOT_EXECUTION))

    assert root.is_root
    assert root.parent_name is None
    assert root.root_name == "deploy-cluster-x7k2p"
    assert root.display_name == "Deploy production cluster"
    assert root.attempt == 2
    assert root.children[0].name == "deploy-cluster-x7k2p-a1b2c3d4"
    assert root.progress is not None
    assert root.progress.fraction == pytest.approx(2 / 3)
    assert root.result is None
    assert root.resource_version == "48213"
    assert root.uid == "5d0c7a4e-0000-0000-0000-000000000001"


def test_suspension_root_name_comes_only_from_its_label() -> None:
    suspension = Suspension.model_validate({"metadata": {"name": "s"}})

    assert suspension.root_name is None
    assert Suspension.model_validate(_raw(SLEEP_SUSPENSION)).root_name == "deploy-cluster-x7k2p"


def test_labels_accessor_is_read_only_and_empty_when_absent() -> None:
    execution = Execution.model_validate({"spec": {"function": "f"}})

    assert dict(execution.labels) == {}
    with pytest.raises(TypeError):
        execution.labels["x"] = "y"  # type: ignore[index]


def test_metadata_filled_in_after_construction_is_written() -> None:
    execution = Execution(spec=ExecutionSpec(function="f"))

    execution.metadata.name = "f-1"

    assert execution.to_dict() == {"metadata": {"name": "f-1"}, "spec": {"function": "f"}}


def test_set_label_marks_labels_for_writing() -> None:
    execution = Execution.model_validate({"spec": {"function": "f"}})

    execution.metadata.set_label("team", "a")
    execution.metadata.set_annotation("note", "b")

    assert execution.to_dict()["metadata"] == {"labels": {"team": "a"}, "annotations": {"note": "b"}}


def test_suspension_accessors() -> None:
    sleep = Suspension.model_validate(_raw(SLEEP_SUSPENSION))
    manual = Suspension.model_validate(_raw(MANUAL_SUSPENSION))

    assert sleep.suspension_type is SuspensionType.SLEEP
    assert sleep.resume_at == datetime(2025, 3, 1, 11, 6, 5, tzinfo=UTC)
    assert sleep.parent_name == "deploy-cluster-x7k2p"
    assert manual.phase is SuspensionPhase.COMPLETED
    assert manual.message == "Resumed by client"
    assert manual.resumed_at == datetime(2025, 3, 2, 9, 0, tzinfo=UTC)
    assert Suspension.model_validate({"spec": {"message": "waiting"}}).message == "waiting"


def test_scheduled_execution_accessors() -> None:
    schedule = ScheduledExecution.model_validate(_raw(SCHEDULED_EXECUTION))

    assert schedule.function == "run-integration-tests"
    assert schedule.schedule == "0 2 * * *"
    assert not schedule.is_suspended
    assert schedule.active == ["nightly-tests-1740880800"]
    assert schedule.spec.execution_defaults is not None
    assert schedule.spec.execution_defaults.ttl is not None
    assert schedule.spec.execution_defaults.ttl.delete_after == timedelta(hours=24)
    assert schedule.status is not None
    assert schedule.status.history is not None
    assert schedule.status.history[0].phase is ExecutionPhase.COMPLETED


# --- Functions ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("annotation", "hidden"),
    [
        (None, False),
        ("true", True),
        ("True", True),
        ("false", False),
        ("FALSE", False),
        ("", True),
        ("yes", True),
    ],
)
def test_function_is_hidden_when_the_annotation_is_present_and_not_false(
    annotation: str | None, hidden: bool
) -> None:
    raw = _raw(FUNCTION)
    if annotation is not None:
        raw["metadata"]["annotations"]["kontinue.cloud/hidden"] = annotation

    assert Function.model_validate(raw).is_hidden is hidden


def test_default_arguments_overlay_function_defaults_on_argument_defaults() -> None:
    raw = _raw(FUNCTION)
    raw["spec"]["defaults"]["arguments"] = {"replicas": 5, "region": "eu"}

    defaults = Function.model_validate(raw).default_arguments()

    assert defaults == {"environment": "staging", "dryRun": False, "replicas": 5, "region": "eu"}


def test_arguments_without_a_default_are_left_out_but_a_null_default_counts() -> None:
    raw = _raw(FUNCTION)
    raw["spec"]["arguments"].append({"name": "note", "type": "string", "default": None})

    defaults = Function.model_validate(raw).default_arguments()

    assert "version" not in defaults
    assert defaults["note"] is None


def test_default_arguments_are_a_fresh_copy() -> None:
    raw = _raw(FUNCTION)
    raw["spec"]["defaults"]["arguments"] = {"tags": ["a"]}
    function = Function.model_validate(raw)

    function.default_arguments()["tags"].append("b")

    assert function.default_arguments()["tags"] == ["a"]


def test_function_reads_its_group_and_names_from_spec_then_metadata() -> None:
    function = Function.model_validate(_raw(FUNCTION))
    bare = Function.model_validate(
        {
            "metadata": {
                "name": "f",
                "labels": {"kontinue.cloud/worker-group": "g"},
                "annotations": {"kontinue.cloud/display-name": "F"},
            }
        }
    )

    assert function.worker_group == "deployments"
    assert function.display_name == "Deploy Application"
    assert function.spec.defaults is not None
    assert function.spec.defaults.retry is not None
    assert function.spec.defaults.retry.child_policy is ChildPolicy.RETRY_FAILED
    assert bare.worker_group == "g"
    assert bare.display_name == "F"
    assert bare.default_arguments() == {}


# --- Archives -------------------------------------------------------------------------------------


def _finished_root() -> dict[str, Any]:
    root = _raw(ROOT_EXECUTION)
    root["status"].update(phase="Completed", reason="Succeeded", finishedAt="2025-03-01T11:10:00Z")
    root["status"]["result"] = {"endpoint": "https://c-123.example"}
    return root


def _archive(**overrides: Any) -> ArchivedExecution:
    """An archive as kontinue's TTL writes it: built by the emulator's own implementation of the
    format (spec §4), read back by the client, so each side checks the other."""
    arguments: dict[str, Any] = {
        "executions": [_raw(CHILD_EXECUTION)],
        "suspensions": [_raw(SLEEP_SUSPENSION)],
        "jobs": [_raw(FAILED_JOB)],
        "archived_at": ARCHIVED_AT,
        "delete_at": datetime(2025, 3, 31, 11, 10, tzinfo=UTC),
    }
    root = overrides.pop("root", None) or _finished_root()
    arguments.update(overrides)
    archive, status = build_archive(root, **arguments)
    return ArchivedExecution.model_validate({**archive, "status": status})


def test_archive_round_trip_reconstructs_the_root_marked_archived() -> None:
    stored = _archive().to_dict()

    archive = ArchivedExecution.model_validate(json.loads(json.dumps(stored)))
    root = archive.root_execution()

    expected = _finished_root()
    del expected["metadata"]["managedFields"]
    expected["metadata"]["annotations"][ANNOTATION_ARCHIVED] = "true"
    assert root.to_dict() == expected
    assert root.is_archived
    assert root.phase is ExecutionPhase.COMPLETED


def test_archive_holds_every_object_of_the_tree() -> None:
    archive = _archive()

    tree = archive.decode_tree()
    executions = archive.executions()

    assert tree.version == 1
    assert tree.root == "deploy-cluster-x7k2p"
    assert [e.name for e in tree.executions] == ["deploy-cluster-x7k2p", "deploy-cluster-x7k2p-3f9a01bc"]
    assert [s.name for s in tree.suspensions] == ["deploy-cluster-x7k2p-91c0d2e4"]
    assert tree.jobs[0]["metadata"]["name"] == "deploy-cluster-x7k2p-5e6f7a8b"
    assert tree.executions[0].status is not None
    assert tree.executions[0].status.state == {"store/0": {"clusterId": "c-123"}}
    assert [e.name for e in executions] == ["deploy-cluster-x7k2p", "deploy-cluster-x7k2p-3f9a01bc"]
    assert all(e.is_archived and e.kind == "Execution" for e in executions)
    assert archive.spec.tree is not None
    assert archive.spec.tree.counts is not None
    assert archive.spec.tree.counts.to_dict() == {"executions": 2, "suspensions": 1, "jobs": 1}


def test_archive_metadata_copies_root_labels_and_kontinue_annotations() -> None:
    root = _finished_root()
    root["metadata"]["annotations"]["example.com/owner"] = "team-a"
    root["metadata"]["labels"]["team"] = "a"

    stored = _archive(root=root).to_dict()

    assert stored["apiVersion"] == API_VERSION
    assert stored["kind"] == "ArchivedExecution"
    assert stored["metadata"] == {
        "name": "deploy-cluster-x7k2p",
        "namespace": "infra",
        "labels": {
            "kontinue.cloud/function": "deploy-cluster",
            "kontinue.cloud/worker-group": "deployments",
            "team": "a",
        },
        "annotations": {"kontinue.cloud/display-name": "Deploy production cluster"},
    }
    assert stored["spec"]["archivedAt"] == "2025-03-01T12:10:00Z"
    assert stored["status"] == {"deleteAt": "2025-03-31T11:10:00Z"}


def test_uncompressed_root_copy_keeps_identity_but_not_state() -> None:
    stored = _archive().to_dict()["spec"]["execution"]

    assert set(stored) == {"metadata", "spec", "status"}
    assert set(stored["metadata"]) == {
        "name",
        "namespace",
        "uid",
        "labels",
        "annotations",
        "creationTimestamp",
    }
    assert "state" not in stored["status"]
    assert stored["status"]["result"] == {"endpoint": "https://c-123.example"}


def test_archive_encoding_is_deterministic_whatever_the_input_order() -> None:
    child_b = _raw(CHILD_EXECUTION)
    child_b["metadata"]["name"] = "deploy-cluster-x7k2p-0000000b"
    first = _archive(executions=[_raw(CHILD_EXECUTION), child_b])
    second = _archive(executions=[child_b, _raw(CHILD_EXECUTION), _finished_root()])

    assert first.to_dict() == second.to_dict()
    assert first.spec.tree is not None
    assert second.spec.tree is not None
    assert first.spec.tree.data == second.spec.tree.data


def test_archive_drops_managed_fields() -> None:
    tree = _archive().decode_tree()

    assert "managedFields" not in tree.executions[0].to_dict()["metadata"]


def test_oversized_archive_drops_child_state_then_job_templates() -> None:
    noisy_child = _raw(CHILD_EXECUTION)
    noisy_child["status"]["state"] = {"blob": base64.b64encode(bytes(range(256)) * 64).decode()}
    noisy_job = _raw(FAILED_JOB)
    roomy = _archive(executions=[noisy_child], jobs=[noisy_job])
    assert roomy.spec.tree is not None
    assert roomy.spec.tree.data is not None

    tight = _archive(executions=[noisy_child], jobs=[noisy_job], max_bytes=len(roomy.spec.tree.data) - 1)
    tree = tight.decode_tree()

    assert tree.executions[1].status is not None
    assert tree.executions[1].status.state is None
    assert tree.executions[0].status is not None
    assert tree.executions[0].status.state is not None
    assert "template" in tree.jobs[0]["spec"]


def test_spec_example_archive_falls_back_to_the_uncompressed_root_copy() -> None:
    archive = ArchivedExecution.model_validate(_raw(ARCHIVED_EXECUTION))

    assert archive.decode_tree().executions == []
    root = archive.root_execution()

    assert root.name == "deploy-cluster-x7k2p"
    assert root.namespace == "infra"
    assert root.is_archived
    assert root.phase is ExecutionPhase.COMPLETED
    assert root.to_dict()["apiVersion"] == API_VERSION
    assert [e.name for e in archive.executions()] == ["deploy-cluster-x7k2p"]
    assert archive.phase is ExecutionPhase.COMPLETED


@pytest.mark.parametrize(
    "tree",
    [
        {"encoding": "gzip+base64", "data": "not base64!"},
        {"encoding": "gzip+base64", "data": base64.b64encode(b"plain text").decode()},
        {"encoding": "gzip+base64", "data": base64.b64encode(gzip.compress(b"{not json")).decode()},
        {"encoding": "gzip+base64", "data": base64.b64encode(gzip.compress(b'{"executions": 3}')).decode()},
        {"encoding": "zstd+base64", "data": "AAAA"},
        {"encoding": "gzip+base64"},
    ],
    ids=["base64", "gzip", "json", "shape", "encoding", "missing"],
)
def test_corrupt_archive_tree_raises_a_decode_error_but_the_root_still_reads(tree: dict[str, Any]) -> None:
    raw = _raw(ARCHIVED_EXECUTION)
    raw["spec"]["tree"] = tree
    archive = ArchivedExecution.model_validate(raw)

    with pytest.raises(ArchiveDecodeError) as caught:
        archive.decode_tree()

    assert caught.value.name == "deploy-cluster-x7k2p"
    assert archive.root_execution().is_archived
    assert len(archive.executions()) == 1


def test_archive_without_tree_or_copy_cannot_give_a_root() -> None:
    archive = ArchivedExecution.model_validate({"metadata": {"name": "x", "namespace": "n"}, "spec": {}})

    with pytest.raises(ArchiveDecodeError, match="neither"):
        archive.root_execution()


def test_archive_tree_is_not_inflated_beyond_the_limit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(models_module, "_MAX_TREE_BYTES", 1_000)
    bomb = gzip.compress(b'{"executions": [' + b" " * 10_000 + b"]}")
    raw = _raw(ARCHIVED_EXECUTION)
    raw["spec"]["tree"]["data"] = base64.b64encode(bomb).decode()

    with pytest.raises(ArchiveDecodeError, match="inflates beyond"):
        ArchivedExecution.model_validate(raw).decode_tree()


def test_model_for_kind_finds_each_kontinue_kind() -> None:
    assert model_for_kind("Execution") is Execution
    assert model_for_kind("ArchivedExecution") is ArchivedExecution
    with pytest.raises(KeyError, match="Job"):
        model_for_kind("Job")
