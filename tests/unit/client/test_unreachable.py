"""Which connection failures end a wait for good, and which are retried like a dropped connection."""

from __future__ import annotations

import ssl

import httpx
import pytest

from airflow_provider_kontinue.client.errors import TLSVerificationError
from airflow_provider_kontinue.client.protocol import Call, TransportError
from airflow_provider_kontinue.client.transport import Wire

WATCH = Call("GET", "/apis/kontinue.cloud/v1/namespaces/ns/executions", verb="watch", namespace="ns")


def raised_from(cause: BaseException) -> httpx.ConnectError:
    """What httpx raises for ``cause`` during connect: the cause is chained, not the error itself."""
    try:
        try:
            raise cause
        except BaseException as err:
            raise httpx.ConnectError(str(err)) from err
    except httpx.ConnectError as err:
        return err


def test_a_certificate_the_kubeconfigs_ca_does_not_trust_is_a_tls_verification_error() -> None:
    error = Wire.unreachable(raised_from(ssl.SSLCertVerificationError(1, "certificate verify failed")), WATCH)
    assert isinstance(error, TLSVerificationError)
    assert "certificate-authority" in str(error)


@pytest.mark.parametrize(
    "cause",
    [
        ssl.SSLEOFError(8, "EOF occurred in violation of protocol"),
        ssl.SSLZeroReturnError(6, "TLS/SSL connection has been closed"),
        ssl.SSLSyscallError(5, "Some I/O error occurred"),
        ConnectionResetError(104, "Connection reset by peer"),
    ],
    ids=type,
)
def test_a_connection_lost_during_the_tls_handshake_is_retried_not_a_tls_refusal(cause: OSError) -> None:
    """A network cut or a restarting proxy mid-handshake: every wait ended for good as
    "TLS verification failed" until this was told apart (tests/reliability, the cut proxy)."""
    error = Wire.unreachable(raised_from(cause), WATCH)
    assert type(error) is TransportError
    assert error.namespace == "ns"
