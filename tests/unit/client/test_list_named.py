"""``list_named``, the informer's batched first read, as a sans-IO protocol: it pages through
the namespace, hands on each page's wanted objects before asking for the next page, and decodes
nothing it was not asked for."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_kontinue.client import Execution, ForbiddenError, Suspension
from airflow_provider_kontinue.client.protocol import Call, Emit, Response
from airflow_provider_kontinue.client.watch import RELIST_PAGE, list_named


def _item(name: str, **status: Any) -> dict[str, Any]:
    return {"metadata": {"name": name}, "spec": {"function": "f"}, "status": status}


def _page(*items: dict[str, Any], token: str = "") -> Response:
    return Response(200, {"metadata": {"resourceVersion": "7", "continue": token}, "items": list(items)})


def test_each_page_is_asked_for_with_the_last_pages_token_and_its_wanted_objects_handed_on() -> None:
    op = list_named(Execution, "data", ["a", "c"])
    first = next(op)
    assert isinstance(first, Call)
    assert (first.verb, first.namespace, first.query) == ("list", "data", {"limit": str(RELIST_PAGE)})
    emitted = op.send(_page(_item("a", phase="Executing"), _item("b"), token="page-2"))
    assert isinstance(emitted, Emit)
    assert list(emitted.value) == ["a"]  # before the next page is read
    assert isinstance(emitted.value["a"], Execution)
    assert emitted.value["a"].phase == "Executing"
    second = op.send(None)
    assert isinstance(second, Call)
    assert second.query == {"limit": str(RELIST_PAGE), "continue": "page-2"}
    emitted = op.send(_page(_item("c"), _item("d")))
    assert isinstance(emitted, Emit)
    assert list(emitted.value) == ["c"]
    with pytest.raises(StopIteration):
        op.send(None)  # no continue token: that was the last page


def test_a_page_without_a_wanted_name_is_handed_on_empty_and_nothing_else_is_decoded() -> None:
    op = list_named(Execution, "data", ["wanted"])
    next(op)
    not_an_execution = {"metadata": {"name": "broken"}, "spec": "no mapping"}  # would not decode
    emitted = op.send(_page(not_an_execution, token="more"))
    assert emitted == Emit({})
    assert isinstance(op.send(None), Call)


def test_the_kind_asked_for_is_the_kind_listed_and_decoded() -> None:
    op = list_named(Suspension, "data", ["s"])
    call = next(op)
    assert isinstance(call, Call)
    assert call.path.endswith("/suspensions")
    emitted = op.send(_page({"metadata": {"name": "s"}, "spec": {}}))
    assert isinstance(emitted, Emit)
    assert isinstance(emitted.value["s"], Suspension)


def test_a_refused_list_raises_the_servers_error() -> None:
    op = list_named(Execution, "data", ["a"])
    next(op)
    refused = {"kind": "Status", "code": 403, "reason": "Forbidden", "message": "no list"}
    with pytest.raises(ForbiddenError):
        op.send(Response(403, refused))
