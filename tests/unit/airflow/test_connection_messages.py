"""A bad connection field is refused with a message naming the connection, the field and the fix;
the hook masks every secret an inline kubeconfig holds before anything is logged."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_kontinue.hooks import kontinue as hook_module
from airflow_provider_kontinue.hooks.connection import (
    CONN_FIELDS,
    ConnectionFieldError,
    KontinueConnectionSettings,
    connection_json,
    parse_extra,
    parse_settings,
)

KUBECONFIG = {"clusters": [{"name": "c"}], "users": [{"name": "u", "user": {"token": "t0ken"}}]}


def refusal(extra: Any) -> str:
    with pytest.raises(ConnectionFieldError) as err:
        parse_settings("kc", parse_extra(extra, "kc"))
    assert err.value.conn_id == "kc"
    return str(err.value)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"namespace": 3}, "connection 'kc', field 'namespace': must be a string, got int"),
        (
            {"kube_config_secret": 3},
            "connection 'kc', field 'kube_config_secret': must be the kubeconfig's YAML or JSON text",
        ),
        (
            {"kube_config_secret": "a: [b"},
            "connection 'kc', field 'kube_config_secret': is not valid YAML or JSON; "
            "paste the whole kubeconfig file",
        ),
        (
            {"kube_config_secret": "users: []"},
            "connection 'kc', field 'kube_config_secret': does not look like a kubeconfig (no 'clusters'); "
            "paste the whole file, or use kube_config_path",
        ),
        ({"kube_config_secret": "[clusters]"}, "does not look like a kubeconfig"),
        ("[1]", "connection 'kc', field 'extra': is not a JSON object"),
        ("{not json", "connection 'kc', field 'extra': is not a JSON object"),
        ({"qps": -1}, "connection 'kc', field 'qps': must not be negative (0 means the default), got -1"),
        ({"burst": "2.5"}, "connection 'kc', field 'burst': must be a whole number, got '2.5'"),
        (
            {"ui_base_url": "ftp://x"},
            "connection 'kc', field 'ui_base_url': must start with http:// or https://",
        ),
        (
            {"namspace": "x"},
            "connection 'kc', field 'namspace': is not a kontinue connection field; known fields: ",
        ),
    ],
)
def test_each_refusal_names_the_connection_the_field_and_the_problem(extra: Any, message: str) -> None:
    assert message in refusal(extra)


def test_empty_rate_limits_mean_unset() -> None:
    settings = parse_settings("kc", {"qps": "", "burst": ""})
    assert (settings.qps, settings.burst) == (None, None)


def test_an_unknown_field_lists_every_known_one() -> None:
    assert refusal({"namspace": "x"}).endswith("known fields: " + ", ".join(CONN_FIELDS))


def test_the_ui_link_drops_only_trailing_slashes() -> None:
    settings = KontinueConnectionSettings(conn_id="kc", ui_base_url="https://ui/X/")
    assert settings.execution_url("ns", "run") == "https://ui/X/namespaces/ns/executions/run"


def test_zero_rate_limits_are_kept_as_zero_meaning_the_clients_default() -> None:
    settings = parse_settings("kc", {"qps": 0, "burst": "0"})
    assert (settings.qps, settings.burst) == (0.0, 0)
    assert settings.client_options() == {"qps": 0.0, "burst": 0}


def test_burst_is_a_whole_number_and_qps_may_be_fractional() -> None:
    settings = parse_settings("kc", {"qps": "2.5", "burst": "7"})
    assert settings.qps == 2.5
    assert settings.burst == 7
    assert isinstance(settings.burst, int)


def test_flags_accept_words_in_any_case() -> None:
    assert parse_settings("kc", {"in_cluster": " TRUE "}).in_cluster is True
    assert parse_settings("kc", {"verify_ssl": "Off"}).verify_ssl is False


def test_an_empty_inline_kubeconfig_or_extra_means_none() -> None:
    assert parse_settings("kc", {"kube_config_secret": ""}).kube_config is None
    assert parse_extra("", "kc") == {}
    assert parse_extra({"a": 1}, "kc") == {"a": 1}
    assert parse_settings("kc", {"kube_config_secret": KUBECONFIG}).kube_config == KUBECONFIG


def test_text_fields_are_parsed_for_every_connection_field() -> None:
    settings = parse_settings(
        "kc", {"kube_config_path": " /k ", "context": "ctx", "impersonate": "me", "ui_base_url": "https://ui"}
    )
    assert settings.conn_id == "kc"
    assert (settings.kube_config_path, settings.context, settings.impersonate) == ("/k", "ctx", "me")
    with pytest.raises(ConnectionFieldError, match="'kc', field 'context'"):
        parse_settings("kc", {"context": 1})
    with pytest.raises(ConnectionFieldError, match="'kc', field 'impersonate'"):
        parse_settings("kc", {"impersonate": 1})
    with pytest.raises(ConnectionFieldError, match="'kc', field 'ui_base_url'"):
        parse_settings("kc", {"ui_base_url": 1})
    with pytest.raises(ConnectionFieldError, match="'kc', field 'kube_config_path'"):
        parse_settings("kc", {"kube_config_path": 1})
    with pytest.raises(ConnectionFieldError, match="'kc', field 'in_cluster'"):
        parse_settings("kc", {"in_cluster": "maybe"})


def test_an_http_ui_url_is_accepted_and_builds_execution_links() -> None:
    settings = parse_settings("kc", {"ui_base_url": "http://ui/"})
    assert settings.execution_url("ns", "run") == "http://ui/namespaces/ns/executions/run"
    only_name = KontinueConnectionSettings(conn_id="kc", ui_base_url="http://ui/x/{name}")
    assert only_name.execution_url("ns", "run") == "http://ui/x/run"
    only_namespace = KontinueConnectionSettings(conn_id="kc", ui_base_url="http://ui/{namespace}")
    assert only_namespace.execution_url("ns", "run") == "http://ui/ns"


def test_the_hook_masks_every_secret_of_the_inline_kubeconfig(monkeypatch: pytest.MonkeyPatch) -> None:
    masked: list[str] = []
    monkeypatch.setattr("airflow.sdk.log.mask_secret", masked.append)
    settings = parse_settings("kc", {"kube_config_secret": KUBECONFIG})
    hook_module._mask(settings, json.dumps({"kube_config_secret": json.dumps(KUBECONFIG)}))
    assert masked == ["t0ken", json.dumps(KUBECONFIG)]  # the token, and the inline text as a whole


@pytest.mark.parametrize("key", ["kube_config_secret", "kube_config", "extra__kontinue__kube_config_secret"])
def test_the_inline_kubeconfig_text_is_a_secret_under_every_name_it_may_have(key: str) -> None:
    text = json.dumps(KUBECONFIG)
    settings = parse_settings("kc", {"kube_config_secret": KUBECONFIG})
    assert hook_module._secrets(settings, json.dumps({key: text})) == ["t0ken", text]


def test_no_inline_kubeconfig_means_nothing_but_its_secrets_to_mask() -> None:
    path_only = parse_settings("kc", {"kube_config_path": "/k"})
    assert hook_module._secrets(path_only, json.dumps({"kube_config_path": "/k"})) == []
    inline = parse_settings("kc", {"kube_config_secret": KUBECONFIG})
    assert hook_module._secrets(inline, None) == ["t0ken"]
    assert hook_module._secrets(inline, json.dumps({"kube_config_secret": KUBECONFIG})) == ["t0ken"]


async def test_the_async_hook_masks_the_same_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    masked: list[str] = []

    async def amask(secret: str) -> None:
        masked.append(secret)

    monkeypatch.setattr("airflow.sdk.log.amask_secret", amask)
    settings = parse_settings("kc", {"kube_config_secret": KUBECONFIG})
    text = json.dumps(KUBECONFIG)
    await hook_module._amask(settings, json.dumps({"kube_config_secret": text}))
    assert masked == ["t0ken", text]


def test_connection_json_is_airflows_form_with_only_the_fields_given() -> None:
    text = connection_json("/k/config", "team-a", qps=2.5, burst=None)
    extra = '{"kube_config_path": "/k/config", "namespace": "team-a", "qps": 2.5}'
    assert text == '{"conn_type": "kontinue", "extra": ' + extra + "}"
    assert json.loads(connection_json("/k"))["extra"] == {"kube_config_path": "/k"}
    assert connection_json("/k", burst=3).index('"burst"') < connection_json("/k", burst=3).index('"kube')
    with pytest.raises(ConnectionFieldError, match="'connection_json', field 'qps'"):
        connection_json("/k", qps=-1)
