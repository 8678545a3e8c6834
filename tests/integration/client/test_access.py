"""Connecting: kubeconfig, contexts, namespaces, TLS, impersonation and RBAC, explained when refused."""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import pytest
import yaml

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    ConfigError,
    ForbiddenError,
    KontinueClient,
    KontinueError,
)
from kontinue_sandbox.controlplane import ControlPlane
from kontinue_sandbox.pki import CertificateAuthority
from kontinue_sandbox.users import SandboxUser
from tests.support.clients import EventLoopThread, close_client, make_client
from tests.support.cluster import Cluster


def test_impersonated_calls_are_decided_by_rbac_for_that_user(
    mode: str,
    control_plane: ControlPlane,
    namespace: str,
    cluster: Cluster,
    event_loop_thread: EventLoopThread,
) -> None:
    cluster.function("deploy")
    client = make_client(
        mode, control_plane, namespace, event_loop_thread, options={"impersonate": "mallory"}
    )
    try:
        with pytest.raises(ForbiddenError) as raised:
            client.spawn("deploy")
    finally:
        close_client(client, event_loop_thread)
    error = raised.value
    assert (error.verb, error.namespace, error.status) == ("get", namespace, 403)
    assert 'User "mallory"' in str(error)
    assert "functions" in str(error)
    assert cluster.list("executions") == []


def test_a_viewer_can_read_but_a_forbidden_spawn_writes_nothing(
    mode: str,
    control_plane: ControlPlane,
    viewer: SandboxUser,
    namespace: str,
    cluster: Cluster,
    event_loop_thread: EventLoopThread,
) -> None:
    cluster.function("deploy")
    cluster.execution("existing", "deploy")
    if mode == "sync":
        client: Any = KontinueClient.connect(viewer.kubeconfig)
    else:
        from tests.support.clients import BlockingView

        client = BlockingView(
            event_loop_thread.run(AsyncKontinueClient.connect(viewer.kubeconfig)), event_loop_thread
        )
    try:
        assert client.namespace == namespace  # the kubeconfig context's namespace
        assert [e.name for e in client.list()] == ["existing"]
        with pytest.raises(ForbiddenError) as raised:
            client.spawn("deploy")
        assert raised.value.verb == "create"
        assert "executions.kontinue.cloud" in str(raised.value)
        with pytest.raises(ForbiddenError):
            client.cancel("existing")
    finally:
        close_client(client, event_loop_thread)
    assert [e["metadata"]["name"] for e in cluster.list("executions")] == ["existing"]


def test_a_kubeconfig_dict_and_an_explicit_context_work(control_plane: ControlPlane, namespace: str) -> None:
    document = yaml.safe_load(control_plane.kubeconfig.read_text())
    document["contexts"][0]["context"]["namespace"] = namespace
    context = document["contexts"][0]["name"]
    with KontinueClient.connect(document, context=context) as client:
        assert client.namespace == namespace
        assert client.functions() == []
        assert client.kube_client() is not None
        assert client.with_namespace("default").namespace == "default"
        assert client.namespace == namespace


def test_an_unknown_context_names_the_ones_there_are(control_plane: ControlPlane) -> None:
    with pytest.raises(ConfigError, match=r"has no context 'prod'; it has \['kontinue-sandbox'\]"):
        KontinueClient.connect(control_plane.kubeconfig, context="prod")


def test_a_missing_kubeconfig_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=f"no kubeconfig at {tmp_path}/none"):
        KontinueClient.connect(tmp_path / "none")


def test_a_wrong_certificate_authority_fails_verification(
    mode: str, control_plane: ControlPlane, tmp_path: Path, event_loop_thread: EventLoopThread
) -> None:
    document = yaml.safe_load(control_plane.kubeconfig.read_text())
    other_ca = tmp_path / "other-ca.crt"
    other_ca.write_bytes(CertificateAuthority.create("someone-else").pair.cert_pem)
    document["clusters"][0]["cluster"]["certificate-authority"] = str(other_ca)
    if mode == "sync":
        client: Any = KontinueClient.connect(document)
    else:
        from tests.support.clients import BlockingView

        client = BlockingView(event_loop_thread.run(AsyncKontinueClient.connect(document)), event_loop_thread)
    try:
        with pytest.raises(KontinueError, match="TLS verification failed"):
            client.with_timeout(10).functions()
    finally:
        close_client(client, event_loop_thread)


