"""Functions as the emulator reads them: default arguments, argument checks, scripts and speed.

spec §7.1: default arguments are every declared argument's ``default`` overlaid by
``spec.defaults.arguments``; caller arguments win key by key. ``retry``/``timeout``/``ttl`` defaults
apply as whole objects to an Execution that lacks them (``ttl`` only to roots).

Argument checks follow what a Go worker does when it decodes the arguments into its struct, made
stricter where the Function declares more: a declared ``required`` argument that is missing, a
value whose JSON type is not the declared ``type``, or a string outside the declared ``enum`` fails
the execution without retry (reason ``NonRetryableError``). Undeclared arguments are accepted
(Go's decoder ignores unknown fields).
"""

from __future__ import annotations

import copy
from typing import Any

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.script import Script, ScriptError, parse_script

_TYPE_CHECKS: dict[str, Any] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool)) or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
}


def spec_of(function: dict[str, Any]) -> dict[str, Any]:
    spec = function.get("spec")
    return spec if isinstance(spec, dict) else {}


def default_arguments(function: dict[str, Any]) -> dict[str, Any]:
    """The function's effective default arguments (spec §7.1)."""
    spec = spec_of(function)
    defaults: dict[str, Any] = {}
    for argument in spec.get("arguments") or []:
        if isinstance(argument, dict) and isinstance(argument.get("name"), str) and "default" in argument:
            defaults[argument["name"]] = copy.deepcopy(argument["default"])
    overlay = (spec.get("defaults") or {}).get("arguments")
    if isinstance(overlay, dict):
        defaults.update(copy.deepcopy(overlay))
    return defaults


def merged_arguments(function: dict[str, Any] | None, arguments: Any) -> dict[str, Any]:
    """Caller arguments over the function's defaults (shallow, top-level keys)."""
    merged = default_arguments(function) if function is not None else {}
    if isinstance(arguments, dict):
        merged.update(copy.deepcopy(arguments))
    return merged


def execution_defaults(function: dict[str, Any] | None) -> dict[str, Any]:
    """``spec.defaults`` of the function without ``arguments``: retry, timeout and ttl objects."""
    if function is None:
        return {}
    defaults = spec_of(function).get("defaults") or {}
    return {k: copy.deepcopy(v) for k, v in defaults.items() if k in ("retry", "timeout", "ttl") and v}


def worker_group(function: dict[str, Any] | None) -> str | None:
    if function is None:
        return None
    group = spec_of(function).get("workerGroup")
    if isinstance(group, str) and group:
        return group
    labels = (function.get("metadata") or {}).get("labels") or {}
    value = labels.get(names.LABEL_WORKER_GROUP)
    return value if isinstance(value, str) and value else None


def concurrency_limit(function: dict[str, Any] | None) -> int | None:
    if function is None:
        return None
    limit = (spec_of(function).get("concurrency") or {}).get("limit")
    return limit if isinstance(limit, int) and not isinstance(limit, bool) and limit >= 1 else None


def argument_errors(function: dict[str, Any], arguments: Any) -> list[str]:
    """Why ``arguments`` do not fit the function's declared arguments (empty when they do)."""
    if not isinstance(arguments, dict):
        return [f"arguments must be a JSON object, got {type(arguments).__name__}"]
    errors = []
    for argument in spec_of(function).get("arguments") or []:
        if not isinstance(argument, dict) or not isinstance(argument.get("name"), str):
            continue
        name = argument["name"]
        if name not in arguments:
            if argument.get("required"):
                errors.append(f"argument {name!r} is required")
            continue
        value = arguments[name]
        declared = argument.get("type")
        check = _TYPE_CHECKS.get(declared) if isinstance(declared, str) else None
        if check is not None and not check(value):
            errors.append(f"argument {name!r} must be of type {declared}, got {_json_type(value)}")
            continue
        allowed = argument.get("enum")
        if isinstance(allowed, list) and allowed and isinstance(value, str) and value not in allowed:
            errors.append(f"argument {name!r} must be one of {', '.join(map(str, allowed))}, got {value!r}")
    return errors


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


class ScriptCache:
    """Parsed scripts by Function uid and generation: each version is parsed once."""

    def __init__(self) -> None:
        self._scripts: dict[tuple[str, int], Script | ScriptError] = {}

    def script(self, function: dict[str, Any]) -> Script:
        """The function's script; raises ``ScriptError`` when it is malformed."""
        metadata = function.get("metadata") or {}
        key = (str(metadata.get("uid")), int(metadata.get("generation") or 0))
        found = self._scripts.get(key)
        if found is None:
            try:
                found = parse_script(spec_of(function).get("emulator"), str(metadata.get("name")))
            except ScriptError as err:
                found = err
            if len(self._scripts) > 10_000:
                self._scripts.clear()
            self._scripts[key] = found
        if isinstance(found, ScriptError):
            raise found
        return found

    def speed(self, function: dict[str, Any] | None) -> float | None:
        """The function's own speed factor, if its script declares a valid one."""
        if function is None:
            return None
        try:
            return self.script(function).speed
        except ScriptError:
            return None
