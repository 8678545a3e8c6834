"""The plumbing every other suite stands on: a real API server serving the kontinue CRDs."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
from kubernetes import client as k8s
from kubernetes import watch
from kubernetes.client.exceptions import ApiException

from kontinue_sandbox import crds

GROUP, VERSION = "kontinue.cloud", "v1alpha1"
KINDS = {
    "executions": "Execution",
    "archivedexecutions": "ArchivedExecution",
    "suspensions": "Suspension",
    "scheduledexecutions": "ScheduledExecution",
    "functions": "Function",
}


def execution(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "Execution",
        "metadata": {"name": name},
        "spec": {"function": "deploy", "arguments": {"env": "prod"}, **spec},
    }


def test_every_kontinue_crd_is_established_and_served(admin_api: k8s.ApiClient) -> None:
    extensions = k8s.ApiextensionsV1Api(admin_api)
    for plural, kind in KINDS.items():
        crd = extensions.read_custom_resource_definition(f"{plural}.{GROUP}")
        conditions = {c.type: c.status for c in crd.status.conditions}
        assert conditions["Established"] == "True"
        assert conditions["NamesAccepted"] == "True"
        assert crd.spec.names.kind == kind
        assert crd.spec.versions[0].subresources.status is not None
    served = k8s.CustomObjectsApi(admin_api).get_api_resources(GROUP, VERSION).resources
    assert {r.name for r in served} >= set(KINDS) | {f"{p}/status" for p in KINDS}
    assert {r.name: r.short_names for r in served}["executions"] == ["kexec"]


def test_the_package_ships_exactly_the_installed_crds(admin_api: k8s.ApiClient) -> None:
    shipped = {m["metadata"]["name"] for m in crds.manifests()}
    installed = {
        c.metadata.name
        for c in k8s.ApiextensionsV1Api(admin_api).list_custom_resource_definition().items
        if c.spec.group == GROUP
    }
    assert shipped == installed == {f"{p}.{GROUP}" for p in KINDS}


def test_an_execution_is_created_and_read_back(admin_api: k8s.ApiClient, namespace: str) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", execution("deploy-1"))
    read = api.get_namespaced_custom_object(GROUP, VERSION, namespace, "executions", "deploy-1")
    assert read["spec"]["function"] == "deploy"
    assert read["spec"]["arguments"] == {"env": "prod"}
    assert read["metadata"]["uid"]


def test_schema_defaults_fill_in_retry_settings(admin_api: k8s.ApiClient, namespace: str) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    created = api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "executions", execution("with-retry", retry={"retries": 2})
    )
    assert created["spec"]["retry"] == {"retries": 2, "backoff": "5s", "childPolicy": "None"}


@pytest.mark.parametrize(
    ("case", "body", "field"),
    [
        ("missing function", {"spec": {"arguments": {}}}, "spec.function"),
        ("empty function", {"spec": {"function": ""}}, "spec.function"),
        ("arguments not an object", {"spec": {"function": "f", "arguments": "x"}}, "spec.arguments"),
        ("retries negative", {"spec": {"function": "f", "retry": {"retries": -1}}}, "spec.retry.retries"),
        (
            "unknown child policy",
            {"spec": {"function": "f", "retry": {"childPolicy": "Some"}}},
            "spec.retry.childPolicy",
        ),
        (
            "malformed duration",
            {"spec": {"function": "f", "timeout": {"attempt": "ten minutes"}}},
            "spec.timeout.attempt",
        ),
        ("mutex without name", {"spec": {"function": "f", "mutex": {}}}, "spec.mutex.name"),
    ],
)
def test_a_malformed_execution_is_rejected_by_the_schema(
    admin_api: k8s.ApiClient, namespace: str, case: str, body: dict[str, Any], field: str
) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    manifest = {"apiVersion": f"{GROUP}/{VERSION}", "kind": "Execution", "metadata": {"name": "bad"}, **body}
    with pytest.raises(ApiException) as raised:
        api.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", manifest)
    assert raised.value.status == 422, case
    assert field in raised.value.body, case


def test_an_unknown_phase_is_rejected_on_the_status_subresource(
    admin_api: k8s.ApiClient, namespace: str
) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", execution("phased"))
    with pytest.raises(ApiException) as raised:
        api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "executions", "phased", {"status": {"phase": "Exploded"}}
        )
    assert raised.value.status == 422
    assert "status.phase" in raised.value.body
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "executions", "phased", {"status": {"phase": "Executing"}}
    )


def test_status_is_a_subresource_that_spec_writes_cannot_touch(
    admin_api: k8s.ApiClient, namespace: str
) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    created = api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "executions", {**execution("sub"), "status": {"phase": "Completed"}}
    )
    assert "status" not in created
    assert created["metadata"]["generation"] == 1


def test_printer_columns_show_function_phase_and_age(admin_api: k8s.ApiClient, namespace: str) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    api.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", execution("shown"))
    api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "executions", "shown", {"status": {"phase": "Executing"}}
    )
    method, url, headers, _, _ = admin_api.param_serialize(
        "GET",
        f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/executions",
        header_params={"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"},
        auth_settings=["BearerToken"],
    )
    response = json.loads(admin_api.call_api(method, url, headers).read())
    columns = [c["name"] for c in response["columnDefinitions"]]
    assert columns[:4] == ["Name", "Function", "Phase", "Age"]
    assert response["rows"][0]["cells"][:3] == ["shown", "deploy", "Executing"]


def test_a_watch_sees_a_status_change(admin_api: k8s.ApiClient, namespace: str) -> None:
    api = k8s.CustomObjectsApi(admin_api)
    created = api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "executions", execution("watched")
    )
    seen: list[tuple[str, str | None]] = []
    watcher = watch.Watch()

    def write_status() -> None:
        api.patch_namespaced_custom_object_status(
            GROUP, VERSION, namespace, "executions", "watched", {"status": {"phase": "Completed"}}
        )

    threading.Timer(0.2, write_status).start()
    for event in watcher.stream(
        api.list_namespaced_custom_object,
        GROUP,
        VERSION,
        namespace,
        "executions",
        resource_version=created["metadata"]["resourceVersion"],
        timeout_seconds=10,
    ):
        seen.append((event["type"], event["object"].get("status", {}).get("phase")))
        if seen[-1] == ("MODIFIED", "Completed"):
            watcher.stop()
    assert seen == [("MODIFIED", "Completed")]


def test_the_viewer_may_read_but_rbac_forbids_creating(
    admin_api: k8s.ApiClient, viewer_api: k8s.ApiClient, namespace: str
) -> None:
    k8s.CustomObjectsApi(admin_api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, "executions", execution("visible")
    )
    as_viewer = k8s.CustomObjectsApi(viewer_api)
    listed = as_viewer.list_namespaced_custom_object(GROUP, VERSION, namespace, "executions")
    assert [i["metadata"]["name"] for i in listed["items"]] == ["visible"]
    with pytest.raises(ApiException) as raised:
        as_viewer.create_namespaced_custom_object(GROUP, VERSION, namespace, "executions", execution("nope"))
    assert raised.value.status == 403
    assert 'cannot create resource "executions"' in json.loads(raised.value.body)["message"]
    with pytest.raises(ApiException) as elsewhere:
        as_viewer.list_namespaced_custom_object(GROUP, VERSION, "default", "executions")
    assert elsewhere.value.status == 403
