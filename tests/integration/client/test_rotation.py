"""Credentials that rotate: service-account tokens bound to a Secret stop working the moment the
Secret is deleted; the client, handed them by a token file or an exec plugin, renews after the 401
and goes on; a token that cannot be renewed ends with an UnauthorizedError naming the user."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient, UnauthorizedError
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.clients import BlockingView, EventLoopThread, close_client
from tests.support.rotation import Minter, exec_plugin, kubeconfig_for


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
