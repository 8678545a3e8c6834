"""Running one pick-up of an attempt: the behaviour script, replayed from the top against status.state.

This is what a kontinue worker does with a function (spec §1, /docs/durability): run it from the
beginning; every step already recorded in ``status.state`` is skipped and gives its recorded value
(so a replay after a suspension redoes nothing and logs nothing again); the first step that must
wait for a child ends the run as *blocked* (the execution becomes Suspended); a ``fail`` step or a
failed child ends it as an *error*; reaching ``return`` (or the end) *completes* it.

State keys are ``<step kind>/<step key>`` (``log/0``, ``spawn/2``, ``spawn/2.1`` for the second
child of a fan-out, ``suspend/3``), each holding ``{}`` or ``{"value": <step value>}``; a repeated
log step in progress also keeps ``progress/log/<key>``, the number of lines already written. They
are written when the run ends, and before in-process waits (``sleep``, a log ``interval``; at most
once a second), so an emulator killed in the middle of a long step replays at most the last second
of it.

Children (spec §3.6): the child of step ``s`` created in attempt ``n`` is named
``child_name(parent, kind, s, n)``. On a later attempt the child with the highest attempt label is
reused or replaced according to ``spec.retry.childPolicy`` (None: reuse; RetryFailed: replace if
it ended Failed or Canceled; RetryAll: replace).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from kontinue_sandbox.emulator import names, template
from kontinue_sandbox.emulator.context import INDEX_CHILD_STEP, Context, clone
from kontinue_sandbox.emulator.functions import (
    argument_errors,
    execution_defaults,
    merged_arguments,
    worker_group,
)
from kontinue_sandbox.emulator.informer import Informer
from kontinue_sandbox.emulator.kube import ApiError
from kontinue_sandbox.emulator.script import (
    MAX_COUNT,
    FailStep,
    LogStep,
    ReturnStep,
    Script,
    SleepStep,
    SpawnStep,
    Step,
    SuspendStep,
)
from kontinue_sandbox.emulator.times import Speed, format_timestamp, parse_duration

log = logging.getLogger(__name__)

CHECKPOINT_INTERVAL = 1.0
"""Seconds between two saves of the state of a run that waits in-process (sleep, log interval)."""


@dataclass
class Outcome:
    """How a run ended."""

    kind: Literal["completed", "error", "blocked"]
    state: dict[str, Any]
    children: list[dict[str, Any]]
    result: Any = None
    reason: str = ""
    message: str = ""
    retryable: bool = False


class RunAborted(Exception):
    """The execution is no longer this run's (canceled, timed out, changed): stop quietly."""


class StepFailed(Exception):
    def __init__(self, reason: str, message: str, retryable: bool = False) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message
        self.retryable = retryable


