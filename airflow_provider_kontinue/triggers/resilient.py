"""How every trigger keeps waiting through faults, and gets its client from its connection.

A wait meets broken connections and restarting API servers; :func:`resilient` runs it again with
backoff until it returns, while permission and configuration errors end it at once with a clear
message. :func:`connection_client` reads the connection in the triggerer, when a shared watch is
first opened, so only the connection id ever travels in a trigger's kwargs.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from typing import Any

from airflow.sdk.exceptions import AirflowNotFoundException

from airflow_provider_kontinue.client import (
    AsyncKontinueClient,
    ConfigError,
    ForbiddenError,
    KontinueError,
    UnauthorizedError,
    ValidationError,
)
from airflow_provider_kontinue.client.informer import ClientMaker
from airflow_provider_kontinue.hooks.connection import ConnectionFieldError
from airflow_provider_kontinue.hooks.kontinue import KontinueAsyncHook

PERMANENT_ERRORS = (
    ForbiddenError,
    UnauthorizedError,
    ConfigError,
    ValidationError,
    ConnectionFieldError,  # the connection is malformed
    AirflowNotFoundException,  # the connection is not defined (in the triggerer)
)
BACKOFF_INITIAL = 0.5
BACKOFF_MAX = 30.0


def connection_client(conn_id: str, namespace: str) -> ClientMaker:
    """How a trigger gets its client: from its connection, read in the triggerer when a shared
    watch is first opened (only the connection id travels in the trigger's kwargs)."""

    async def make() -> AsyncKontinueClient:
        return await KontinueAsyncHook(conn_id, namespace).get_async_client()

    return make


async def resilient(
    attempt: Callable[[], Awaitable[dict[str, Any]]],
    *,
    remaining: Callable[[], float | None],
    on_timeout: Callable[[], dict[str, Any]],
    on_error: Callable[[str], dict[str, Any]],
    what: str,
    logger: Any,
) -> dict[str, Any]:
    """Run one waiting ``attempt`` until it returns; again with backoff when the watch broke off.

    The deadline (``remaining``) ends it with ``on_timeout()``; permission and configuration
    errors end it with ``on_error(message)``; every other kontinue error is a broken connection or
    a restarting API server, after which the attempt subscribes and reads again.
    """
    failures = 0
    while True:
        try:
            return await attempt()
        except TimeoutError:
            return on_timeout()
        except PERMANENT_ERRORS as err:
            return on_error(str(err))
        except KontinueError as err:
            failures += 1
            delay = min(BACKOFF_MAX, BACKOFF_INITIAL * 2 ** min(failures, 10)) * random.uniform(0.5, 1.0)
            logger.warning("kontinue: the wait for %s broke off (%s); again in %.1fs", what, err, delay)
            left = remaining()
            if left is not None and left <= delay:
                await asyncio.sleep(left)
                return on_timeout()
            await asyncio.sleep(delay)
