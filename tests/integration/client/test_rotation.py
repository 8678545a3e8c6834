"""Credentials that rotate: service-account tokens bound to a Secret stop working the moment the
Secret is deleted; the client, handed them by a token file or an exec plugin, renews after the 401
and goes on; a token that cannot be renewed ends with an UnauthorizedError naming the user."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient, UnauthorizedError
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.users import KONTINUE_CLIENT_RULES, grant
from tests.support.clients import BlockingView, EventLoopThread, close_client

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


def kubeconfig_for(plane: ControlPlane, tmp_path: Path, user: dict[str, Any]) -> Path:
    document = yaml.safe_load(plane.kubeconfig.read_text())
    document["users"] = [{"name": "rotor-user", "user": user}]
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


@pytest.mark.parametrize("source", ["token-file", "exec-plugin"])
def test_a_client_outlives_three_revoked_tokens_and_then_names_the_user(
    source: str,
    mode: str,
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    namespace: str,
    tmp_path: Path,
    event_loop_thread: EventLoopThread,
) -> None:
    minter = Minter(admin_api, namespace)
    token_file = tmp_path / "token"
    secret, token = minter.mint()
    token_file.write_text(token)
    user = {"tokenFile": str(token_file)} if source == "token-file" else exec_plugin(tmp_path, token_file)
    path = kubeconfig_for(control_plane, tmp_path, user)
    if mode == "sync":
        client: Any = KontinueClient.connect(path, namespace=namespace)
    else:
        client = BlockingView(
            event_loop_thread.run(AsyncKontinueClient.connect(path, namespace=namespace)), event_loop_thread
        )
    try:
        assert client.list() == []
        for _ in range(3):
            new_secret, new_token = minter.mint()
            token_file.write_text(new_token)  # rotated first, as a kubelet or a plugin would
            minter.revoke(secret, token, control_plane)
            secret, token = new_secret, new_token
            assert client.list() == []  # a 401, renewed, sent again
        assert client._wire.credentials.renewals == 3
        minter.revoke(secret, token, control_plane)  # and no new token this time
        with pytest.raises(UnauthorizedError) as refused:
            client.list()
        message = str(refused.value)
        assert "rotor-user" in message
        assert "renew them and reconnect" in message
        assert token not in message
    finally:
        close_client(client, event_loop_thread)
