"""Waits that outlive their credentials: service-account tokens revoked one after another while
trigger waits and a client wait follow their watches, each watch cut after each revocation so it
must reconnect with the token that replaced the dead one.

A watch that is streaming never re-authenticates; only its reconnects do. So the test revokes a
token (the API server refuses it from then on), cuts the connections in front of the API server,
and waits until each watch has renewed its credentials and is back, three times, before the
executions end. The shared watch of the triggers must come back as one connection each time.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client import KontinueClient
from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
from kontinue_sandbox.controlplane import ControlPlane
from tests.support.cluster import Cluster
from tests.support.connections import use_connection
from tests.support.faults import CutProxy
from tests.support.polling import wait_until
from tests.support.rotation import Minter, kubeconfig_for
from tests.support.triggerer import Triggerer

ROTATIONS = 3
WAITS = 20


def test_a_client_wait_and_trigger_waits_span_three_revoked_tokens_on_one_shared_connection(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    namespace: str,
    cut_proxy: Callable[[ControlPlane], CutProxy],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    minter = Minter(admin_api, namespace)
    token_file = tmp_path / "token"
    secret, token = minter.mint()
    token_file.write_text(token)
    to_triggers, to_client = cut_proxy(control_plane), cut_proxy(control_plane)
    user = {"tokenFile": str(token_file)}
    (tmp_path / "t").mkdir()
    (tmp_path / "c").mkdir()
    triggers_kc = kubeconfig_for(control_plane, tmp_path / "t", user, server=to_triggers.server)
    client_kc = kubeconfig_for(control_plane, tmp_path / "c", user, server=to_client.server)

    cluster = Cluster(admin_api, namespace)
    names = [f"rot-{i:02d}" for i in range(WAITS)]
    for name in [*names, "solo"]:
        cluster.execution(name, status={"phase": "Executing"})
    conn_id = use_connection(monkeypatch, triggers_kc, namespace)
    triggerer.start(
        KontinueExecutionTrigger(name=name, namespace=namespace, kontinue_conn_id=conn_id, stream_logs=False)
        for name in names
    )
    hub = triggerer.watching(namespace, WAITS)

    client = KontinueClient.connect(client_kc, namespace=namespace)
    outcome: dict[str, Any] = {}
    waiter = threading.Thread(
        target=lambda: outcome.update(solo=client.with_timeout(300).wait_for_execution("solo")), daemon=True
    )

    def back(rotation: int) -> bool:
        """Both clients renewed after the 401 of their reconnect, and the shared watch is one
        connection again."""
        renewed = (hub.client._wire.credentials.renewals, client._wire.credentials.renewals)
        return renewed == (rotation, rotation) and to_triggers.open_connections == 1

    try:
        waiter.start()
        wait_until(lambda: to_client.open_connections >= 1, 30, "the client wait's watch")
        for rotation in range(1, ROTATIONS + 1):
            new_secret, new_token = minter.mint()
            token_file.write_text(new_token)  # rotated first, as the kubelet or a plugin does
            minter.revoke(secret, token, control_plane)
            secret, token = new_secret, new_token
            for proxy in (to_triggers, to_client):
                with proxy.down():
                    time.sleep(0.2)
            wait_until(functools.partial(back, rotation), 60, f"both watches back with token {rotation + 1}")
            assert triggerer.hubs(namespace) == [hub]  # the same shared watch, never re-subscribed
            assert not any(triggerer.events[name] for name in names)  # nothing fired meanwhile
            assert waiter.is_alive()

        for name in [*names, "solo"]:
            cluster.finish(name, result=name)
        triggerer.wait_fired(names, 60)
        waiter.join(60)
    finally:
        client.close()
    assert {name: [e["result"] for e in events] for name, events in triggerer.events.items()} == {
        name: [name] for name in names
    }
    assert outcome["solo"].result == "solo"
    assert hub.relists == 0