@pytest.mark.filterwarnings("ignore::urllib3.exceptions.InsecureRequestWarning")
def test_turning_tls_verification_off_warns(control_plane: ControlPlane) -> None:
    document = yaml.safe_load(control_plane.kubeconfig.read_text())
    del document["clusters"][0]["cluster"]["certificate-authority"]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client = KontinueClient.connect(document, verify_ssl=False)
    assert any("TLS verification" in str(w.message) for w in caught)
    with client:
        assert client.functions() == []


def test_from_kube_client_uses_an_existing_api_clients_configuration(
    control_plane: ControlPlane, namespace: str, event_loop_thread: EventLoopThread
) -> None:
    from kubernetes import client as k8s

    with control_plane.api_client() as api:
        client = KontinueClient.from_kube_client(api, namespace)
        assert client.kube_client() is api
        assert client.list() == []
        client.close()  # closes its own connections, never the ApiClient it was given
        assert k8s.CoreV1Api(api).read_namespace(namespace).metadata.name == namespace

        async def twin() -> list[Any]:
            async with AsyncKontinueClient.from_kube_client(api, namespace) as async_client:
                assert async_client.kube_client() is api
                return await async_client.list()

        assert event_loop_thread.run(twin()) == []


def test_kube_client_is_a_configured_kubernetes_api_client(
    control_plane: ControlPlane, namespace: str
) -> None:
    from kubernetes import client as k8s

    with KontinueClient.connect(control_plane.kubeconfig, namespace=namespace) as client:
        api = client.kube_client()
        assert isinstance(api, k8s.ApiClient)
        assert client.with_namespace("default").kube_client() is api  # shared with derived clients
        assert k8s.CoreV1Api(api).read_namespace(namespace).metadata.name == namespace


def test_new_and_new_with_options_read_the_default_kubeconfig(
    control_plane: ControlPlane,
    namespace: str,
    monkeypatch: pytest.MonkeyPatch,
    event_loop_thread: EventLoopThread,
) -> None:
    monkeypatch.setenv("KUBECONFIG", str(control_plane.kubeconfig))
    with KontinueClient.new() as client:
        assert client.namespace == "default"  # the sandbox context's namespace
        assert client.list(namespace=namespace) == []
    with KontinueClient.new_with_options({"impersonate": "eve", "qps": 7, "burst": 3}) as limited:
        assert (limited.options.qps, limited.options.burst) == (7, 3)
        with pytest.raises(ForbiddenError, match='User "eve"'):
            limited.list(namespace=namespace)

    async def async_twins() -> tuple[str, str]:
        plain = await AsyncKontinueClient.new()
        impersonating = await AsyncKontinueClient.new_with_options({"impersonate": "eve"})
        async with plain, impersonating:
            try:
                await impersonating.list(namespace=namespace)
            except ForbiddenError as err:
                return plain.namespace, str(err)
        return "", ""

    default_namespace, refusal = event_loop_thread.run(async_twins())
    assert default_namespace == "default"
    assert 'User "eve"' in refusal


def test_a_cancel_event_in_the_context_stops_a_wait(mode: str, kontinue: Any, cluster: Cluster) -> None:
    import threading
    import time

    from airflow_provider_kontinue.client import CallContext, KontinueTimeoutError

    cluster.execution("endless", status={"phase": "Executing"})
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    started = time.monotonic()
    with pytest.raises(KontinueTimeoutError, match="cancelled"):
        kontinue.with_context(CallContext(cancel=cancel)).wait_for_execution("endless")
    assert time.monotonic() - started < 5
    assert kontinue.with_context(CallContext(timeout=3)).context().timeout == 3


def test_spawn_into_a_namespace_that_does_not_exist_says_so(kontinue: Any) -> None:
    from airflow_provider_kontinue.client import NotFoundError

    with pytest.raises(NotFoundError, match="that the namespace exists"):
        kontinue.spawn("deploy", {}, {"namespace": "no-such-namespace"})


def test_the_clients_qps_and_burst_pace_the_requests_it_sends(
    mode: str, control_plane: ControlPlane, namespace: str, event_loop_thread: EventLoopThread
) -> None:
    """qps=4, burst=1: the first request goes at once, each of the next four waits a quarter second
    for its token. The defaults (5/s, burst 10) would send all five at once; qps 5 would take 0.8 s."""
    client = make_client(mode, control_plane, namespace, event_loop_thread, options={"qps": 4, "burst": 1})
    try:
        started = time.monotonic()
        for _ in range(5):
            client.list(namespace=namespace)
        paced = time.monotonic() - started
    finally:
        close_client(client, event_loop_thread)
    assert paced >= 0.95, f"5 requests at qps=4, burst=1 took only {paced:.2f}s: the limits were not applied"
