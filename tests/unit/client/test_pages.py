"""The paged list as a sans-IO protocol: each page asked for with the last page's continue token,
and an expired token (410) answered by a fresh list that skips what was already handed on."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.client import GoneError
from airflow_provider_kontinue.client.pages import LIST_PAGE, Pager
from airflow_provider_kontinue.client.protocol import Call, Response
from airflow_provider_kontinue.client.resources import EXECUTIONS

EXPIRED = {"kind": "Status", "code": 410, "reason": "Expired", "message": "the continue parameter is too old"}


def _page(*names: str, token: str = "") -> Response:
    items = [{"metadata": {"namespace": "data", "name": name}} for name in names]
    return Response(200, {"metadata": {"continue": token}, "items": items})


def _read(pager: Pager, *responses: Response) -> tuple[list[dict[str, str]], list[str]]:
    """Answer the pager's requests with ``responses``; the names it handed on, and the queries."""
    op = pager.next()
    queries: list[dict[str, str]] = []
    names: list[str] = []
    answers = iter(responses)
    request = next(op)
    while True:
        assert isinstance(request, Call)
        queries.append(dict(request.query))
        try:
            request = op.send(next(answers))
        except StopIteration as done:
            names += [item["metadata"]["name"] for item in done.value]
            return queries, names


def test_each_page_is_asked_for_with_the_previous_pages_token_until_there_is_none() -> None:
    pager = Pager(EXECUTIONS, "data", "app=etl")
    queries, names = _read(pager, _page("a", "b", token="t2"))
    assert queries == [{"labelSelector": "app=etl", "limit": str(LIST_PAGE)}]
    assert (names, pager.done) == (["a", "b"], False)
    queries, names = _read(pager, _page("c"))
    assert queries == [{"labelSelector": "app=etl", "limit": str(LIST_PAGE), "continue": "t2"}]
    assert (names, pager.done, pager.restarts) == (["c"], True, 0)


def test_an_expired_continue_token_lists_again_from_the_start_skipping_what_was_handed_on() -> None:
    pager = Pager(EXECUTIONS, "data")
    _read(pager, _page("a", "b", token="t2"))
    queries, names = _read(pager, Response(410, EXPIRED), _page("a", "b", "c", "d", token="t3"))
    assert [query.get("continue") for query in queries] == ["t2", None]
    assert (names, pager.restarts, pager.done) == (["c", "d"], 1, False)


def test_a_first_page_refused_as_gone_raises_for_the_caller() -> None:
    op = Pager(EXECUTIONS, "data").next()
    next(op)
    with pytest.raises(GoneError):
        op.send(Response(410, EXPIRED))


def test_objects_are_ordered_by_namespace_then_name_as_the_api_server_lists_them() -> None:
    pager = Pager(EXECUTIONS, "")
    first: Any = {"metadata": {"continue": "t2"}, "items": [{"metadata": {"namespace": "a", "name": "z"}}]}
    _read(pager, Response(200, first))
    again = [{"metadata": {"namespace": "a", "name": "z"}}, {"metadata": {"namespace": "b", "name": "a"}}]
    _, names = _read(pager, Response(410, EXPIRED), Response(200, {"metadata": {}, "items": again}))
    assert names == ["a"]  # namespace b's "a" sorts after namespace a's "z"
