"""Credentials that really stop working, for the rotation tests: service-account tokens bound to
a Secret (deleting the Secret revokes the token at once), handed to the client by a token file or
by a small exec plugin, in a kubeconfig of their own."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_CLIENT_RULES, grant

ACCOUNT = "rotor"


class Minter:
    """Service-account tokens bound to Secrets: ``revoke`` deletes the Secret, killing its token."""

    def __init__(self, api: k8s.ApiClient, namespace: str) -> None:
        self.core = k8s.CoreV1Api(api)
        self.namespace = namespace
        self.count = 0
        self.core.create_namespaced_service_account(namespace, {"metadata": {"name": ACCOUNT}})
        grant(api, f"system:serviceaccount:{namespace}:{ACCOUNT}", KONTINUE_CLIENT_RULES, namespace=namespace)

    def mint(self) -> tuple[str, str]:
        self.count += 1
        name = f"rotor-{self.count}"
        secret = self.core.create_namespaced_secret(self.namespace, {"metadata": {"name": name}})
        bound = {"kind": "Secret", "apiVersion": "v1", "name": name, "uid": secret.metadata.uid}
        request = self.core.create_namespaced_service_account_token(
            ACCOUNT, self.namespace, {"spec": {"expirationSeconds": 3600, "boundObjectRef": bound}}
        )
        return name, str(request.status.token)

    def revoke(self, secret: str, token: str, server: ControlPlane) -> None:
        """Delete the Secret and wait until the API server refuses its token."""
        self.core.delete_namespaced_secret(secret, self.namespace)
        configuration = k8s.Configuration()
        configuration.host = server.server
        deadline = time.monotonic() + 30
        document = yaml.safe_load(server.kubeconfig.read_text())
        configuration.ssl_ca_cert = document["clusters"][0]["cluster"]["certificate-authority"]
        while time.monotonic() < deadline:
            configuration.api_key["BearerToken"] = f"Bearer {token}"
            with k8s.ApiClient(configuration) as api:
                try:
                    k8s.CoreV1Api(api).list_namespaced_pod(self.namespace)
                except ApiException as err:
                    if err.status == 401:
                        return
            time.sleep(0.1)
        raise AssertionError("the revoked token still works after 30 s")


def kubeconfig_for(plane: ControlPlane, tmp_path: Path, user: dict[str, Any], server: str = "") -> Path:
    """``plane``'s kubeconfig with ``user`` as its only user (and ``server``, e.g. a proxy, if given)."""
    document = yaml.safe_load(plane.kubeconfig.read_text())
    document["users"] = [{"name": "rotor-user", "user": user}]
    for cluster in document["clusters"]:
        cluster["cluster"]["server"] = server or cluster["cluster"]["server"]
    for context in document["contexts"]:
        context["context"]["user"] = "rotor-user"
    path = tmp_path / "kubeconfig"
    path.write_text(yaml.safe_dump(document))
    return path


def exec_plugin(tmp_path: Path, token_file: Path) -> dict[str, Any]:
    """A small exec plugin printing the token in ``token_file`` (as EKS's or GKE's would print theirs)."""
    script = tmp_path / "plugin.py"
    script.write_text(
        "import json, pathlib\n"
        f"token = pathlib.Path({str(token_file)!r}).read_text().strip()\n"
        "print(json.dumps({'apiVersion': 'client.authentication.k8s.io/v1', 'kind': 'ExecCredential',\n"
        "                  'status': {'token': token}}))\n"
    )
    command = {
        "apiVersion": "client.authentication.k8s.io/v1",
        "command": sys.executable,
        "args": [str(script)],
    }
    return {"exec": command}
