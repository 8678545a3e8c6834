"""Errors: Kubernetes Status responses become precise exceptions that read well and leak nothing."""

from __future__ import annotations

import json
import pickle
from typing import Any

import pytest

from airflow_provider_kontinue.client import (
    AlreadyExistsError,
    ArchiveDecodeError,
    ConfigError,
    ConflictError,
    ErrorCause,
    ExecutionCanceledError,
    ExecutionFailedError,
    ForbiddenError,
    GoneError,
    InvalidStateError,
    KontinueError,
    KontinueTimeoutError,
    NotFoundError,
    ResultDecodeError,
    ServerError,
    UnauthorizedError,
    ValidationError,
    WatchError,
    error_from_status,
)
from airflow_provider_kontinue.client.errors import redact


def _status(code: int, reason: str, message: str, **details: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }
    if details:
        body["details"] = details
    return body


FORBIDDEN = _status(
    403,
    "Forbidden",
    'executions.kontinue.cloud is forbidden: User "alice" cannot create resource "executions" '
    'in API group "kontinue.cloud" in the namespace "team-a"',
    group="kontinue.cloud",
    kind="executions",
)


def test_forbidden_status_maps_to_forbidden_error_with_verb_and_namespace() -> None:
    error = error_from_status(
        403, json.dumps(FORBIDDEN), verb="create", resource="executions", namespace="team-a"
    )

    assert type(error) is ForbiddenError
    assert (error.verb, error.resource, error.namespace) == ("create", "executions", "team-a")
    assert (error.status, error.reason) == (403, "Forbidden")
    assert str(error) == (
        'executions.kontinue.cloud is forbidden: User "alice" cannot create resource "executions" '
        'in API group "kontinue.cloud" in the namespace "team-a" (verb=create)'
    )


def test_message_without_its_category_is_prefixed_and_unmentioned_context_is_listed() -> None:
    error = ForbiddenError(
        'user "alice" cannot create executions.kontinue.cloud in namespace "team-a"',
        verb="create",
        resource="executions.kontinue.cloud",
        namespace="team-a",
    )
    terse = NotFoundError("gone missing", verb="get", resource="executions", namespace="infra", name="x")

    assert str(error) == (
        'forbidden: user "alice" cannot create executions.kontinue.cloud in namespace "team-a" (verb=create)'
    )
    assert str(terse) == "not found: gone missing (verb=get, resource=executions, namespace=infra, name=x)"


def test_error_without_a_message_describes_what_was_addressed() -> None:
    error = NotFoundError(verb="get", resource="executions", namespace="infra", name="deploy-x")

    assert str(error) == 'not found: executions "deploy-x" in namespace "infra" (verb=get)'


@pytest.mark.parametrize(
    ("code", "reason", "expected"),
    [
        (401, "Unauthorized", UnauthorizedError),
        (403, "Forbidden", ForbiddenError),
        (404, "NotFound", NotFoundError),
        (409, "AlreadyExists", AlreadyExistsError),
        (409, "Conflict", ConflictError),
        (410, "Expired", GoneError),
        (400, "BadRequest", ValidationError),
        (422, "Invalid", ValidationError),
        (429, "TooManyRequests", ServerError),
        (500, "InternalError", ServerError),
        (503, "ServiceUnavailable", ServerError),
        (504, "Timeout", ServerError),
        (418, "Teapot", KontinueError),
    ],
)
def test_status_codes_map_to_their_error_classes(
    code: int, reason: str, expected: type[KontinueError]
) -> None:
    error = error_from_status(code, _status(code, reason, "server says no"), verb="get")

    assert type(error) is expected
    assert error.status == code
    assert error.reason == reason
    assert error.message == "server says no"


def test_conflict_on_create_with_an_existing_name_is_already_exists() -> None:
    body = _status(
        409,
        "AlreadyExists",
        'executions.kontinue.cloud "deploy-1" already exists',
        name="deploy-1",
        group="kontinue.cloud",
        kind="executions",
    )

    error = error_from_status(409, body, verb="create", resource="executions", namespace="infra")

    assert isinstance(error, AlreadyExistsError)
    assert error.name == "deploy-1"
    assert str(error) == 'executions.kontinue.cloud "deploy-1" already exists (verb=create, namespace=infra)'


def test_invalid_status_maps_to_validation_error_with_the_causes_fields() -> None:
    body = _status(
        422,
        "Invalid",
        'Execution.kontinue.cloud "x" is invalid: [spec.function: Required value, spec.retry.retries: '
        "Invalid value: -1: should be greater than or equal to 0]",
        name="x",
        causes=[
            {"reason": "FieldValueRequired", "message": "Required value", "field": "spec.function"},
            {"reason": "FieldValueInvalid", "message": "Invalid value: -1", "field": "spec.retry.retries"},
        ],
    )

    error = error_from_status(422, body, verb="create", resource="executions", namespace="infra")

    assert isinstance(error, ValidationError)
    assert error.field == "spec.function"
    assert error.causes == (
        ErrorCause(field="spec.function", message="Required value", reason="FieldValueRequired"),
        ErrorCause(field="spec.retry.retries", message="Invalid value: -1", reason="FieldValueInvalid"),
    )


