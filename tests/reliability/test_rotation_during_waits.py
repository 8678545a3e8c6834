"""Waits that outlive their credentials: service-account tokens revoked one after another while
trigger waits and a client wait follow their watches, each watch cut after each revocation so it
must reconnect with the token that replaced the dead one.

A watch that is streaming never re-authenticates; only its reconnects do. So the tests revoke a
token (the API server refuses it from then on), cut the connections in front of the API server,
and wait until each watch has renewed its credentials and is back, three times, before the
executions end. The shared watch of the triggers must come back as one connection each time. A
token revoked with no successor ends every wait at its next reconnect, with the user named.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from kubernetes import client as k8s

from airflow_provider_kontinue.client import KontinueClient, UnauthorizedError
from airflow_provider_kontinue.client.informer import Informer
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
NAMES = [f"rot-{i:02d}" for i in range(WAITS)]


class RotatingWaits:
    """``WAITS`` trigger waits (one shared watch) and one client wait on ``solo``, all through
    proxies the test can cut, on a token from a file that :meth:`rotate` replaces and revokes."""

    def __init__(
        self,
        plane: ControlPlane,
        admin_api: k8s.ApiClient,
        namespace: str,
        cut_proxy: Callable[[ControlPlane], CutProxy],
        triggerer: Triggerer,
        monkeypatch: pytest.MonkeyPatch,
        tmp_path: Path,
    ) -> None:
        self.plane, self.triggerer = plane, triggerer
        self.minter = Minter(admin_api, namespace)
        self.token_file = tmp_path / "token"
        self.secret, self.token = self.minter.mint()
        self.token_file.write_text(self.token)
        self.proxies = cut_proxy(plane), cut_proxy(plane)
        user = {"tokenFile": str(self.token_file)}
        kubeconfigs = []
        for proxy, folder in zip(self.proxies, ("triggers", "client"), strict=True):
            (tmp_path / folder).mkdir()
            kubeconfigs.append(kubeconfig_for(plane, tmp_path / folder, user, server=proxy.server))
        self.cluster = Cluster(admin_api, namespace)
        for name in [*NAMES, "solo"]:
            self.cluster.execution(name, status={"phase": "Executing"})
        conn_id = use_connection(monkeypatch, kubeconfigs[0], namespace)
        triggerer.start(
            KontinueExecutionTrigger(
                name=name, namespace=namespace, kontinue_conn_id=conn_id, stream_logs=False
            )
            for name in NAMES
        )
        self.hub: Informer[Any] = triggerer.watching(namespace, WAITS)
        self.client = KontinueClient.connect(kubeconfigs[1], namespace=namespace)
        self.outcome: dict[str, Any] = {}
        self.waiter = threading.Thread(target=self._wait_solo, daemon=True)
        self.waiter.start()
        wait_until(lambda: self.proxies[1].open_connections >= 1, 30, "the client wait's watch")

    def _wait_solo(self) -> None:
        try:
            self.outcome["solo"] = self.client.with_timeout(300).wait_for_execution("solo")
        except Exception as err:  # the test asserts what ended it
            self.outcome["solo"] = err

    def rotate(self, successor: bool = True) -> None:
        """Revoke the token (after writing its successor to the file, if any), then cut both
        connections: every watch must reconnect, and authenticate again."""
        old = self.secret, self.token
        if successor:
            self.secret, self.token = self.minter.mint()
            self.token_file.write_text(self.token)  # rotated first, as the kubelet or a plugin does
        self.minter.revoke(*old, self.plane)
        for proxy in self.proxies:
            with proxy.down():
                time.sleep(0.2)

    def back(self, rotation: int) -> bool:
        """Both clients renewed after the 401 of their reconnect, and the shared watch is one
        connection again."""
        renewed = (self.hub.client._wire.credentials.renewals, self.client._wire.credentials.renewals)
        return renewed == (rotation, rotation) and self.proxies[0].open_connections == 1


@pytest.fixture
def waits(
    control_plane: ControlPlane,
    admin_api: k8s.ApiClient,
    namespace: str,
    cut_proxy: Callable[[ControlPlane], CutProxy],
    triggerer: Triggerer,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> Iterator[RotatingWaits]:
    made = RotatingWaits(control_plane, admin_api, namespace, cut_proxy, triggerer, monkeypatch, tmp_path)
    yield made
    made.client.close()


def test_a_client_wait_and_trigger_waits_span_three_revoked_tokens_on_one_shared_connection(
    waits: RotatingWaits, triggerer: Triggerer, namespace: str
) -> None:
    for rotation in range(1, ROTATIONS + 1):
        waits.rotate()
        wait_until(
            functools.partial(waits.back, rotation), 60, f"both watches back with token {rotation + 1}"
        )
        assert triggerer.hubs(namespace) == [waits.hub]  # the same shared watch, never re-subscribed
        assert not any(triggerer.events[name] for name in NAMES)  # nothing fired meanwhile
        assert waits.waiter.is_alive()

    for name in [*NAMES, "solo"]:
        waits.cluster.finish(name, result=name)
    triggerer.wait_fired(NAMES, 60)
    waits.waiter.join(60)
    assert {name: [e["result"] for e in events] for name, events in triggerer.events.items()} == {
        name: [name] for name in NAMES
    }
    assert waits.outcome["solo"].result == "solo"
    assert waits.hub.relists == 0


def test_waits_whose_token_is_revoked_with_no_successor_end_naming_the_user_and_the_fix(
    waits: RotatingWaits, triggerer: Triggerer
) -> None:
    waits.rotate(successor=False)
    triggerer.wait_fired(NAMES, 60)  # ended at the first reconnect: no retry loop
    waits.waiter.join(60)
    for name in NAMES:
        [event] = triggerer.events[name]
        assert event["status"] == "error", event
        assert "rotor-user" in event["message"], event
        assert "renew them and reconnect" in event["message"], event
        assert waits.token not in event["message"]
    assert isinstance(waits.outcome["solo"], UnauthorizedError), waits.outcome
    assert "rotor-user" in str(waits.outcome["solo"])
