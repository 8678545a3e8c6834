"""Operations on Functions: look one up (cached briefly for spawn), list the visible ones."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from .errors import NotFoundError
from .models import Function
from .options import ListFunctionsOptions
from .protocol import Op, call, expect, failure
from .resources import FUNCTIONS
from .validation import validate_namespace

DEFAULT_FUNCTION_CACHE_TTL = 30.0


class FunctionCache:
    """Functions read recently, so a burst of spawns reads each Function once.

    Spawn needs the Function for its defaults and to refuse unknown functions before writing;
    defaults change rarely, so a short time-to-live (30 s by default, 0 turns caching off) saves
    one request per spawn. Shared by every client derived from one client; thread-safe.
    """

    def __init__(self, ttl: float = DEFAULT_FUNCTION_CACHE_TTL, clock: Callable[[], float] = time.monotonic):
        self.ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, Function]] = {}

    def get(self, namespace: str, name: str) -> Function | None:
        with self._lock:
            entry = self._entries.get((namespace, name))
            if entry is None or self._clock() - entry[0] >= self.ttl:
                return None
            return entry[1]

    def put(self, function: Function) -> None:
        if self.ttl > 0:
            with self._lock:
                self._entries[(function.namespace, function.name)] = (self._clock(), function)


def function(namespace: str, name: str) -> Op[Function]:
    """The Function ``name``, or a NotFoundError saying it is not registered there."""
    validate_namespace(namespace)
    request = FUNCTIONS.get(namespace, name)
    response = yield from call(request)
    if response.status == 404:
        raise NotFoundError(
            f"function {name!r} not found in namespace {namespace!r}: no worker registered it there "
            "(check the function name, that the namespace exists, and that its worker runs)",
            verb="get",
            resource=FUNCTIONS.resource,
            namespace=namespace,
            name=name,
        )
    if not response.ok:
        raise failure(request, response)
    return Function.model_validate(response.body)


def get_function(cache: FunctionCache, namespace: str, name: str) -> Op[Function]:
    """``function`` through ``cache``."""
    cached = cache.get(namespace, name)
    if cached is not None:
        return cached
    found = yield from function(namespace, name)
    cache.put(found)
    return found


def functions(namespace: str, options: ListFunctionsOptions) -> Op[list[Function]]:
    """Functions in ``namespace`` sorted by name; hidden ones only when asked for."""
    validate_namespace(namespace)
    listed = yield from expect(FUNCTIONS.list(namespace, label_selector=options.label_selector_string()))
    found = [Function.model_validate(item) for item in listed.get("items", [])]
    visible = [f for f in found if options.include_hidden or not f.is_hidden]
    return sorted(visible, key=lambda f: f.name)
