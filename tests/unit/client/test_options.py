"""Options: the Go client's defaults, server-side selectors, and refusal of bad input by field name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic
import pytest

from airflow_provider_kontinue.client import (
    CancelOptions,
    ChildPolicy,
    ExecutionPhase,
    ExecutionTTL,
    KontinueError,
    ListFunctionsOptions,
    ListOptions,
    Options,
    ResumeOptions,
    RetryOptions,
    ScheduleListOptions,
    SkipOptions,
    SpawnOptions,
    ValidationError,
    validate_execution_name,
    validate_label_key,
    validate_label_value,
    validate_name,
    validate_namespace,
)

# --- Defaults -------------------------------------------------------------------------------------


def test_defaults_match_the_go_client() -> None:
    assert Options() == Options(impersonate=None, qps=5.0, burst=10)
    assert CancelOptions().message == "Canceled by client"
    assert SkipOptions().message == "Skipped by client"
    assert SkipOptions().result is None
    assert RetryOptions().child_policy is None
    assert ResumeOptions().recursive is False
    assert ListFunctionsOptions() == ListFunctionsOptions(include_hidden=False, worker_group=None)
    assert ListOptions().only_root is False


@pytest.mark.parametrize("zero", [0, 0.0, None])
def test_zero_qps_and_burst_mean_the_defaults(zero: Any) -> None:
    options = Options(qps=zero, burst=zero, impersonate="")

    assert (options.qps, options.burst, options.impersonate) == (5.0, 10, None)


def test_negative_rate_limits_are_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"Options\.burst") as caught:
        Options(burst=-1)

    assert caught.value.field == "Options.burst"


@pytest.mark.parametrize(("given", "expected"), [("", "Canceled by client"), ("Aborted", "Aborted")])
def test_empty_cancel_message_means_the_default(given: str, expected: str) -> None:
    assert CancelOptions(message=given).message == expected


# --- Selectors (spec §9.4) ------------------------------------------------------------------------


def test_only_root_selects_executions_without_a_parent_label() -> None:
    assert ListOptions(only_root=True).label_selector_string() == "!kontinue.cloud/parent"


def test_selector_ands_every_filter_in_spec_order() -> None:
    options = ListOptions(
        label_selector={"team": "a", "app.kubernetes.io/name": "shop"},
        function="deploy-cluster",
        root="deploy-cluster-x7k2p",
        schedule="nightly-tests",
        worker_group="deployments",
        only_root=True,
    )

    assert options.label_selector_string() == (
        "kontinue.cloud/function=deploy-cluster,"
        "kontinue.cloud/root=deploy-cluster-x7k2p,"
        "kontinue.cloud/schedule=nightly-tests,"
        "kontinue.cloud/worker-group=deployments,"
        "!kontinue.cloud/parent,"
        "app.kubernetes.io/name=shop,"
        "team=a"
    )


def test_archive_selector_drops_the_root_term() -> None:
    options = ListOptions(function="deploy", root="deploy-x7k2p", only_root=True)

    assert options.archive_label_selector_string() == "kontinue.cloud/function=deploy,!kontinue.cloud/parent"
    assert "kontinue.cloud/root" in options.label_selector_string()


def test_no_filters_select_everything() -> None:
    assert ListOptions().label_selector_string() == ""
    assert ListOptions().archive_label_selector_string() == ""


def test_empty_strings_mean_no_filter_as_in_go() -> None:
    options = ListOptions(function="", root="", schedule="", worker_group="")

    assert options.label_selector_string() == ""
    assert options.function is None


def test_a_filter_repeated_in_label_selector_is_sent_once() -> None:
    options = ListOptions(function="deploy", label_selector={"kontinue.cloud/function": "deploy"})

    assert options.label_selector_string() == "kontinue.cloud/function=deploy"


@pytest.mark.parametrize("field", ["function", "root", "schedule", "worker_group"])
@pytest.mark.parametrize("value", ["a=b,c!=d", "a,b", "x y", "-leading", "trailing.", "a" * 64, "é"])
def test_label_value_with_a_comma_is_refused_naming_the_field(field: str, value: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ListOptions.coerce({field: value})

    assert caught.value.field == f"ListOptions.{field}"
    assert f"ListOptions.{field}" in str(caught.value)
    assert repr(value) in str(caught.value)


@pytest.mark.parametrize(
    ("selector", "field"),
    [
        ({"team": "a,b=c"}, "ListOptions.label_selector['team']"),
        ({"a,b": "c"}, "ListOptions.label_selector['a,b']"),
        ({"!kontinue.cloud/parent": "x"}, "ListOptions.label_selector['!kontinue.cloud/parent']"),
        ({"Example.com/a": "x"}, "ListOptions.label_selector['Example.com/a']"),
        ({"a/b/c": "x"}, "ListOptions.label_selector['a/b/c']"),
        ({"": "x"}, "ListOptions.label_selector['']"),
    ],
)
def test_label_selector_injection_in_a_key_or_value_is_refused(selector: dict[str, str], field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        ListOptions(label_selector=selector)

    assert caught.value.field == field


def test_empty_label_selector_value_is_a_valid_equality() -> None:
    assert ListOptions(label_selector={"team": ""}).label_selector_string() == "team="


def test_assignment_is_validated_too() -> None:
    options = ListOptions()

    with pytest.raises(ValidationError, match=r"ListOptions\.root"):
        options.root = "x,kontinue.cloud/function!=y"


def test_unknown_option_is_refused() -> None:
    with pytest.raises(ValidationError, match="unknown option") as caught:
        ListOptions(only_roots=True)  # type: ignore[call-arg]

    assert caught.value.field == "ListOptions.only_roots"


def test_option_errors_are_kontinue_and_value_errors_not_pydantic_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        ListOptions(only_root="maybe")  # type: ignore[arg-type]

    assert isinstance(caught.value, KontinueError)
    assert isinstance(caught.value, ValueError)
    assert not isinstance(caught.value, pydantic.ValidationError)
    assert caught.value.field == "ListOptions.only_root"


# --- Phases ---------------------------------------------------------------------------------------


def test_phases_accept_strings_and_single_values() -> None:
    assert ListOptions(phases=["Failed", ExecutionPhase.CANCELED]).phases == [
        ExecutionPhase.FAILED,
        ExecutionPhase.CANCELED,
    ]
    assert ListOptions(phases="Completed").phases == [ExecutionPhase.COMPLETED]


def test_misspelt_phase_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError, match=r"ListOptions\.phases"):
        ListOptions(phases=["Complete"])  # type: ignore[list-item]


def test_phase_filter_accepts_everything_when_empty_and_only_listed_phases_otherwise() -> None:
    assert ListOptions().accepts_phase("Paused")
    assert ListOptions(phases=["Failed"]).accepts_phase(ExecutionPhase.FAILED)
    assert ListOptions(phases=["Failed"]).accepts_phase("Failed")
    assert not ListOptions(phases=["Failed"]).accepts_phase(ExecutionPhase.COMPLETED)


# --- Spawn ----------------------------------------------------------------------------------------


def test_spawn_options_coerce_spec_settings_from_plain_values() -> None:
    options = SpawnOptions(
        name="deploy-1",
        namespace="infra",
        retry={"retries": 3, "backoff": "30s", "childPolicy": "RetryFailed"},
        ttl=ExecutionTTL(delete_after=timedelta(hours=24)),
        timeout={"attempt": "15m"},
        mutex={"name": "deploy-prod"},
        labels={"airflow.apache.org/dag-id": "nightly"},
        annotations={"kontinue.cloud/display-name": "Nightly deploy"},
    )

    assert options.retry is not None
    assert options.retry.backoff == timedelta(seconds=30)
    assert options.retry.to_dict() == {"retries": 3, "backoff": "30s", "childPolicy": "RetryFailed"}
    assert options.ttl is not None
    assert options.ttl.to_dict() == {"deleteAfter": "24h"}
    assert options.mutex is not None
    assert options.mutex.name == "deploy-prod"


def test_spawn_name_longer_than_63_characters_is_refused() -> None:
    with pytest.raises(ValidationError, match="at most 63") as caught:
        SpawnOptions(name="a" * 64)

    assert caught.value.field == "SpawnOptions.name"


@pytest.mark.parametrize("name", ["Deploy", "deploy_1", "-deploy", "deploy-", "de ploy"])
def test_spawn_name_must_be_a_dns_name(name: str) -> None:
    with pytest.raises(ValidationError, match=r"SpawnOptions\.name"):
        SpawnOptions(name=name)


def test_spawn_namespace_must_be_a_dns_label() -> None:
    with pytest.raises(ValidationError, match=r"SpawnOptions\.namespace"):
        SpawnOptions(namespace="team.a")


def test_spawn_options_refuse_unknown_fields_inside_spec_settings() -> None:
    with pytest.raises(ValidationError) as caught:
        SpawnOptions(retry={"retires": 3})  # type: ignore[arg-type]

    assert caught.value.field == "SpawnOptions.retry.retires"


def test_spawn_options_refuse_bad_durations_naming_the_value() -> None:
    with pytest.raises(ValidationError, match="'soon'") as caught:
        SpawnOptions(timeout={"attempt": "soon"})

    assert caught.value.field == "SpawnOptions.timeout.attempt"


def test_spawn_labels_under_the_kontinue_prefix_are_reserved() -> None:
    with pytest.raises(ValidationError, match="set by kontinue"):
        SpawnOptions(labels={"kontinue.cloud/parent": "someone-else"})


def test_spawn_cannot_mark_an_execution_archived() -> None:
    with pytest.raises(ValidationError, match="reserved"):
        SpawnOptions(annotations={"kontinue.cloud/archived": "true"})


def test_spawn_label_values_are_checked() -> None:
    with pytest.raises(ValidationError, match=r"SpawnOptions\.labels\['team'\]"):
        SpawnOptions(labels={"team": "a b"})


# --- Skip, retry, functions, schedules ------------------------------------------------------------


@dataclass
class _Outcome:
    status: str
    count: int


class _Report(pydantic.BaseModel):
    status: str


def test_skip_result_is_turned_into_plain_json() -> None:
    assert SkipOptions(result=_Outcome("skipped", 0)).result_json() == {"status": "skipped", "count": 0}
    assert SkipOptions(result=_Report(status="ok")).result_json() == {"status": "ok"}
    assert SkipOptions(result=[1, "a", None]).result_json() == [1, "a", None]
    assert SkipOptions().result_json() is None


@pytest.mark.parametrize("result", [object(), float("nan"), {"when": lambda: 1}])
def test_skip_result_that_is_not_json_is_refused_before_any_write(result: Any) -> None:
    with pytest.raises(ValidationError, match=r"SkipOptions\.result"):
        SkipOptions(result=result)


def test_retry_child_policy_accepts_server_spelling() -> None:
    assert RetryOptions(child_policy="RetryAll").child_policy is ChildPolicy.RETRY_ALL
    assert RetryOptions(child_policy="").child_policy is None  # type: ignore[arg-type]
    with pytest.raises(ValidationError, match=r"RetryOptions\.child_policy"):
        RetryOptions(child_policy="RetryMost")  # type: ignore[arg-type]


def test_function_listing_selects_by_worker_group() -> None:
    assert ListFunctionsOptions(worker_group="deployments").label_selector_string() == (
        "kontinue.cloud/worker-group=deployments"
    )
    assert ListFunctionsOptions().label_selector_string() == ""
    with pytest.raises(ValidationError, match=r"ListFunctionsOptions\.worker_group"):
        ListFunctionsOptions(worker_group="a,b")


def test_schedule_listing_sends_only_the_label_selector() -> None:
    options = ScheduleListOptions(function="run-integration-tests", label_selector={"tier": "qa", "app": "x"})

    assert options.label_selector_string() == "app=x,tier=qa"
    with pytest.raises(ValidationError, match=r"ScheduleListOptions\.label_selector"):
        ScheduleListOptions(label_selector={"tier": "qa,prod"})


def test_coerce_accepts_none_a_mapping_or_an_instance() -> None:
    given = ListOptions(only_root=True)

    assert ListOptions.coerce(None) == ListOptions()
    assert ListOptions.coerce(given) is given
    assert ListOptions.coerce({"only_root": True}) == given
    with pytest.raises(ValidationError, match="expected ListOptions"):
        ListOptions.coerce("only_root")  # type: ignore[arg-type]


# --- Name and label checks ------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["deploy", "deploy-cluster-x7k2p", "a.b-c", "0abc", "a" * 253])
def test_valid_object_names_pass_unchanged(name: str) -> None:
    assert validate_name(name, "name") == name


@pytest.mark.parametrize("name", ["", "Deploy", "a_b", "a..b", ".a", "a-", "a" * 254])
def test_invalid_object_names_are_refused_naming_the_field(name: str) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_name(name, "Execution.metadata.name")

    assert caught.value.field == "Execution.metadata.name"


def test_execution_names_are_limited_to_63_characters_because_they_are_label_values() -> None:
    assert validate_execution_name("a" * 63) == "a" * 63
    with pytest.raises(ValidationError, match="at most 63"):
        validate_execution_name("a" * 64)


def test_namespace_is_a_dns_label_without_dots() -> None:
    assert validate_namespace("team-a") == "team-a"
    with pytest.raises(ValidationError, match="namespace"):
        validate_namespace("team.a")


def test_label_syntax_checks() -> None:
    assert validate_label_value("", "v") == ""
    assert validate_label_value("A-b_c.9", "v") == "A-b_c.9"
    assert validate_label_key("kontinue.cloud/worker-group", "k") == "kontinue.cloud/worker-group"
    assert validate_label_key("Team_Name", "k") == "Team_Name"
    with pytest.raises(ValidationError, match="prefix"):
        validate_label_key("/name", "k")
    with pytest.raises(ValidationError, match="expected a string"):
        validate_label_value(3, "v")  # type: ignore[arg-type]


# --- Exact messages and limits --------------------------------------------------------------------


def _refusal(call: Any, *args: Any, **kwargs: Any) -> ValidationError:
    with pytest.raises(ValidationError) as caught:
        call(*args, **kwargs)
    return caught.value


def test_an_unknown_option_is_named_with_its_model() -> None:
    error = _refusal(SpawnOptions, nmae="x")
    assert str(error) == "SpawnOptions.nmae: unknown option"
    assert error.field == "SpawnOptions.nmae"


def test_an_unknown_field_inside_a_spec_setting_says_so() -> None:
    error = _refusal(SpawnOptions, retry={"retires": 3})
    assert str(error) == "SpawnOptions.retry.retires: unknown field"


def test_coerce_names_what_it_got() -> None:
    error = _refusal(CancelOptions.coerce, 3)
    assert str(error) == "CancelOptions: expected CancelOptions, a mapping or None, got int"
    assert error.field == "CancelOptions"


def test_a_result_that_is_not_json_is_refused_naming_the_field() -> None:
    error = _refusal(SkipOptions, result=float("nan"))
    assert str(error).startswith("SkipOptions.result: not JSON-serialisable: ")
    assert error.field == "SkipOptions.result"
    options = SkipOptions(result={"a": 1})
    options.__dict__["result"] = object()  # past the validator: result_json checks again
    assert _refusal(options.result_json).field == "SkipOptions.result"


def test_type_errors_name_the_field_and_the_type() -> None:
    error = _refusal(validate_name, 3, "f")
    assert (str(error), error.field) == ("f: expected a string, got int", "f")
    for check in (validate_namespace, validate_execution_name):
        assert _refusal(check, 3).field in ("namespace", "name")
    assert _refusal(validate_label_key, 3, "k").field == "k"
    assert _refusal(validate_label_value, 3, "v").field == "v"


def test_default_field_names() -> None:
    assert _refusal(validate_execution_name, "").field == "name"
    assert str(_refusal(validate_execution_name, "")) == "name: must not be empty"
    assert _refusal(validate_namespace, "").field == "namespace"
    assert str(_refusal(validate_namespace, "")) == "namespace: must not be empty"
    assert _refusal(validate_namespace, "A").field == "namespace"


def test_refusal_messages_say_the_rule() -> None:
    assert str(_refusal(validate_name, "A", "f")) == (
        "f: 'A' is not a valid name: lowercase letters, digits, '-' and '.', starting and ending with a "
        "letter or digit"
    )
    assert str(_refusal(validate_namespace, "A", "ns")) == (
        "ns: 'A' is not a valid namespace: at most 63 lowercase letters, digits and '-', starting and "
        "ending with a letter or digit"
    )
    assert str(_refusal(validate_name, "", "f")) == "f: must not be empty"


def test_the_length_limits_are_inclusive() -> None:
    assert validate_namespace("a" * 63) == "a" * 63
    assert validate_label_value("a" * 63, "v") == "a" * 63
    assert validate_label_key("a" * 63, "k") == "a" * 63
    assert validate_label_key("a" * 253 + "/b", "k") == "a" * 253 + "/b"
    with pytest.raises(ValidationError, match="prefix"):
        validate_label_key("a" * 254 + "/b", "k")
    with pytest.raises(ValidationError, match="name part"):
        validate_label_key("a" * 64, "k")
