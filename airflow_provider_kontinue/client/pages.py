"""Lists read in pages (``limit``/``continue``), started afresh when a continue token expires.

A namespace's list of 10,000 executions is tens of MB of JSON. Read in pages of
:data:`LIST_PAGE` objects, the client holds one page's JSON at a time: ``list()`` keeps only the
decoded executions, and ``iter_executions()`` not even those.

A continue token names the snapshot the list started from. Once etcd has compacted past it
(the API server compacts every 5 minutes), the next page is refused with 410 Gone. The
:class:`Pager` then lists again from a fresh snapshot and skips what it already handed on: the
API server returns objects in key order (namespace, then name), so that is one comparison with
the last key, not a set of every name. Objects created while a restarted list was under way,
before the point it had reached, are not in it, as with any list that is not one snapshot.
"""

from __future__ import annotations

from typing import Any

from .errors import GoneError
from .protocol import Op, expect
from .resources import Kind

LIST_PAGE = 500
"""Objects a page: what the API server's own clients (client-go's pager) use."""


def object_key(item: dict[str, Any]) -> tuple[str, str]:
    """Where the API server's list order puts ``item``: its namespace, then its name."""
    metadata = item.get("metadata") or {}
    return str(metadata.get("namespace") or ""), str(metadata.get("name") or "")


class Pager:
    """Reads one list page by page: ``while not pager.done: items = yield from pager.next()``."""

    def __init__(
        self, kind: Kind, namespace: str, label_selector: str = "", *, page: int | None = None
    ) -> None:
        self.kind = kind
        self.namespace = namespace
        self.label_selector = label_selector
        self.page = page
        """Objects a page; ``None``: :data:`LIST_PAGE`."""
        self.done = False
        self.restarts = 0
        """How often an expired continue token made the list start again."""
        self._token: str | None = None
        self._last: tuple[str, str] | None = None

    def next(self) -> Op[list[dict[str, Any]]]:
        """The next page's objects, none of them handed on before."""
        while True:
            request = self.kind.list(
                self.namespace,
                label_selector=self.label_selector,
                limit=self.page or LIST_PAGE,
                continue_token=self._token,
            )
            try:
                page = yield from expect(request)
            except GoneError:
                if self._token is None:
                    raise  # a first page has no snapshot to lose: not ours to retry
                self._token = None
                self.restarts += 1
                continue
            items: list[dict[str, Any]] = page.get("items") or []
            if self._last is not None:
                last = self._last
                items = [item for item in items if object_key(item) > last]
            if items:
                self._last = object_key(items[-1])
            self._token = (page.get("metadata") or {}).get("continue") or None
            self.done = self._token is None
            return items
