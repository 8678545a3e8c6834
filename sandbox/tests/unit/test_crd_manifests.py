"""The kontinue CRD manifests shipped in the package agree with the API spec and are valid apiextensions/v1.

Pure logic: the manifests are read from the installed package, their schemas are checked node by node,
and the spec's example objects (and malformed variants) are validated against them with jsonschema,
with pruning emulated as rejection so a field the API server would silently drop fails the test.
"""

from __future__ import annotations

import base64
import binascii
import copy
import re
from collections.abc import Iterator
from importlib import resources
from typing import Any

import jsonschema
import pytest
import yaml

GROUP = "kontinue.cloud"
VERSION = "v1alpha1"

# kind -> (file, plural, singular, short name), from the spec's table in section 2.
KINDS = {
    "Function": ("functions.yaml", "functions", "function", "kfn"),
    "Execution": ("executions.yaml", "executions", "execution", "kexec"),
    "ArchivedExecution": ("archivedexecutions.yaml", "archivedexecutions", "archivedexecution", "kaexec"),
    "Suspension": ("suspensions.yaml", "suspensions", "suspension", "ksusp"),
    "ScheduledExecution": ("scheduledexecutions.yaml", "scheduledexecutions", "scheduledexecution", "ksched"),
}

EXECUTION_PHASES = [
    "Pending",
    "Executing",
    "Suspended",
    "Backoff",
    "Completed",
    "Failed",
    "Canceled",
    "Skipped",
]
SUSPENSION_PHASES = ["Suspended", "Completed", "Canceled"]
DURATION_PATTERN = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h|d))+$"
DURATION_FIELDS = {
    "retry": {"backoff"},
    "timeout": {"attempt", "overall"},
    "ttl": {"archiveAfter", "deleteAfter"},
}
AGE = ("Age", "date", ".metadata.creationTimestamp")

PRINTER_COLUMNS = {
    "Execution": [("Function", "string", ".spec.function"), ("Phase", "string", ".status.phase"), AGE],
    "Function": [
        ("Description", "string", ".spec.description"),
        ("Group", "string", ".spec.workerGroup"),
        AGE,
    ],
    "Suspension": [
        ("Type", "string", ".spec.type"),
        ("Phase", "string", ".status.phase"),
        ("ResumeAt", "string", ".spec.resumeAt"),
        AGE,
    ],
    "ScheduledExecution": [
        ("Schedule", "string", ".spec.schedule"),
        ("Function", "string", ".spec.function"),
        ("Suspend", "boolean", ".spec.suspend"),
        ("Last Schedule", "date", ".status.lastScheduleTime"),
        AGE,
    ],
    "ArchivedExecution": [
        ("Function", "string", ".spec.execution.spec.function"),
        ("Phase", "string", ".spec.execution.status.phase"),
        ("Archived", "date", ".spec.archivedAt"),
        AGE,
    ],
}

# The only nodes that keep unknown fields: the spec's free-form JSON values.
FREE_FORM = {
    "Execution": {"spec.arguments", "status.result", "status.state"},
    "ArchivedExecution": {
        "spec.execution.spec.arguments",
        "spec.execution.status.result",
        "spec.execution.status.state",
    },
    "Function": {"spec.arguments[].default", "spec.defaults.arguments", "spec.emulator"},
    "ScheduledExecution": {"spec.arguments"},
    "Suspension": set(),
}
# Free-form nodes that may hold any JSON value, so they have no type.
ANY_JSON = {
    "Execution": {"status.result"},
    "ArchivedExecution": {"spec.execution.status.result"},
    "Function": {"spec.arguments[].default"},
    "ScheduledExecution": set(),
    "Suspension": set(),
}
# Where the retry/timeout/ttl shapes of an Execution's spec appear.
EXECUTION_SETTINGS = {
    "Execution": "spec",
    "ArchivedExecution": "spec.execution.spec",
    "Function": "spec.defaults",
    "ScheduledExecution": "spec.executionDefaults",
}