class Blocked(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass
class Checkpoint:
    state: dict[str, Any]
    children: list[dict[str, Any]]


@dataclass
class Runner:
    """One run of a script for an execution snapshot (taken when the run was picked up)."""

    ctx: Context
    execution: dict[str, Any]
    function: dict[str, Any] | None
    script: Script
    pod: str
    speed: Speed
    checkpoint: Any = None
    """``async (Checkpoint) -> None``: persist state before waiting; raises RunAborted when stale."""
    state: dict[str, Any] = field(init=False)
    children: list[dict[str, Any]] = field(init=False)
    _written: tuple[Any, Any] = field(init=False)
    _saved_at: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        status = names.status(self.execution)
        self.state = clone(status.get("state") or {})
        self.children = clone(status.get("children") or [])
        self._written = (clone(self.state), clone(self.children))
        metadata = names.meta(self.execution)
        self.name = str(metadata["name"])
        self.namespace = str(metadata["namespace"])
        self.attempt = int(status.get("attempt") or 1)

    # -- helpers -----------------------------------------------------------------------------------

    def log(self, text: str) -> None:
        self.ctx.workers.log(self.namespace, self.pod, text)

    async def _wait(self, duration: timedelta) -> None:
        """An in-process wait; the state is saved first (at most once a second), so a restarted
        emulator resumes a long step close to where it was instead of from its start."""
        seconds = self.speed.scale(duration).total_seconds()
        due = time.monotonic() - self._saved_at >= CHECKPOINT_INTERVAL or seconds >= CHECKPOINT_INTERVAL
        if self.checkpoint is not None and due and (self.state, self.children) != self._written:
            await self.checkpoint(Checkpoint(clone(self.state), clone(self.children)))
            self._written = (clone(self.state), clone(self.children))
            self._saved_at = time.monotonic()
        await self.ctx.clock.sleep(seconds)

    def _outcome(self, kind: Literal["completed", "error", "blocked"], **fields: Any) -> Outcome:
        return Outcome(kind, self.state, self.children, **fields)

    def _ref(self, kind: str, name: str, step: str, attempt: int) -> None:
        ref = {"kind": kind, "name": name, "step": step, "attempt": attempt}
        self.children = [c for c in self.children if not (c.get("kind") == kind and c.get("step") == step)]
        self.children.append(ref)

    def _policy(self) -> str:
        retry = names.spec(self.execution).get("retry") or {}
        policy = retry.get("childPolicy") if isinstance(retry, dict) else None
        return policy if isinstance(policy, str) else "None"

    def _reusable(
        self, informer: Informer, step: str, failed_phases: frozenset[str]
    ) -> dict[str, Any] | None:
        """The existing child of ``step`` this attempt may use, per the child policy."""
        candidates = informer.store.by_index(INDEX_CHILD_STEP, (self.namespace, self.name, step))
        if not candidates:
            return None
        latest = max(candidates, key=names.attempt_label)
        if names.attempt_label(latest) >= self.attempt:
            return latest
        policy = self._policy()
        if policy == "RetryAll":
            return None
        phase = names.suspension_phase(latest) if informer is self.ctx.suspensions else names.phase(latest)
        if policy == "RetryFailed" and phase in failed_phases:
            return None
        return latest

    # -- the run -----------------------------------------------------------------------------------

    async def run(self) -> Outcome:
        arguments = names.spec(self.execution).get("arguments")
        if arguments is None:
            arguments = {}
        if self.function is not None:
            errors = argument_errors(self.function, arguments)
            if errors:
                return self._fail("NonRetryableError", "invalid arguments: " + "; ".join(errors))
        scope: dict[str, Any] = {
            "args": arguments,
            "results": {},
            "attempt": self.attempt,
            "execution": self.name,
            "namespace": self.namespace,
            "function": names.spec(self.execution).get("function"),
        }
        for step in self.script.steps:
            try:
                if step.when is not None and not _truthy(template.evaluate(step.when, scope)):
                    continue
                value = await self._step(step, scope)
            except template.TemplateError as err:
                return self._fail("NonRetryableError", f"step {step.key} ({step.kind}): {err}")
            except StepFailed as err:
                return self._fail(err.reason, err.message, err.retryable)
            except Blocked as err:
                return self._outcome("blocked", message=err.message)
            except _Returned as done:
                return self._outcome("completed", result=done.value)
            if step.as_name:
                scope["results"][step.as_name] = value
        return self._outcome("completed", result=None)

    def _fail(self, reason: str, message: str, retryable: bool = False) -> Outcome:
        self.log(f"error: {message}")
        return self._outcome("error", reason=reason, message=message, retryable=retryable)

    async def _step(self, step: Step, scope: dict[str, Any]) -> Any:
        body = step.body
        if isinstance(body, LogStep):
            return await self._log(step, body, scope)
        if isinstance(body, SleepStep):
            return await self._sleep(step, body, scope)
        if isinstance(body, SpawnStep):
            return await self._spawn(step, body, scope)
        if isinstance(body, SuspendStep):
            return await self._suspend(step, body, scope)
        if isinstance(body, FailStep):
            if body.first_attempts is None or self.attempt <= body.first_attempts:
                message = template.to_text(template.render(body.message, scope))
                raise StepFailed("Error" if body.retryable else "NonRetryableError", message, body.retryable)
            return None
        if isinstance(body, ReturnStep):
            raise _Returned(template.render(body.value, scope))
        raise AssertionError(f"unknown step {body!r}")  # pragma: no cover

    def _memo(self, key: str) -> tuple[bool, Any]:
        entry = self.state.get(key)
        if isinstance(entry, dict):
            return True, entry.get("value")
        return False, None

    def _remember(self, key: str, value: Any = None) -> None:
        self.state[key] = {} if value is None else {"value": value}

    async def _log(self, step: Step, body: LogStep, scope: dict[str, Any]) -> Any:
        key = f"log/{step.key}"
        done, value = self._memo(key)
        if done:
            return value
        count = _count(template.render(body.count, scope))
        interval = _duration(template.render(body.interval, scope)) if body.interval is not None else None
        progress = f"progress/{key}"
        start = self.state.get(progress, 0)
        for index in range(start if isinstance(start, int) else 0, count):
            self.log(template.to_text(template.render(body.message, {**scope, "i": index})))
            if interval is not None and index < count - 1:
                self.state[progress] = index + 1
                await self._wait(interval)
        self.state.pop(progress, None)
        self._remember(key)
        return None

    async def _sleep(self, step: Step, body: SleepStep, scope: dict[str, Any]) -> Any:
        key = f"sleep/{step.key}"
        done, value = self._memo(key)
        if done:
            return value
        await self._wait(_duration(template.render(body.duration, scope)))
        self._remember(key)
        return None

    async def _spawn(self, step: Step, body: SpawnStep, scope: dict[str, Any]) -> Any:
        key = f"spawn/{step.key}"
        done, value = self._memo(key)
        if done:
            return value
        function = template.to_text(template.render(body.function, scope))
        count = None if body.count is None else _count(template.render(body.count, scope))
        indices: list[int | None] = [None] if count is None else list(range(count))
        results: list[Any] = []
        waiting: list[str] = []
        spawned: list[str] = []
        for index in indices:
            child_step = step.key if index is None else f"{step.key}.{index}"
            child_key = f"spawn/{child_step}"
            if index is not None:
                done, child_value = self._memo(child_key)
                if done:
                    results.append(child_value)
                    continue
            local = scope if index is None else {**scope, "i": index}
            arguments = template.render(body.arguments, local)
            if not isinstance(arguments, dict):
                raise template.TemplateError(f"spawn arguments must render to an object, got {arguments!r}")
            child = await self._child_execution(child_step, function, arguments, body)
            child_name = str(names.meta(child)["name"])
            spawned.append(child_name)
            if not body.wait:
                if index is not None:
                    self._remember(child_key, child_name)
                continue
            phase = names.phase(child)
            if phase in names.RESULT_PHASES:
                result = names.status(child).get("result")
                results.append(result)
                if index is not None:
                    self._remember(child_key, result)
            elif phase == "Failed":
                message = names.status(child).get("message") or "no message"
                raise StepFailed("ChildFailed", f"child execution {child_name} failed: {message}")
            elif phase == "Canceled":
                raise StepFailed("ChildCanceled", f"child execution {child_name} was canceled")
            else:
                waiting.append(child_name)
        if not body.wait:
            value = spawned[0] if count is None else spawned
            self._remember(key, value)
            return value
        if waiting:
            if len(waiting) == 1:
                raise Blocked(f"waiting for child execution {waiting[0]}")
            raise Blocked(f"waiting for {len(waiting)} child executions")
        value = results[0] if count is None else results
        self._remember(key, value)
        return value

    async def _child_execution(
        self, step: str, function: str, arguments: dict[str, Any], body: SpawnStep
    ) -> dict[str, Any]:
        informer = self.ctx.executions
        existing = self._reusable(informer, step, frozenset({"Failed", "Canceled"}))
        if existing is not None:
            self._ref("Execution", str(names.meta(existing)["name"]), step, names.attempt_label(existing))
            return existing
        name = names.child_name(self.name, "Execution", step, self.attempt)
        child_function = self.ctx.function(self.namespace, function)
        labels = names.child_labels(self.execution, step, self.attempt, worker_group(child_function))
        labels[names.LABEL_FUNCTION] = function
        spec: dict[str, Any] = {
            "function": function,
            "arguments": merged_arguments(child_function, arguments),
        }
        defaults = execution_defaults(child_function)
        for field_name, override in (("retry", body.retry), ("timeout", body.timeout)):
            if override is not None:
                spec[field_name] = clone(override)
            elif field_name in defaults:
                spec[field_name] = defaults[field_name]
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": self.namespace,
            "labels": labels,
            "ownerReferences": [names.owner_reference(self.execution, "Execution")],
        }
        if body.display_name:
            metadata["annotations"] = {names.ANNOTATION_DISPLAY_NAME: body.display_name}
        document = {"apiVersion": names.API_VERSION, "kind": "Execution", "metadata": metadata, "spec": spec}
        child = await self._create(informer, document)
        self._ref("Execution", name, step, self.attempt)
        return child

    async def _create(self, informer: Informer, document: dict[str, Any]) -> dict[str, Any]:
        metadata = document["metadata"]
        path = informer.resource.path(metadata["namespace"])
        try:
            created = await self.ctx.kube.create(path, document)
        except ApiError as err:
            if 400 <= err.status < 500 and err.status not in (409, 429):
                kind = str(document.get("kind")).lower()
                raise StepFailed(
                    "NonRetryableError", f"cannot create {kind} {metadata['name']}: {err.message}"
                ) from None
            if not err.conflict:
                raise
            found = await self.ctx.kube.get(informer.resource.path(metadata["namespace"], metadata["name"]))
            if found is None:
                raise
            created = found
        informer.put(created)
        return created

    async def _suspend(self, step: Step, body: SuspendStep, scope: dict[str, Any]) -> Any:
        key = f"suspend/{step.key}"
        done, value = self._memo(key)
        if done:
            return value
        informer = self.ctx.suspensions
        suspension = self._reusable(informer, step.key, frozenset({"Canceled"}))
        message = template.to_text(template.render(body.message, scope)) if body.message is not None else None
        if suspension is None:
            suspension = await self._new_suspension(step, body, scope, message)
        name = str(names.meta(suspension)["name"])
        self._ref("Suspension", name, step.key, names.attempt_label(suspension))
        phase = names.suspension_phase(suspension)
        status = names.status(suspension)
        if phase == "Completed":
            value = {k: status[k] for k in ("resumedAt", "resumedBy") if status.get(k)}
            self._remember(key, value)
            return value
        if phase == "Canceled":
            raise StepFailed("ChildCanceled", f"suspension {name} was canceled")
        spec = names.spec(suspension)
        if spec.get("type") == "Sleep":
            raise Blocked(spec.get("message") or f"sleeping until {spec.get('resumeAt')}")
        raise Blocked(spec.get("message") or f"waiting for suspension {name} to be resumed")

    async def _new_suspension(
        self, step: Step, body: SuspendStep, scope: dict[str, Any], message: str | None
    ) -> dict[str, Any]:
        name = names.child_name(self.name, "Suspension", step.key, self.attempt)
        spec: dict[str, Any] = {"type": "Manual"}
        if body.duration is not None:
            duration = _duration(template.render(body.duration, scope))
            spec = {
                "type": "Sleep",
                "resumeAt": format_timestamp(self.ctx.clock.now() + self.speed.scale(duration)),
            }
        if message:
            spec["message"] = message
        metadata: dict[str, Any] = {
            "name": name,
            "namespace": self.namespace,
            "labels": names.child_labels(self.execution, step.key, self.attempt, None),
            "ownerReferences": [names.owner_reference(self.execution, "Execution")],
        }
        if body.display_name:
            metadata["annotations"] = {names.ANNOTATION_DISPLAY_NAME: body.display_name}
        document = {"apiVersion": names.API_VERSION, "kind": "Suspension", "metadata": metadata, "spec": spec}
        suspension = await self._create(self.ctx.suspensions, document)
        if not names.status(suspension).get("phase"):
            updated = await self.ctx.write_status(self.ctx.suspensions, suspension, {"phase": "Suspended"})
            if updated is not None:
                suspension = updated
            else:
                suspension = self.ctx.suspensions.store.get(self.namespace, name) or suspension
        return suspension


class _Returned(Exception):
    def __init__(self, value: Any) -> None:
        super().__init__("return")
        self.value = value


def _truthy(value: Any) -> bool:
    return bool(value)


def _count(value: Any) -> int:
    if isinstance(value, str):
        value = value.strip()
        if value.isdigit():
            value = int(value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_COUNT:
        raise template.TemplateError(f"count must be an integer from 0 to {MAX_COUNT}, got {value!r}")
    return value


def _duration(value: Any) -> timedelta:
    try:
        return parse_duration(value)
    except ValueError as err:
        raise template.TemplateError(str(err)) from None
