"""TLS: verification is on by default, a wrong CA fails clearly before anything is sent, and
turning verification off warns."""

from __future__ import annotations

import base64
from typing import Any

import pytest
import yaml
from kubernetes import client as k8s

from airflow_provider_kontinue.client import AsyncKontinueClient, KontinueClient, KontinueError
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.pki import CertificateAuthority
from tests.support.clients import EventLoopThread
from tests.support.cluster import Cluster, create_namespace


def impostor_kubeconfig(plane: ControlPlane) -> dict[str, Any]:
    """The admin kubeconfig, but trusting another CA than the one that signed the API server."""
    document: dict[str, Any] = yaml.safe_load(plane.kubeconfig.read_text())
    cluster = document["clusters"][0]["cluster"]
    cluster.pop("certificate-authority", None)
    impostor = CertificateAuthority.create("impostor-ca").pair.cert_pem
    cluster["certificate-authority-data"] = base64.b64encode(impostor).decode()
    return document


def test_tls_verification_is_on_by_default(control_plane: ControlPlane) -> None:
    with KontinueClient.connect(control_plane.kubeconfig, namespace="default") as client:
        assert client.kube_client().configuration.verify_ssl is True


def test_a_wrong_ca_fails_clearly_and_nothing_is_written(
    control_plane: ControlPlane, admin_api: k8s.ApiClient
) -> None:
    namespace = create_namespace(admin_api, "wrong-ca")
    cluster = Cluster(admin_api, namespace)
    cluster.function("work")
    document = impostor_kubeconfig(control_plane)
    with KontinueClient.connect(document, namespace=namespace) as client:
        with pytest.raises(KontinueError, match="TLS verification failed") as refused:
            client.spawn("work", {})
        assert "certificate-authority" in str(refused.value)
    loop = EventLoopThread()
    try:

        async def spawn_async() -> None:
            async with await AsyncKontinueClient.connect(document, namespace=namespace) as client:
                await client.spawn("work", {})

        with pytest.raises(KontinueError, match="TLS verification failed"):
            loop.run(spawn_async())
    finally:
        loop.close()
    assert cluster.list("executions") == []


def test_turning_tls_verification_off_warns(control_plane: ControlPlane) -> None:
    document = impostor_kubeconfig(control_plane)
    with pytest.warns(UserWarning, match=r"TLS verification .* is turned off"):
        client = KontinueClient.connect(document, namespace="default", verify_ssl=False)
    with client:
        assert client.list() == []  # it works, unverified: the warning is the only guard left


def test_a_trigger_whose_connection_trusts_another_ca_ends_at_once_naming_tls(
    control_plane: ControlPlane, admin_api: k8s.ApiClient, tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A wrong CA is a configuration error: the wait ends with it instead of retrying until its
    deadline (or forever, without one)."""
    import time

    from airflow_provider_kontinue.triggers.execution import KontinueExecutionTrigger
    from tests.support.connections import use_connection
    from tests.support.triggerer import Triggerer

    namespace = create_namespace(admin_api, "wrong-ca-trigger")
    Cluster(admin_api, namespace).execution("guarded", status={"phase": "Executing"})
    kubeconfig = tmp_path / "impostor.yaml"
    kubeconfig.write_text(yaml.safe_dump(impostor_kubeconfig(control_plane)))
    conn_id = use_connection(monkeypatch, kubeconfig, namespace)
    triggerer = Triggerer()
    try:
        started = time.monotonic()
        triggerer.start(
            [KontinueExecutionTrigger(name="guarded", namespace=namespace, kontinue_conn_id=conn_id)]
        )
        triggerer.wait_fired(["guarded"], 30)
        elapsed = time.monotonic() - started
    finally:
        triggerer.close()
    (event,) = triggerer.events["guarded"]
    assert event["status"] == "error", event
    assert "TLS verification failed" in event["message"]
    assert elapsed < 10
