"""What every request carries on the wire: headers, query strings, and reading error bodies."""

from __future__ import annotations

from collections.abc import Mapping

from .protocol import Call

USER_AGENT = "airflow-provider-kontinue"


def request_headers(call: Call, extra: Mapping[str, str]) -> dict[str, str]:
    """Headers for ``call``: JSON in and out, the client's impersonation headers, a user agent."""
    headers = {"Accept": "application/json", "User-Agent": USER_AGENT, **extra}
    if call.body is not None:
        headers["Content-Type"] = call.content_type
    return headers


def impersonation_headers(user: str | None, groups: tuple[str, ...] = ()) -> dict[str, str]:
    """The ``Impersonate-User`` header (client-go sends one per request); empty when not set."""
    if not user:
        return {}
    headers = {"Impersonate-User": user}
    # Several groups need repeated headers, which the generated clients cannot send; one is enough
    # for kontinue's use (a user, optionally in one group).
    if groups:
        headers["Impersonate-Group"] = groups[0]
    return headers
