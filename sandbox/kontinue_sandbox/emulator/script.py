"""Behaviour scripts: what an emulated function does, declared in its Function's ``spec.emulator``.

```yaml
spec:
  emulator:
    speed: 10                      # optional: this function's speed factor (overrides --speed)
    steps:
    - log: "deploying {{ args.version }}"             # one log line (templated)
    - log: {message: "tick {{ i }}", count: 5, interval: 1s}
    - sleep: 2s                                        # busy in the worker (stays Executing)
    - suspend: {message: "waiting for approval"}       # Manual Suspension, until resumed
    - suspend: {for: 1h, message: "cooling down"}      # Sleep Suspension, resumeAt = now + 1h
    - spawn: {function: square, arguments: {x: "{{ i }}"}, count: 3, as: squares}
    - fail: {message: "flaky", firstAttempts: 1}      # fails attempts 1..N only; retryable
    - return: {total: "{{ sum(results.squares) }}"}
```

Every step may also carry ``id`` (its step key, default its index; lowercase letters, digits and
``-``), ``as`` (the name its value is stored under in ``results``) and ``when`` (a condition; the
step is skipped when it is false). The parser is strict: an unknown step, an unknown field, a bad
duration or a template that does not compile is a ``ScriptError`` whose message names the place,
and the execution that runs such a script fails with that message.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from kontinue_sandbox.emulator import template
from kontinue_sandbox.emulator.times import parse_duration

STEP_KINDS = ("log", "sleep", "spawn", "suspend", "fail", "return")
_COMMON = frozenset({"id", "as", "when"})
_STEP_ID = re.compile(r"[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?")
_AS_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
RESERVED_STEP_IDS = frozenset({"worker"})
MAX_COUNT = 1000
"""Upper bound of a step's ``count`` (log lines or fan-out children)."""


class ScriptError(ValueError):
    """A behaviour script that cannot be run; the message says where and why."""


@dataclass(frozen=True)
class LogStep:
    message: str
    count: Any = 1
    interval: Any = None


@dataclass(frozen=True)
class SleepStep:
    duration: Any


@dataclass(frozen=True)
class SpawnStep:
    function: str
    arguments: Any = field(default_factory=dict)
    """An object whose strings are templates, or one template string that renders to an object."""
    count: Any = None
    wait: bool = True
    retry: dict[str, Any] | None = None
    timeout: dict[str, Any] | None = None
    display_name: str | None = None


@dataclass(frozen=True)
class SuspendStep:
    message: Any = None
    duration: Any = None
    display_name: str | None = None


@dataclass(frozen=True)
class FailStep:
    message: Any = "failed"
    first_attempts: int | None = None
    retryable: bool = True


@dataclass(frozen=True)
class ReturnStep:
    value: Any = None


Body = LogStep | SleepStep | SpawnStep | SuspendStep | FailStep | ReturnStep


@dataclass(frozen=True)
class Step:
    """One step of a script: its position, its step key, and what it does."""

    index: int
    key: str
    kind: str
    body: Body
    when: str | None = None
    as_name: str | None = None


@dataclass(frozen=True)
class Script:
    """A parsed behaviour script."""

    steps: tuple[Step, ...]
    speed: float | None = None
    implicit: bool = False
    """True for a Function without ``spec.emulator``: the default one-line script."""


def default_script(function: str) -> Script:
    """What a Function without ``spec.emulator`` does: log one line and complete with no result."""
    step = Step(0, "0", "log", LogStep(f"kontinue emulator: running {function} with {{{{ args }}}}"))
    return Script((step,), None, implicit=True)


def parse_script(spec: Any, function: str) -> Script:
    """Parse a Function's ``spec.emulator`` (None means the default script)."""
    if spec is None:
        return default_script(function)
    if not isinstance(spec, dict):
        raise ScriptError(f"spec.emulator must be an object, got {type(spec).__name__}")
    unknown = set(spec) - {"steps", "speed"}
    if unknown:
        raise ScriptError(
            f"spec.emulator: unknown field(s) {', '.join(sorted(unknown))} (allowed: steps, speed)"
        )
    speed = spec.get("speed")
    if speed is not None and (isinstance(speed, bool) or not isinstance(speed, (int, float)) or speed <= 0):
        raise ScriptError(f"spec.emulator.speed must be a positive number, got {speed!r}")
    raw_steps = spec.get("steps", [])
    if not isinstance(raw_steps, list):
        raise ScriptError("spec.emulator.steps must be a list of steps")
    steps: list[Step] = []
    keys: set[str] = set()
    for index, raw in enumerate(raw_steps):
        where = f"spec.emulator.steps[{index}]"
        step = _parse_step(index, raw, where)
        if step.key in keys:
            raise ScriptError(f"{where}: step id {step.key!r} is used twice")
        keys.add(step.key)
        if steps and steps[-1].kind == "return" and steps[-1].when is None:
            raise ScriptError(f"{where}: unreachable, it follows an unconditional return")
        steps.append(step)
    return Script(tuple(steps), float(speed) if speed is not None else None)


