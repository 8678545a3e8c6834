"""Users with limited rights in the sandbox, for tests of what RBAC allows and forbids.

A user is a client certificate (any name and groups, signed by the sandbox CA) or a service-account
token (minted through the API server's TokenRequest); either way it gets its own kubeconfig and only
the rights granted to it with ``grant``: RBAC decisions in tests are the real API server's.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.kubeconfig_writer import write_kubeconfig

# What the kontinue Python client needs in a namespace (kontinue-api.md §11.9).
KONTINUE_CLIENT_RULES: list[dict[str, Any]] = [
    {
        "apiGroups": ["kontinue.cloud"],
        "resources": ["executions", "archivedexecutions", "suspensions", "scheduledexecutions", "functions"],
        "verbs": ["get", "list", "watch"],
    },
    {"apiGroups": ["kontinue.cloud"], "resources": ["executions"], "verbs": ["create", "update", "patch"]},
    {
        "apiGroups": ["kontinue.cloud"],
        "resources": ["executions/status", "suspensions/status"],
        "verbs": ["update", "patch"],
    },
    {"apiGroups": ["kontinue.cloud"], "resources": ["scheduledexecutions"], "verbs": ["update", "patch"]},
    {"apiGroups": ["batch"], "resources": ["jobs"], "verbs": ["get", "list", "watch"]},
    {"apiGroups": [""], "resources": ["pods", "pods/log"], "verbs": ["get", "list"]},
]

# Read-only access to kontinue resources: can look, cannot spawn, cancel or resume.
KONTINUE_VIEWER_RULES: list[dict[str, Any]] = [KONTINUE_CLIENT_RULES[0]]


@dataclass(frozen=True)
class SandboxUser:
    """A sandbox user: the name RBAC sees, its groups, and a kubeconfig that authenticates as it."""

    name: str
    groups: tuple[str, ...]
    kubeconfig: Path
    token: str | None = None


def add_user(
    plane: ControlPlane,
    name: str,
    groups: tuple[str, ...] = (),
    *,
    auth: Literal["cert", "token"] = "cert",
    namespace: str = "default",
) -> SandboxUser:
    """Mint a user with no rights beyond discovery; grant it what a test needs with ``grant``.

    ``auth="cert"`` authenticates as exactly ``name`` in ``groups``. ``auth="token"`` creates the
    service account ``name`` in ``namespace`` and a bearer token for it; RBAC then sees
    ``system:serviceaccount:<namespace>:<name>``.
    """
    state = plane.state
    assert state is not None, "start the control plane first"
    users = Path(state.directory) / "users"
    users.mkdir(exist_ok=True)
    kubeconfig = users / f"kubeconfig-{name}"
    if auth == "cert":
        cert, key = plane.issue_client_cert(name, groups)
        write_kubeconfig(
            kubeconfig,
            server=state.server,
            ca_file=Path(state.ca_file),
            user=name,
            client_cert=cert,
            client_key=key,
            namespace=namespace,
        )
        return SandboxUser(name, groups, kubeconfig)
    with plane.api_client() as api:
        core = k8s.CoreV1Api(api)
        try:
            core.create_namespaced_service_account(namespace, {"metadata": {"name": name}})
        except ApiException as err:
            if err.status != 409:
                raise
        request = core.create_namespaced_service_account_token(
            name, namespace, {"spec": {"expirationSeconds": 24 * 3600}}
        )
    token: str = request.status.token
    write_kubeconfig(
        kubeconfig,
        server=state.server,
        ca_file=Path(state.ca_file),
        user=name,
        token=token,
        namespace=namespace,
    )
    account = f"system:serviceaccount:{namespace}:{name}"
    return SandboxUser(
        account, ("system:serviceaccounts", f"system:serviceaccounts:{namespace}"), kubeconfig, token
    )


def grant(
    api: k8s.ApiClient,
    user: str,
    rules: list[dict[str, Any]],
    *,
    namespace: str | None = None,
    role_name: str | None = None,
) -> None:
    """Grant ``user`` the RBAC ``rules`` in ``namespace`` (a Role) or cluster-wide (a ClusterRole)."""
    rbac = k8s.RbacAuthorizationV1Api(api)
    safe_user = user.replace(":", "-")
    role_name = role_name or f"kontinue-sandbox-{safe_user}"
    subject = {"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}
    if user.startswith("system:serviceaccount:"):
        _, _, sa_namespace, sa_name = user.split(":")
        subject = {"kind": "ServiceAccount", "name": sa_name, "namespace": sa_namespace}
    role = {"metadata": {"name": role_name}, "rules": rules}
    binding = {
        "metadata": {"name": role_name},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role" if namespace else "ClusterRole",
            "name": role_name,
        },
        "subjects": [subject],
    }
    if namespace:
        rbac.create_namespaced_role(namespace, role)
        rbac.create_namespaced_role_binding(namespace, binding)
    else:
        rbac.create_cluster_role(role)
        rbac.create_cluster_role_binding(binding)
    _wait_until_effective(api, user, rules[0], namespace)


def _wait_until_effective(api: k8s.ApiClient, user: str, rule: dict[str, Any], namespace: str | None) -> None:
    """Block until the API server's authorizer applies the new binding (it reads RBAC objects
    through an informer, so a grant takes a moment to count); then a test's next call is allowed."""
    groups = ["system:authenticated"]
    if user.startswith("system:serviceaccount:"):
        groups += ["system:serviceaccounts", f"system:serviceaccounts:{user.split(':')[2]}"]
    resource = rule["resources"][0]
    review = {
        "spec": {
            "user": user,
            "groups": groups,
            "resourceAttributes": {
                "namespace": namespace or "",
                "verb": rule["verbs"][0],
                "group": rule["apiGroups"][0],
                "resource": resource.split("/")[0],
                "subresource": resource.split("/")[1] if "/" in resource else "",
            },
        }
    }
    authorization = k8s.AuthorizationV1Api(api)
    deadline = time.monotonic() + 30
    while not authorization.create_subject_access_review(review).status.allowed:
        if time.monotonic() > deadline:
            raise TimeoutError(f"the grant to {user} did not take effect within 30 s")
        time.sleep(0.05)
