"""The kontinue connection: fields parsed, bad values named with the fix, secrets never shown."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import pytest
import yaml

from airflow_provider_kontinue.hooks.connection import (
    CONN_FIELDS,
    UI_FIELD_BEHAVIOUR,
    ConnectionFieldError,
    parse_extra,
    parse_settings,
)

KUBECONFIG: dict[str, Any] = {
    "apiVersion": "v1",
    "clusters": [{"name": "c", "cluster": {"server": "https://k8s.example:6443"}}],
    "users": [{"name": "u", "user": {"token": "s3cr3t-token-value", "client-key-data": "a2V5LWRhdGE="}}],
    "contexts": [{"name": "ctx", "context": {"cluster": "c", "user": "u", "namespace": "team"}}],
    "current-context": "ctx",
}


def test_every_field_is_parsed_and_typed() -> None:
    settings = parse_settings(
        "k",
        {
            "kube_config_path": " /etc/kube/config ",
            "context": "prod",
            "namespace": "pipelines",
            "impersonate": "system:serviceaccount:airflow:kontinue",
            "qps": "20",
            "burst": 40,
            "verify_ssl": "false",
            "ui_base_url": "https://kontinue.example.com/",
        },
    )
    assert settings.kubeconfig() == "/etc/kube/config"
    assert (settings.context, settings.namespace, settings.verify_ssl) == ("prod", "pipelines", False)
    assert settings.client_options() == {
        "impersonate": "system:serviceaccount:airflow:kontinue",
        "qps": 20.0,
        "burst": 40,
    }
    assert (
        settings.execution_url("ns", "run-1") == "https://kontinue.example.com/namespaces/ns/executions/run-1"
    )


def test_defaults_verify_tls_and_use_the_kubeconfig_defaults() -> None:
    settings = parse_settings("k", {})
    assert settings.verify_ssl is True
    assert settings.kubeconfig() is None
    assert settings.in_cluster is False
    assert settings.client_options() == {}
    assert settings.execution_url("ns", "x") is None


def test_an_inline_kubeconfig_becomes_a_dict_whose_secrets_are_listed_for_masking() -> None:
    for text in (yaml.safe_dump(KUBECONFIG), json.dumps(KUBECONFIG)):
        settings = parse_settings("k", {"kube_config_secret": text})
        assert settings.kubeconfig() == KUBECONFIG
        assert sorted(settings.secrets()) == ["a2V5LWRhdGE=", "s3cr3t-token-value"]
        assert "s3cr3t" not in repr(settings)


def test_the_ui_url_may_place_namespace_and_name_itself() -> None:
    settings = parse_settings("k", {"ui_base_url": "https://ui.example/#/{namespace}/{name}"})
    assert settings.execution_url("ns", "run") == "https://ui.example/#/ns/run"


def test_the_legacy_prefixed_field_names_are_accepted() -> None:
    assert parse_settings("k", {"extra__kontinue__namespace": "x"}).namespace == "x"


@pytest.mark.parametrize(
    ("extra", "field", "words"),
    [
        ({"namspace": "typo"}, "namspace", "is not a kontinue connection field"),
        ({"qps": "fast"}, "qps", "must be a number"),
        ({"burst": 2.5}, "burst", "must be a whole number"),
        ({"burst": -1}, "burst", "must not be negative"),
        ({"verify_ssl": "maybe"}, "verify_ssl", "must be true or false"),
        ({"namespace": 7}, "namespace", "must be a string"),
        ({"kube_config_secret": "clusters: [unclosed"}, "kube_config_secret", "is not valid YAML or JSON"),
        ({"kube_config_secret": "just text"}, "kube_config_secret", "does not look like a kubeconfig"),
        (
            {"kube_config": "x", "kube_config_secret": "y"},
            "kube_config",
            "conflicts with 'kube_config_secret'",
        ),
        ({"kube_config_path": "/a", "in_cluster": True}, "in_cluster", "conflicts with 'kube_config_path'"),
        ({"ui_base_url": "kontinue.example.com"}, "ui_base_url", "must start with http"),
    ],
)
def test_bad_fields_are_named_with_the_problem(extra: dict[str, Any], field: str, words: str) -> None:
    with pytest.raises(ConnectionFieldError) as caught:
        parse_settings("my_conn", extra)
    assert caught.value.field_name == field
    assert str(caught.value).startswith(f"connection 'my_conn', field {field!r}: ")
    assert words in str(caught.value)


def test_a_broken_inline_kubeconfig_is_never_echoed() -> None:
    with pytest.raises(ConnectionFieldError) as caught:
        parse_settings("k", {"kube_config_secret": "token: s3cr3t-value\n  bad: [indent"})
    assert "s3cr3t" not in str(caught.value)


def test_extra_arrives_as_json_text_or_a_dict() -> None:
    assert parse_extra('{"namespace": "a"}', "k") == {"namespace": "a"}
    assert parse_extra(None, "k") == {}
    with pytest.raises(ConnectionFieldError, match="field 'extra': is not a JSON object"):
        parse_extra("[1]", "k")


def test_the_form_declares_every_field_and_hides_the_standard_ones() -> None:
    assert set(CONN_FIELDS) == {
        "kube_config_path",
        "kube_config_secret",
        "context",
        "namespace",
        "in_cluster",
        "impersonate",
        "qps",
        "burst",
        "verify_ssl",
        "ui_base_url",
    }
    # A textarea: a kubeconfig is many lines (a password input drops the newlines).
    assert CONN_FIELDS["kube_config_secret"]["schema"]["format"] == "multiline"
    assert all(field["description"] for field in CONN_FIELDS.values())
    assert set(UI_FIELD_BEHAVIOUR["hidden-fields"]) == {"host", "schema", "login", "password", "port"}


def test_the_inline_kubeconfig_field_has_a_name_airflow_redacts() -> None:
    from airflow._shared import secrets_masker

    # Airflow's own redaction, as the REST API applies it to a connection's extra.
    should_hide_value_for_key = cast("Callable[[str], bool]", secrets_masker.should_hide_value_for_key)
    redact = cast("Callable[[object], object]", secrets_masker.redact)
    assert should_hide_value_for_key("kube_config_secret")
    assert should_hide_value_for_key("extra__kontinue__kube_config_secret")
    assert redact({"kube_config_secret": yaml.safe_dump(KUBECONFIG)}) == {"kube_config_secret": "***"}
    # Why the field was renamed: the old name is not redacted.
    assert not should_hide_value_for_key("kube_config")


def test_the_old_inline_kubeconfig_field_is_still_read_with_a_warning_naming_the_new_one() -> None:
    with pytest.warns(FutureWarning, match="rename it to 'kube_config_secret'"):
        settings = parse_settings("k", {"kube_config": yaml.safe_dump(KUBECONFIG)})
    assert settings.kubeconfig() == KUBECONFIG