def _crds() -> dict[str, dict[str, Any]]:
    folder = resources.files("kontinue_sandbox") / "crds"
    found = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".yaml"):
            documents = [d for d in yaml.safe_load_all(entry.read_text(encoding="utf-8")) if d]
            assert len(documents) == 1, f"{entry.name} must hold exactly one CRD"
            found[entry.name] = documents[0]
    return found


CRDS = _crds()
BY_KIND = {crd["spec"]["names"]["kind"]: crd for crd in CRDS.values()}


def _version(kind: str) -> dict[str, Any]:
    version: dict[str, Any] = BY_KIND[kind]["spec"]["versions"][0]
    return version


def _schema(kind: str) -> dict[str, Any]:
    schema: dict[str, Any] = _version(kind)["schema"]["openAPIV3Schema"]
    return schema


def _walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node below ``node`` with its path: ``a.b`` for properties, ``[]`` items, ``{}`` maps."""
    for name, child in node.get("properties", {}).items():
        child_path = f"{path}.{name}" if path else name
        yield child_path, child
        yield from _walk(child, child_path)
    if isinstance(node.get("items"), dict):
        yield f"{path}[]", node["items"]
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield f"{path}{{}}", node["additionalProperties"]
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


def _nodes(kind: str) -> dict[str, dict[str, Any]]:
    return dict(_walk(_schema(kind)))


def _at(kind: str, path: str) -> dict[str, Any]:
    return _nodes(kind)[path]


def _without_descriptions(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: _without_descriptions(v) for k, v in node.items() if k != "description"}
    if isinstance(node, list):
        return [_without_descriptions(v) for v in node]
    return node


# --- shape of the CRDs ------------------------------------------------------------------------------


def test_there_are_exactly_five_crds_one_file_per_kind() -> None:
    assert set(CRDS) == {file for file, *_ in KINDS.values()}
    for kind, (file, *_) in KINDS.items():
        assert CRDS[file]["spec"]["names"]["kind"] == kind


def test_crds_are_apiextensions_v1_named_plural_dot_group_and_namespaced() -> None:
    for kind, (_, plural, singular, _) in KINDS.items():
        crd = BY_KIND[kind]
        assert crd["apiVersion"] == "apiextensions.k8s.io/v1"
        assert crd["kind"] == "CustomResourceDefinition"
        assert crd["metadata"]["name"] == f"{plural}.{GROUP}"
        assert crd["spec"]["group"] == GROUP
        assert crd["spec"]["scope"] == "Namespaced"
        names = crd["spec"]["names"]
        assert (names["plural"], names["singular"], names["listKind"]) == (plural, singular, f"{kind}List")


def test_every_crd_serves_and_stores_only_v1alpha1() -> None:
    for kind in KINDS:
        versions = BY_KIND[kind]["spec"]["versions"]
        assert [(v["name"], v["served"], v["storage"]) for v in versions] == [(VERSION, True, True)]


def test_every_crd_has_status_subresource() -> None:
    for kind in KINDS:
        assert _version(kind)["subresources"] == {"status": {}}
        assert "status" in _schema(kind)["properties"]


def test_short_names_and_categories_match_the_spec() -> None:
    for kind, (*_, short) in KINDS.items():
        names = BY_KIND[kind]["spec"]["names"]
        assert names["shortNames"] == [short]
        assert names["categories"] == ["kontinue"]


def test_printer_columns_match_the_spec() -> None:
    for kind, expected in PRINTER_COLUMNS.items():
        columns = _version(kind)["additionalPrinterColumns"]
        assert [(c["name"], c["type"], c["jsonPath"]) for c in columns] == expected


def test_every_crd_shows_its_phase_its_function_and_its_age() -> None:
    for kind in KINDS:
        nodes = _nodes(kind)
        paths = {c["jsonPath"] for c in _version(kind)["additionalPrinterColumns"]}
        assert _version(kind)["additionalPrinterColumns"][-1]["jsonPath"] == ".metadata.creationTimestamp"
        for field in ("phase", "function"):
            for path in nodes:
                if path.split(".")[-1] == field and "[]" not in path:
                    assert f".{path}" in paths, f"{kind}: no printer column for {path}"


def test_every_printer_column_points_at_a_schema_field_of_its_type() -> None:
    for kind in KINDS:
        nodes = _nodes(kind)
        for column in _version(kind)["additionalPrinterColumns"]:
            if column["jsonPath"] == ".metadata.creationTimestamp":
                continue
            node = nodes[column["jsonPath"].removeprefix(".")]
            if column["type"] == "date":
                assert node.get("format") == "date-time", column
            else:
                assert node["type"] == column["type"], column


# --- structural schemas -----------------------------------------------------------------------------


def test_every_schema_node_is_structural() -> None:
    for kind in KINDS:
        schema = _schema(kind)
        assert schema["type"] == "object"
        for path, node in [("", schema), *_walk(schema)]:
            where = f"{kind}.{path}"
            free = node.get("x-kubernetes-preserve-unknown-fields") or node.get("x-kubernetes-int-or-string")
            if not free:
                assert "type" in node, f"{where} has no type"
            assert not {"$ref", "nullable", "anyOf", "oneOf", "allOf", "not"} & set(node), where
            assert not ("properties" in node and "additionalProperties" in node), where
            if "properties" in node or "additionalProperties" in node:
                assert node.get("type") == "object", where
            if "items" in node:
                assert node["type"] == "array", where
                assert isinstance(node["items"], dict), where
            if node.get("type") == "array":
                assert "items" in node, where


def test_root_metadata_is_a_bare_object_as_the_apiserver_requires() -> None:
    # kube-apiserver refuses anything beyond the type here (even a description).
    for kind in KINDS:
        assert _schema(kind)["properties"]["metadata"] == {"type": "object"}


def test_only_free_form_fields_preserve_unknown_fields() -> None:
    for kind, expected in FREE_FORM.items():
        preserving = {p for p, n in _nodes(kind).items() if n.get("x-kubernetes-preserve-unknown-fields")}
        assert preserving == expected, kind
        schema = _schema(kind)
        assert "x-kubernetes-preserve-unknown-fields" not in schema
        assert "x-kubernetes-preserve-unknown-fields" not in schema["properties"]["spec"]
        assert "x-kubernetes-preserve-unknown-fields" not in schema["properties"]["status"]


def test_only_any_json_fields_have_no_type() -> None:
    for kind, expected in ANY_JSON.items():
        untyped = {p for p, n in _nodes(kind).items() if "type" not in n}
        assert untyped == expected, kind


def test_every_property_has_a_one_line_description() -> None:
    for kind in KINDS:
        schema = _schema(kind)
        assert schema["description"].strip()
        for path, node in _walk(schema):
            if path == "metadata":
                continue
            description = node.get("description", "")
            assert description.strip(), f"{kind}.{path} has no description"
            assert "\n" not in description, f"{kind}.{path} has a multi-line description"


def test_manifests_are_ascii_so_they_load_under_any_locale() -> None:
    folder = resources.files("kontinue_sandbox") / "crds"
    for name in CRDS:
        (folder / name).read_bytes().decode("ascii")


# --- field types, formats, enums, defaults ----------------------------------------------------------


def test_every_duration_field_has_the_duration_pattern() -> None:
    found = set()
    for kind in KINDS:
        for path, node in _nodes(kind).items():
            parts = path.split(".")
            if len(parts) >= 2 and parts[-1] in DURATION_FIELDS.get(parts[-2], ()):
                found.add((kind, path))
                assert node["type"] == "string", f"{kind}.{path}"
                assert node["pattern"] == DURATION_PATTERN, f"{kind}.{path}"
            elif "pattern" in node:
                assert (kind, path) == ("ScheduledExecution", "spec.schedule"), f"{kind}.{path}"
    expected = {
        (kind, f"{prefix}.{group}.{field}")
        for kind, prefix in EXECUTION_SETTINGS.items()
        for group, fields in DURATION_FIELDS.items()
        for field in fields
    }
    assert found == expected


@pytest.mark.parametrize(
    "duration", ["5s", "1h30m", "720h", "7d", "1.5h", "100ms", "10us", "10µs", "3ns", "0s"]
)
def test_duration_pattern_accepts_go_durations_and_days(duration: str) -> None:
    assert re.fullmatch(DURATION_PATTERN, duration)


@pytest.mark.parametrize("duration", ["", "5", "5 s", "-5s", "1w", "s", "1.h", "5S", "PT5S"])
def test_duration_pattern_rejects_other_strings(duration: str) -> None:
    assert not re.fullmatch(DURATION_PATTERN, duration)


def test_every_timestamp_field_is_a_date_time_string() -> None:
    for kind in KINDS:
        for path, node in _nodes(kind).items():
            name = path.split(".")[-1]
            is_timestamp = name.endswith(("At", "Time")) or name == "creationTimestamp"
            assert is_timestamp == (node.get("format") == "date-time"), f"{kind}.{path}"
            if is_timestamp:
                assert node["type"] == "string", f"{kind}.{path}"


def test_execution_phase_enum_matches_the_spec() -> None:
    assert _at("Execution", "status.phase")["enum"] == EXECUTION_PHASES
    assert _at("ArchivedExecution", "spec.execution.status.phase")["enum"] == EXECUTION_PHASES
    assert _at("ScheduledExecution", "status.history[].phase")["enum"] == EXECUTION_PHASES


def test_suspension_phase_enum_matches_the_spec() -> None:
    assert _at("Suspension", "status.phase")["enum"] == SUSPENSION_PHASES


def test_other_enums_match_the_spec() -> None:
    assert _at("Suspension", "spec.type")["enum"] == ["Sleep", "Manual"]
    for kind, prefix in EXECUTION_SETTINGS.items():
        assert _at(kind, f"{prefix}.retry.childPolicy")["enum"] == ["None", "RetryFailed", "RetryAll"]
    for path in ("status.children[].kind", "spec.execution.status.children[].kind"):
        kind = "Execution" if path.startswith("status") else "ArchivedExecution"
        assert _at(kind, path)["enum"] == ["Execution", "Suspension", "Job"]
    assert _at("Execution", "status.attempts[].phase")["enum"] == ["Failed", "Canceled"]
    assert _at("Function", "spec.arguments[].type")["enum"] == [
        "string",
        "integer",
        "number",
        "boolean",
        "object",
        "array",
    ]
    assert _at("ArchivedExecution", "spec.tree.encoding")["enum"] == ["gzip+base64"]


def test_required_fields_match_the_spec() -> None:
    for kind in ("Execution", "ArchivedExecution", "Suspension", "ScheduledExecution"):
        assert _schema(kind)["required"] == ["spec"]
    assert _at("Execution", "spec")["required"] == ["function"]
    assert _at("Execution", "spec.function")["minLength"] == 1
    assert _at("ScheduledExecution", "spec")["required"] == ["schedule", "function"]
    assert _at("Suspension", "spec")["required"] == ["type"]
    assert _at("ArchivedExecution", "spec")["required"] == ["execution"]
    assert _at("Function", "spec.arguments[]")["required"] == ["name"]
    mutexes = [
        ("Execution", "spec.mutex"),
        ("ArchivedExecution", "spec.execution.spec.mutex"),
        ("ScheduledExecution", "spec.executionDefaults.mutex"),
    ]
    for kind, path in mutexes:
        assert _at(kind, path)["required"] == ["name"]
        assert _at(kind, f"{path}.name")["minLength"] == 1


def test_a_sleep_suspension_requires_resume_at() -> None:
    rules = _at("Suspension", "spec")["x-kubernetes-validations"]
    assert [r["rule"] for r in rules] == ["self.type != 'Sleep' || has(self.resumeAt)"]


def test_defaults_match_the_spec() -> None:
    for kind, prefix in EXECUTION_SETTINGS.items():
        retry = _at(kind, f"{prefix}.retry")["properties"]
        assert retry["retries"]["default"] == 0
        assert retry["backoff"]["default"] == "5s"
        assert retry["childPolicy"]["default"] == "None"
    assert _at("Execution", "spec.arguments")["default"] == {}
    scheduled = _at("ScheduledExecution", "spec")["properties"]
    assert scheduled["arguments"]["default"] == {}
    assert scheduled["historyLimit"]["default"] == 5
    assert scheduled["suspend"]["default"] is False
    assert scheduled["timeZone"]["default"] == "UTC"


def test_integer_bounds_match_the_spec() -> None:
    minimums = {
        ("Execution", "spec.retry.retries"): 0,
        ("Execution", "status.attempt"): 1,
        ("Execution", "status.resumptions"): 0,
        ("ScheduledExecution", "spec.historyLimit"): 0,
        ("Function", "spec.concurrency.limit"): 1,
    }
    for (kind, path), minimum in minimums.items():
        node = _at(kind, path)
        assert (node["type"], node["minimum"]) == ("integer", minimum), f"{kind}.{path}"
    observed = _at("Execution", "status.observedGeneration")
    assert (observed["type"], observed["format"]) == ("integer", "int64")


def test_archived_execution_embeds_the_execution_spec_and_status_schemas() -> None:
    execution = _schema("Execution")["properties"]
    copy_ = _at("ArchivedExecution", "spec.execution")
    assert copy_["required"] == ["metadata", "spec"]
    for part in ("spec", "status"):
        assert _without_descriptions(copy_["properties"][part]) == _without_descriptions(execution[part])


def test_function_and_schedule_defaults_share_the_execution_setting_shapes() -> None:
    execution = _schema("Execution")["properties"]["spec"]["properties"]
    for kind in ("Function", "ScheduledExecution"):
        settings = _at(kind, EXECUTION_SETTINGS[kind])["properties"]
        for name in ("retry", "timeout", "ttl"):
            assert _without_descriptions(settings[name]) == _without_descriptions(execution[name]), kind
    mutex = _at("ScheduledExecution", "spec.executionDefaults.mutex")
    assert _without_descriptions(mutex) == _without_descriptions(execution["mutex"])


def test_archived_tree_is_base64_bytes_with_integer_counts() -> None:
    data = _at("ArchivedExecution", "spec.tree.data")
    assert (data["type"], data["format"]) == ("string", "byte")
    counts = _at("ArchivedExecution", "spec.tree.counts")["properties"]
    assert set(counts) == {"executions", "suspensions", "jobs"}
    assert all(c["type"] == "integer" for c in counts.values())


def test_scheduled_execution_status_tracks_active_runs_and_history() -> None:
    status = _at("ScheduledExecution", "status")["properties"]
    assert set(status) == {"lastScheduleTime", "nextScheduleTime", "active", "history"}
    assert status["active"]["items"]["type"] == "string"
    assert set(status["history"]["items"]["properties"]) == {"name", "phase", "startedAt", "finishedAt"}


def test_function_declares_arguments_defaults_concurrency_and_the_emulator_field() -> None:
    spec = _at("Function", "spec")["properties"]
    assert set(spec) == {
        "name",
        "workerGroup",
        "displayName",
        "description",
        "arguments",
        "defaults",
        "concurrency",
        "emulator",
    }
    argument = spec["arguments"]["items"]["properties"]
    assert set(argument) == {"name", "type", "description", "default", "enum", "required"}
    assert argument["enum"]["items"]["type"] == "string"
    assert argument["required"]["type"] == "boolean"
    assert set(spec["defaults"]["properties"]) == {"arguments", "retry", "timeout", "ttl"}
    emulator = spec["emulator"]
    assert emulator["type"] == "object"
    assert emulator["x-kubernetes-preserve-unknown-fields"] is True
    assert "sandbox emulator" in emulator["description"]
    assert "ignored by kontinue" in emulator["description"]
    assert set(_at("Function", "status")["properties"]) == {"lastRegisteredAt", "workers"}


# --- objects from the spec (section 11) and malformed ones --------------------------------------------

SPEC_EXAMPLES = """
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata:
  name: deploy-cluster-x7k2p
  namespace: infra
  labels: {kontinue.cloud/function: deploy-cluster, kontinue.cloud/worker-group: deployments}
