"""Which kontinue problems fail a task at once (bad input), and which may be retried.

Shared by the operators and the sensors, so both turn the same problem into the same outcome.

A missing connection, a function that does not exist, arguments that are not a JSON object, a
forbidden namespace: retrying cannot help, so the task fails at once (``AirflowFailException``)
with the problem's message, before anything is spawned. Other errors (the API server restarting,
a dropped connection) stay ordinary failures that Airflow's task retries may overcome.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from airflow.sdk.exceptions import AirflowException, AirflowFailException, AirflowNotFoundException

from airflow_provider_kontinue.client import (
    ConfigError,
    ForbiddenError,
    KontinueError,
    NotFoundError,
    UnauthorizedError,
    ValidationError,
)
from airflow_provider_kontinue.hooks.connection import ConnectionFieldError


class BadInputError(ValueError):
    """Input a task refuses before anything is sent to kontinue (e.g. arguments that are not a
    JSON object); the message says what was wrong and how to fix it."""


BAD_INPUT = (
    BadInputError,
    ConnectionFieldError,
    AirflowNotFoundException,
    ConfigError,
    ValidationError,
    ForbiddenError,
    UnauthorizedError,
    NotFoundError,
)


@contextlib.contextmanager
def kontinue_errors(action: str) -> Iterator[None]:
    """Turn kontinue errors raised while doing ``action`` into Airflow's task outcomes."""
    try:
        yield
    except BAD_INPUT as err:
        raise AirflowFailException(f"kontinue: cannot {action}: {err}") from None
    except KontinueError as err:
        raise AirflowException(f"kontinue: could not {action}: {err}") from None