def test_gone_is_a_watch_error_so_watchers_can_relist() -> None:
    error = error_from_status(
        410, _status(410, "Expired", "too old resource version: 12 (340)"), verb="watch"
    )

    assert isinstance(error, GoneError)
    assert isinstance(error, WatchError)


def test_server_errors_carry_the_retry_after_hint() -> None:
    body = _status(429, "TooManyRequests", "too many requests", retryAfterSeconds=3)

    error = error_from_status(429, body, verb="list", resource="executions")

    assert isinstance(error, ServerError)
    assert error.retry_after == 3.0
    assert str(error) == "server error: too many requests (verb=list, resource=executions, status=429)"


@pytest.mark.parametrize(
    "body",
    [json.dumps(FORBIDDEN), json.dumps(FORBIDDEN).encode(), FORBIDDEN],
    ids=["str", "bytes", "dict"],
)
def test_status_body_may_be_text_bytes_or_decoded(body: Any) -> None:
    assert isinstance(error_from_status(403, body), ForbiddenError)


def test_watch_error_event_object_gives_the_code_when_the_http_status_was_ok() -> None:
    event_object = _status(410, "Expired", "too old resource version")

    assert isinstance(error_from_status(None, event_object, verb="watch"), GoneError)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (None, "HTTP 502 Bad Gateway"),
        ("", "HTTP 502 Bad Gateway"),
        (b"<html><body>upstream timed out</body></html>\nmore", "HTTP 502 Bad Gateway: <html>"),
        ("[1, 2]", "HTTP 502 Bad Gateway"),
    ],
)
def test_non_status_body_gives_a_short_http_message(body: Any, message: str) -> None:
    error = error_from_status(502, body)

    assert isinstance(error, ServerError)
    assert error.message.startswith(message)
    assert "more" not in error.message


def test_bearer_tokens_and_kubeconfig_secrets_are_redacted() -> None:
    secret_jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
    body = (
        f"Authorization: Bearer {secret_jwt} rejected; token: s3cr3t-value, "
        "client-key-data: LS0tLS1CRUdJTg== password=hunter2"
    )

    error = error_from_status(401, body, verb="get")
    text = str(error) + repr(error)

    assert isinstance(error, UnauthorizedError)
    for secret in (secret_jwt, "s3cr3t-value", "LS0tLS1CRUdJTg==", "hunter2"):
        assert secret not in text
    assert "[REDACTED]" in text
    assert "hunter2" not in str(ConfigError("bad kubeconfig: password: hunter2"))


def test_redaction_leaves_ordinary_messages_alone() -> None:
    message = 'executions.kontinue.cloud "deploy-x" not found'

    assert redact(message) == message


def test_timeout_error_is_also_the_builtin_timeout_error() -> None:
    with pytest.raises(TimeoutError):
        raise KontinueTimeoutError("waited 30s for deploy-x")


def test_validation_and_decode_errors_are_value_errors() -> None:
    assert issubclass(ValidationError, ValueError)
    assert issubclass(ResultDecodeError, ValueError)
    assert issubclass(ArchiveDecodeError, ValueError)


@pytest.mark.parametrize(
    "error",
    [
        KontinueError("x", verb="get", status=500),
        NotFoundError("x", resource="executions", name="n"),
        AlreadyExistsError("x"),
        ConflictError("x"),
        ForbiddenError("x"),
        UnauthorizedError("x"),
        InvalidStateError("execution deploy-x is Completed", name="deploy-x"),
        ValidationError("x", field="spec.function", causes=[ErrorCause("spec.function", "Required")]),
        ExecutionFailedError("boom", name="deploy-x", reason="Error"),
        ExecutionCanceledError("Canceled by client", name="deploy-x"),
        ResultDecodeError("x"),
        ArchiveDecodeError("x"),
        WatchError("x"),
        GoneError("x"),
        KontinueTimeoutError("x"),
        ServerError("x", retry_after=2.0),
        ConfigError("x"),
    ],
    ids=lambda error: type(error).__name__,
)
def test_every_error_is_a_kontinue_error_that_survives_pickling(error: KontinueError) -> None:
    copy = pickle.loads(pickle.dumps(error))

    assert isinstance(error, KontinueError)
    assert type(copy) is type(error)
    assert str(copy) == str(error)
    assert vars(copy) == vars(error)


def test_execution_failed_error_names_the_execution() -> None:
    error = ExecutionFailedError("helm upgrade failed: timeout", namespace="infra", name="deploy-x")

    assert str(error) == (
        "execution failed: helm upgrade failed: timeout (resource=executions, namespace=infra, name=deploy-x)"
    )


def test_the_context_names_the_namespace_even_when_a_longer_word_in_the_message_contains_it() -> None:
    err = UnauthorizedError(
        "the API server rejected the credentials of the kubeconfig user 'robot-team-a'",
        verb="get",
        resource="functions.kontinue.cloud",
        namespace="team-a",
        name="hello",
    )

    assert str(err).endswith("(verb=get, resource=functions.kontinue.cloud, namespace=team-a, name=hello)")


def test_the_context_leaves_out_what_the_message_already_names() -> None:
    err = NotFoundError(
        "function 'hello' not found in namespace 'team-a'",
        verb="get",
        resource="functions.kontinue.cloud",
        namespace="team-a",
        name="hello",
    )

    assert str(err).endswith("(verb=get, resource=functions.kontinue.cloud)")