spec:
  function: deploy-cluster
  arguments: {environment: production, replicas: 3, dryRun: false}
  retry: {retries: 3, backoff: 10s, childPolicy: RetryFailed}
  timeout: {attempt: 15m, overall: 2h}
  ttl: {archiveAfter: 1h, deleteAfter: 720h}
  mutex: {name: deploy-prod}
status:
  phase: Suspended
  reason: WaitingForChild
  message: "sleeping until 2025-03-01T11:06:05Z"
  observedGeneration: 1
  attempt: 2
  startedAt: "2025-03-01T10:00:00Z"
  attemptStartedAt: "2025-03-01T10:05:12Z"
  lastResumedAt: "2025-03-01T10:06:05Z"
  resumptions: 3
  progress: {current: 2, total: 3}
  state: {"store/0": {"clusterId": "c-123"}}
  children:
  - {kind: Job, name: deploy-cluster-x7k2p-a1b2c3d4, step: "0", attempt: 2}
  - {kind: Execution, name: deploy-cluster-x7k2p-3f9a01bc, step: "1", attempt: 2}
  - {kind: Suspension, name: deploy-cluster-x7k2p-91c0d2e4, step: "2", attempt: 2}
  attempts:
  - {attempt: 1, phase: Failed, reason: Error, message: "helm upgrade failed: timeout",
     startedAt: "2025-03-01T10:00:00Z", finishedAt: "2025-03-01T10:04:55Z"}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Execution
