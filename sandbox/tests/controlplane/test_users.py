"""Users minted by the sandbox authenticate as who they claim and get only what RBAC grants."""

from __future__ import annotations

import json

import pytest
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_CLIENT_RULES, add_user, grant


def whoami(api: k8s.ApiClient) -> tuple[str, list[str]]:
    review = k8s.AuthenticationV1Api(api).create_self_subject_review(
        {"apiVersion": "authentication.k8s.io/v1", "kind": "SelfSubjectReview"}
    )
    info = review.status.user_info
    return info.username, info.groups


def test_a_certificate_user_authenticates_with_its_name_and_groups(control_plane: ControlPlane) -> None:
    user = add_user(control_plane, "carol", ("data-team", "analysts"))
    with control_plane.api_client(user.kubeconfig) as api:
        name, groups = whoami(api)
    assert name == "carol"
    assert {"data-team", "analysts", "system:authenticated"} <= set(groups)


def test_a_token_user_is_a_service_account_with_a_bearer_token(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, namespace: str
) -> None:
    user = add_user(control_plane, "robot", auth="token", namespace=namespace)
    assert user.token
    assert user.name == f"system:serviceaccount:{namespace}:robot"
    with control_plane.api_client(user.kubeconfig) as api:
        assert whoami(api)[0] == user.name
        custom = k8s.CustomObjectsApi(api)
        with pytest.raises(ApiException) as raised:
            custom.list_namespaced_custom_object("kontinue.cloud", "v1alpha1", namespace, "executions")
        assert raised.value.status == 403
        grant(admin_api, user.name, KONTINUE_CLIENT_RULES, namespace=namespace)
        assert (
            custom.list_namespaced_custom_object("kontinue.cloud", "v1alpha1", namespace, "executions")[
                "items"
            ]
            == []
        )


def test_the_admin_may_impersonate_a_user_whom_rbac_then_limits(
    control_plane: ControlPlane, namespace: str
) -> None:
    with control_plane.api_client() as api:
        api.set_default_header("Impersonate-User", "mallory")
        assert whoami(api)[0] == "mallory"
        with pytest.raises(ApiException) as raised:
            k8s.CustomObjectsApi(api).list_namespaced_custom_object(
                "kontinue.cloud", "v1alpha1", namespace, "executions"
            )
    assert raised.value.status == 403
    assert 'User "mallory" cannot list resource "executions"' in json.loads(raised.value.body)["message"]