def _parse_step(index: int, raw: Any, where: str) -> Step:
    if not isinstance(raw, dict):
        raise ScriptError(f"{where}: a step must be an object such as {{log: 'hello'}}")
    kinds = [k for k in raw if k in STEP_KINDS]
    if len(kinds) != 1:
        found = ", ".join(sorted(set(raw) - _COMMON)) or "nothing"
        raise ScriptError(f"{where}: a step needs exactly one of {', '.join(STEP_KINDS)}; found {found}")
    kind = kinds[0]
    unknown = set(raw) - _COMMON - {kind}
    if unknown:
        raise ScriptError(f"{where}: unknown field(s) {', '.join(sorted(unknown))} next to {kind!r}")
    key = raw.get("id", str(index))
    if not isinstance(key, str) or not _STEP_ID.fullmatch(key) or key in RESERVED_STEP_IDS:
        raise ScriptError(
            f"{where}.id: {key!r} is not a valid step id (lowercase letters, digits and '-', "
            "at most 32 characters, not 'worker')"
        )
    as_name = raw.get("as")
    if as_name is not None and (not isinstance(as_name, str) or not _AS_NAME.fullmatch(as_name)):
        raise ScriptError(f"{where}.as: {as_name!r} is not a valid name (letters, digits and _)")
    when = raw.get("when")
    if when is not None:
        if isinstance(when, bool):
            when = "true" if when else "false"
        if not isinstance(when, str):
            raise ScriptError(f'{where}.when: expected an expression such as "args.fail"')
        try:
            template.check_expression(when)
        except template.TemplateError as err:
            raise ScriptError(f"{where}.when: {err}") from None
    parser = _BODY_PARSERS[kind]
    try:
        body = parser(raw[kind], f"{where}.{kind}")
    except template.TemplateError as err:
        raise ScriptError(f"{where}.{kind}: {err}") from None
    return Step(index, key, kind, body, when, as_name)


def _fields(value: Any, where: str, allowed: set[str], shorthand: str | None) -> dict[str, Any]:
    if isinstance(value, dict):
        unknown = set(value) - allowed
        if unknown:
            raise ScriptError(
                f"{where}: unknown field(s) {', '.join(sorted(unknown))} "
                f"(allowed: {', '.join(sorted(allowed))})"
            )
        return value
    if shorthand is None:
        raise ScriptError(f"{where}: expected an object")
    return {shorthand: value}


def _text(value: Any, where: str, *, required: bool = True) -> Any:
    if value is None:
        if required:
            raise ScriptError(f"{where}: required")
        return None
    if not isinstance(value, str):
        raise ScriptError(f"{where}: expected a string, got {type(value).__name__}")
    template.compile_template(value)
    return value


def _count(value: Any, where: str) -> Any:
    if value is None:
        return None
    if isinstance(value, str):
        template.compile_template(value)
        return value
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise ScriptError(f"{where}: expected an integer from 0 to {MAX_COUNT} or a template")
    return value


def _duration(value: Any, where: str, *, required: bool) -> Any:
    if value is None:
        if required:
            raise ScriptError(f"{where}: required (a duration such as '2s')")
        return None
    if isinstance(value, str) and "{{" in value:
        template.compile_template(value)
        return value
    try:
        parse_duration(value)
    except ValueError as err:
        raise ScriptError(f"{where}: {err}") from None
    return value


def _parse_log(value: Any, where: str) -> LogStep:
    fields = _fields(value, where, {"message", "count", "interval"}, "message")
    message = _text(fields.get("message"), f"{where}.message")
    return LogStep(
        message,
        _count(fields.get("count", 1), f"{where}.count"),
        _duration(fields.get("interval"), f"{where}.interval", required=False),
    )


def _parse_sleep(value: Any, where: str) -> SleepStep:
    fields = _fields(value, where, {"duration"}, "duration")
    return SleepStep(_duration(fields.get("duration"), f"{where}.duration", required=True))


def _parse_spawn(value: Any, where: str) -> SpawnStep:
    allowed = {"function", "arguments", "count", "wait", "retry", "timeout", "displayName"}
    fields = _fields(value, where, allowed, "function")
    function = fields.get("function")
    if not isinstance(function, str) or not function:
        raise ScriptError(f"{where}.function: required, the name of the Function to spawn")
    template.compile_template(function)
    arguments = fields.get("arguments", {})
    if not isinstance(arguments, (dict, str)):
        raise ScriptError(f"{where}.arguments: expected an object (or a template giving one)")
    template.check(arguments)
    wait = fields.get("wait", True)
    if not isinstance(wait, bool):
        raise ScriptError(f"{where}.wait: expected true or false")
    for name in ("retry", "timeout"):
        if fields.get(name) is not None and not isinstance(fields[name], dict):
            raise ScriptError(f"{where}.{name}: expected an object like the Execution's spec.{name}")
    return SpawnStep(
        function,
        arguments,
        _count(fields.get("count"), f"{where}.count"),
        wait,
        fields.get("retry"),
        fields.get("timeout"),
        _text(fields.get("displayName"), f"{where}.displayName", required=False),
    )


def _parse_suspend(value: Any, where: str) -> SuspendStep:
    if value is None:
        value = {}
    fields = _fields(value, where, {"message", "for", "displayName"}, "message")
    return SuspendStep(
        _text(fields.get("message"), f"{where}.message", required=False),
        _duration(fields.get("for"), f"{where}.for", required=False),
        _text(fields.get("displayName"), f"{where}.displayName", required=False),
    )


def _parse_fail(value: Any, where: str) -> FailStep:
    fields = _fields(value, where, {"message", "firstAttempts", "retryable"}, "message")
    first = fields.get("firstAttempts")
    if first is not None and (isinstance(first, bool) or not isinstance(first, int) or first < 1):
        raise ScriptError(f"{where}.firstAttempts: expected a positive integer")
    retryable = fields.get("retryable", True)
    if not isinstance(retryable, bool):
        raise ScriptError(f"{where}.retryable: expected true or false")
    return FailStep(_text(fields.get("message", "failed"), f"{where}.message"), first, retryable)


def _parse_return(value: Any, where: str) -> ReturnStep:
    template.check(value)
    return ReturnStep(value)


_BODY_PARSERS: dict[str, Any] = {
    "log": _parse_log,
    "sleep": _parse_sleep,
    "spawn": _parse_spawn,
    "suspend": _parse_suspend,
    "fail": _parse_fail,
    "return": _parse_return,
}