metadata: {name: deploy-cluster-x7k2p-3f9a01bc, namespace: infra}
spec: {function: run-smoke-tests, arguments: {cluster: c-123}}
status: {phase: Completed, reason: Succeeded, attempt: 1, startedAt: "2025-03-01T10:05:20Z",
         finishedAt: "2025-03-01T10:06:02Z", result: {passed: 42, failed: 0}}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Suspension
metadata: {name: deploy-cluster-x7k2p-91c0d2e4, namespace: infra}
spec: {type: Sleep, resumeAt: "2025-03-01T11:06:05Z"}
status: {phase: Suspended}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Suspension
metadata: {name: approve-change-4kq9z-0b1d77aa, namespace: infra}
spec: {type: Manual, message: "waiting for manual approval"}
status: {phase: Completed, resumedAt: "2025-03-02T09:00:00Z", resumedBy: Client, message: "Resumed by client"}
---
apiVersion: kontinue.cloud/v1alpha1
kind: ScheduledExecution
metadata: {name: nightly-tests, namespace: qa}
spec:
  schedule: "0 2 * * *"
  timeZone: UTC
  function: run-integration-tests
  arguments: {environment: staging, suite: full}
  historyLimit: 10
  suspend: false
  executionDefaults: {retry: {retries: 2, backoff: 30s}, ttl: {deleteAfter: 24h}}
status:
  lastScheduleTime: "2025-03-02T02:00:00Z"
  nextScheduleTime: "2025-03-03T02:00:00Z"
  active: [nightly-tests-1740880800]
  history:
  - {name: nightly-tests-1740794400, phase: Completed,
     startedAt: "2025-03-01T02:00:03Z", finishedAt: "2025-03-01T02:41:10Z"}
---
apiVersion: kontinue.cloud/v1alpha1
kind: Function
metadata: {name: deploy, namespace: infra, labels: {kontinue.cloud/worker-group: deployments}}
spec:
  name: deploy
  workerGroup: deployments
  displayName: "Deploy Application"
  description: "Deploys the application to the specified environment"
  arguments:
  - {name: environment, type: string, description: "Target environment", default: staging,
     enum: [staging, production]}
  - {name: version, type: string, description: "Version to deploy", required: true}
  - {name: dryRun, type: boolean, description: "Preview changes without applying", default: false}
  - {name: replicas, type: integer, description: "Number of replicas", default: 3}
  defaults:
    retry: {retries: 3, backoff: 30s, childPolicy: RetryFailed}
    timeout: {attempt: 15m, overall: 2h}
  concurrency: {limit: 5}
  emulator: {steps: [{sleep: 1s}], result: {ok: true}}
status: {lastRegisteredAt: "2025-03-01T08:00:00Z"}
---
apiVersion: kontinue.cloud/v1alpha1
kind: ArchivedExecution
metadata: {name: deploy-cluster-x7k2p, namespace: infra}
spec:
  archivedAt: "2025-03-01T12:10:00Z"
  execution:
    metadata: {name: deploy-cluster-x7k2p, namespace: infra, uid: 5d0c7a4e-0000-0000-0000-000000000001,
               creationTimestamp: "2025-03-01T09:59:58Z",
               labels: {kontinue.cloud/function: deploy-cluster, kontinue.cloud/worker-group: deployments}}
    spec: {function: deploy-cluster, arguments: {environment: production},
           ttl: {archiveAfter: 1h, deleteAfter: 720h}}
    status: {phase: Completed, reason: Succeeded, attempt: 2,
             startedAt: "2025-03-01T10:00:00Z", finishedAt: "2025-03-01T11:10:00Z",
             result: {endpoint: "https://c-123.example"}}
  tree:
    encoding: gzip+base64
    data: "@TREE_DATA@"
    counts: {executions: 4, suspensions: 1, jobs: 1}
status: {deleteAt: "2025-03-31T11:10:00Z"}
"""

# The tree of the spec's ArchivedExecution example (gzip+base64 of a tree document with empty lists).
TREE_DATA = (
    "H4sIAAAAAAACA6tWKkstKs7Mz1OyMtRRKsrPL1GyUkpJLcjJr9RNziktLkkt0q0wzzYqUNJRSq1ITS4tAaotVrKKjtVRKi4tLkjNK0YI"
    "ZOUngVm1AG0NPQ1WAAAA"
)

_DATE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$")
_FORMATS = jsonschema.FormatChecker(formats=())


def _is_date_time(value: object) -> bool:
    return not isinstance(value, str) or bool(_DATE_TIME.match(value))


def _is_base64(value: object) -> bool:
    if isinstance(value, str):
        base64.b64decode(value, validate=True)
    return True


_FORMATS.checks("date-time")(_is_date_time)
_FORMATS.checks("byte", raises=(binascii.Error,))(_is_base64)


def _as_json_schema(node: dict[str, Any]) -> dict[str, Any]:
    """The CRD schema as JSON Schema, where a field the API server would prune is an error instead."""
    dropped = ("description", "default")
    out = {k: v for k, v in node.items() if not k.startswith("x-kubernetes-") and k not in dropped}
    if "properties" in node:
        out["properties"] = {k: _as_json_schema(v) for k, v in node["properties"].items()}
        if not node.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    for key in ("items", "additionalProperties"):
        if isinstance(node.get(key), dict):
            out[key] = _as_json_schema(node[key])
    return out


def _validator(kind: str) -> jsonschema.Draft7Validator:
    schema = _as_json_schema(_schema(kind))
    schema["properties"]["metadata"] = {"type": "object"}
    return jsonschema.Draft7Validator(schema, format_checker=_FORMATS)


def _errors(obj: dict[str, Any]) -> list[str]:
    return [e.message for e in _validator(obj["kind"]).iter_errors(obj)]


def test_every_spec_example_is_valid_and_loses_no_field_to_pruning() -> None:
    examples = list(yaml.safe_load_all(SPEC_EXAMPLES.replace("@TREE_DATA@", TREE_DATA)))
    assert {e["kind"] for e in examples} == set(KINDS)
    for example in examples:
        assert _errors(example) == [], example["metadata"]["name"]


def test_the_status_result_may_be_any_json_value() -> None:
    for result in (3, "text", [1, {"a": "b"}], {"ok": True}, False):
        obj = {
            "apiVersion": f"{GROUP}/{VERSION}",
            "kind": "Execution",
            "metadata": {"name": "x"},
            "spec": {"function": "f"},
            "status": {"phase": "Completed", "result": result},
        }
        assert _errors(obj) == []


def _malformed() -> list[tuple[str, dict[str, Any]]]:
    execution = {"kind": "Execution", "spec": {"function": "f"}}
    cases: list[tuple[str, dict[str, Any], dict[str, Any]]] = [
        ("execution-without-spec", {"kind": "Execution"}, {}),
        ("execution-with-empty-function", execution, {"spec": {"function": ""}}),
        ("unknown-execution-phase", execution, {"status": {"phase": "Running"}}),
        ("backoff-not-a-duration", execution, {"spec": {"retry": {"backoff": "5 seconds"}}}),
        ("timeout-as-number", execution, {"spec": {"timeout": {"attempt": 30}}}),
        ("ttl-in-weeks", execution, {"spec": {"ttl": {"deleteAfter": "1w"}}}),
        ("negative-retries", execution, {"spec": {"retry": {"retries": -1}}}),
        ("retries-as-string", execution, {"spec": {"retry": {"retries": "3"}}}),
        ("unknown-child-policy", execution, {"spec": {"retry": {"childPolicy": "Sometimes"}}}),
        ("arguments-not-an-object", execution, {"spec": {"arguments": [1, 2]}}),
        ("mutex-without-name", execution, {"spec": {"mutex": {}}}),
        ("misspelled-spec-field", execution, {"spec": {"retires": 3}}),
        ("child-of-unknown-kind", execution, {"status": {"children": [{"kind": "Pod", "name": "p"}]}}),
        ("start-time-not-a-timestamp", execution, {"status": {"startedAt": "yesterday"}}),
        ("attempt-zero", execution, {"status": {"attempt": 0}}),
        ("unknown-status-field", execution, {"status": {"phaze": "Completed"}}),
        ("suspension-without-type", {"kind": "Suspension", "spec": {}}, {}),
        ("unknown-suspension-type", {"kind": "Suspension", "spec": {"type": "Forever"}}, {}),
        (
            "unknown-suspension-phase",
            {"kind": "Suspension", "spec": {"type": "Manual"}},
            {"status": {"phase": "Failed"}},
        ),
        ("schedule-without-cron", {"kind": "ScheduledExecution", "spec": {"function": "f"}}, {}),
        ("schedule-without-function", {"kind": "ScheduledExecution", "spec": {"schedule": "0 2 * * *"}}, {}),
        (
            "negative-history-limit",
            {
                "kind": "ScheduledExecution",
                "spec": {"schedule": "0 2 * * *", "function": "f", "historyLimit": -1},
            },
            {},
        ),
        (
            "schedule-default-bad-duration",
            {
                "kind": "ScheduledExecution",
                "spec": {
                    "schedule": "0 2 * * *",
                    "function": "f",
                    "executionDefaults": {"retry": {"backoff": "soon"}},
                },
            },
            {},
        ),
        ("argument-without-name", {"kind": "Function", "spec": {"arguments": [{"type": "string"}]}}, {}),
        (
            "argument-of-unknown-type",
            {"kind": "Function", "spec": {"arguments": [{"name": "a", "type": "str"}]}},
            {},
        ),
        ("concurrency-limit-zero", {"kind": "Function", "spec": {"concurrency": {"limit": 0}}}, {}),
        (
            "archive-without-execution",
            {"kind": "ArchivedExecution", "spec": {"archivedAt": "2025-03-01T12:10:00Z"}},
            {},
        ),
        (
            "archive-with-unknown-encoding",
            {
                "kind": "ArchivedExecution",
                "spec": {
                    "execution": {"metadata": {"name": "x"}, "spec": {"function": "f"}},
                    "tree": {"encoding": "zstd", "data": "aGVsbG8="},
                },
            },
            {},
        ),
        (
            "archive-data-not-base64",
            {
                "kind": "ArchivedExecution",
                "spec": {
                    "execution": {"metadata": {"name": "x"}, "spec": {"function": "f"}},
                    "tree": {"encoding": "gzip+base64", "data": "not base64!"},
                },
            },
            {},
        ),
    ]
    result = []
    for name, base, patch in cases:
        obj = {"apiVersion": f"{GROUP}/{VERSION}", "metadata": {"name": name}, **copy.deepcopy(base)}
        for key, value in patch.items():
            obj[key] = {**obj.get(key, {}), **value}
        result.append((name, obj))
    return result


@pytest.mark.parametrize(("case", "obj"), _malformed(), ids=[name for name, _ in _malformed()])
def test_malformed_objects_are_rejected(case: str, obj: dict[str, Any]) -> None:
    # Exactly one error: the case's own defect, on an object that is otherwise valid.
    assert len(_errors(obj)) == 1, f"{case}: {_errors(obj)}"
