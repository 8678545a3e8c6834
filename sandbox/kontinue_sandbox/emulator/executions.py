"""The Execution controller: phases, bookkeeping, retries, timeouts, cancellation, TTL (spec §3).

``reconcile`` is level-based: it reads the cached Execution and does the one thing its status calls
for, then looks again (a few times at most), so a restarted emulator continues from whatever the
resources say. Every write to an Execution happens under that execution's lock with its
resourceVersion as a precondition; a conflict (a client canceled it meanwhile, say) re-reads and
decides again. Runs of the behaviour script (``runner.py``) execute outside the lock and hand their
outcome back through ``_apply_outcome``, which checks that the execution is still theirs.

Transitions (spec §3.4): init -> Pending -> Executing -> Completed | Backoff -> Pending (attempt+1)
| Failed; Executing -> Suspended -> Executing; any non-terminal -> Failed (OverallTimeout) |
Canceled (ParentCanceled, or by a client) | Skipped (by a client); Failed | Canceled -> Pending on a
manual retry (generation > observedGeneration).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.archive import Archiver
from kontinue_sandbox.emulator.context import Context, clone
from kontinue_sandbox.emulator.functions import (
    execution_defaults,
    merged_arguments,
    worker_group,
)
from kontinue_sandbox.emulator.informer import Key
from kontinue_sandbox.emulator.runner import Checkpoint, Outcome, RunAborted, Runner
from kontinue_sandbox.emulator.script import ScriptError
from kontinue_sandbox.emulator.times import (
    Speed,
    format_timestamp,
    maybe_timestamp,
    parse_duration,
)
from kontinue_sandbox.emulator.worker import Ending

log = logging.getLogger(__name__)

MAX_PASSES = 8
CASCADE_PHASES = frozenset({"Canceled", "Skipped"})
CLIENT_ENDS = {
    "Canceled": ("CanceledByClient", "Canceled by client"),
    "Skipped": ("SkippedByClient", "Skipped by client"),
}
"""The reason and message of an end a client wrote without them (spec §3.3, §9.5, §9.6)."""
ENDING_REASONS = {"Canceled": {"CanceledByClient", "ParentCanceled"}, "Skipped": {"SkippedByClient"}}
"""The reasons an execution may end with in these phases; any other is left from before the end."""
ATTEMPT_LOCAL_STEPS = ("log/", "sleep/", "progress/")
DURABLE_STEPS = {"Execution": "spawn", "Suspension": "suspend"}
"""The state prefix of the step that made a child of each kind (``spawn/<step>``, ``suspend/<step>``)."""


def cascades(execution: dict[str, Any]) -> bool:
    """Whether ``execution``'s end cancels its descendants (spec §3.7)."""
    phase = names.phase(execution)
    if phase in CASCADE_PHASES:
        return True
    return phase == "Failed" and names.status(execution).get("reason") == "OverallTimeout"


def _duration(value: Any) -> timedelta | None:
    if value is None:
        return None
    try:
        return parse_duration(value)
    except ValueError:
        return None


@dataclass
class Run:
    attempt: int
    token: str
    task: asyncio.Task[None]


class ExecutionController:
    def __init__(self, ctx: Context, archiver: Archiver) -> None:
        self.ctx = ctx
        self.archiver = archiver
        self._locks: dict[Key, asyncio.Lock] = {}
        self._runs: dict[Key, Run] = {}
        self._background: set[asyncio.Task[None]] = set()

    # -- plumbing ----------------------------------------------------------------------------------

    def _lock(self, key: Key) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
        return lock

    def forget(self, key: Key, execution: dict[str, Any] | None = None) -> None:
        """The execution is gone: stop its run and end its attempt's Pod and Job."""
        self._stop_run(key)
        if (
            execution is not None
            and names.status(execution).get("worker")
            and not names.is_terminal(execution)
        ):
            attempt = int(names.status(execution).get("attempt") or 1)
            task = asyncio.get_running_loop().create_task(self._end_orphan(execution, attempt))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        lock = self._locks.get(key)
        if lock is not None and not lock.locked():
            del self._locks[key]

    async def _end_orphan(self, execution: dict[str, Any], attempt: int) -> None:
        try:
            await self.ctx.workers.finish(execution, attempt, "canceled", "execution deleted")
        except Exception as err:  # best effort: the Job may be gone with its execution
            log.debug("ending the worker of deleted %s: %s", names.meta(execution).get("name"), err)

    def _stop_run(self, key: Key) -> None:
        run = self._runs.pop(key, None)
        if run is not None and not run.task.done() and run.task is not asyncio.current_task():
            run.task.cancel()

    async def shutdown(self) -> None:
        tasks = [run.task for run in self._runs.values()] + list(self._background)
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(BaseException):
                await task
        self._runs.clear()

    def _now(self) -> datetime:
        return self.ctx.clock.now()

    async def _write(self, execution: dict[str, Any], status: dict[str, Any]) -> dict[str, Any] | None:
        return await self.ctx.write_status(self.ctx.executions, execution, status)

    def _key(self, execution: dict[str, Any]) -> Key:
        metadata = names.meta(execution)
        return (str(metadata["namespace"]), str(metadata["name"]))

    # -- reconcile ---------------------------------------------------------------------------------

    async def reconcile(self, namespace: str, name: str) -> None:
        key = (namespace, name)
        async with self._lock(key):
            for _ in range(MAX_PASSES):
                execution = self.ctx.executions.store.get(namespace, name)
                if execution is None:
                    self._stop_run(key)
                    return
                if not await self._pass(execution):
                    return
            self.ctx.queue.add(("Execution", namespace, name))

    async def _pass(self, execution: dict[str, Any]) -> bool:
        """Do the next thing; True when something was written and the execution should be re-read."""
        if names.meta(execution).get("deletionTimestamp"):
            self._stop_run(self._key(execution))
            return False
        status = names.status(execution)
        if names.is_terminal(execution):
            return await self._terminal(execution)
        if not status.get("attempt"):
            return await self._init(execution)
        function = self.ctx.function(self._key(execution)[0], str(names.spec(execution).get("function")))
        speed = self.ctx.speed_for(function)
        parent = self._parent(execution)
        if parent is not None and cascades(parent):
            verb = "skipped" if names.phase(parent) == "Skipped" else "canceled"
            if names.phase(parent) == "Failed":
                verb = "failed (overall timeout)"
            message = f"parent execution {names.meta(parent)['name']} was {verb}"
            return await self._end(execution, "Canceled", "ParentCanceled", message, ending="canceled")
        if await self._overall_timeout(execution, speed):
            return True
        phase = names.phase(execution)
        if phase == "Pending":
            return await self._pending(execution, function, speed)
        if phase == "Executing":
            return await self._executing(execution, function, speed)
        if phase == "Suspended":
            return await self._suspended(execution, function, speed)
        if phase == "Backoff":
            return await self._backoff(execution, speed)
        return False

    def _parent(self, execution: dict[str, Any]) -> dict[str, Any] | None:
        parent = names.labels(execution).get(names.LABEL_PARENT)
        if not parent:
            return None
        return self.ctx.executions.store.get(self._key(execution)[0], parent)

    # -- init and defaults -------------------------------------------------------------------------

    def _with_defaults(self, execution: dict[str, Any], function: dict[str, Any]) -> dict[str, Any] | None:
        """The execution with the function's defaults and labels filled in, or None if complete."""
        updated: dict[str, Any] = clone(execution)
        spec = updated.setdefault("spec", {})
        metadata = updated.setdefault("metadata", {})
        labels = metadata.setdefault("labels", {})
        spec["arguments"] = merged_arguments(function, spec.get("arguments"))
        defaults = execution_defaults(function)
        is_root = names.LABEL_PARENT not in labels
        for field_name in ("retry", "timeout", "ttl"):
            if field_name == "ttl" and not is_root:
                continue
            if field_name not in spec and field_name in defaults:
                spec[field_name] = defaults[field_name]
        labels.setdefault(names.LABEL_FUNCTION, str(spec.get("function")))
        group = worker_group(function)
        if group:
            labels.setdefault(names.LABEL_WORKER_GROUP, group)
        if updated["spec"] == names.spec(execution) and labels == names.labels(execution):
            return None
        return updated

    async def _apply_defaults(self, execution: dict[str, Any], function: dict[str, Any]) -> bool:
        """Write missing defaults once, before the first start (spec §7.1); True when written."""
        status = names.status(execution)
        if status.get("startedAt") or status.get("attempts") or int(status.get("attempt") or 1) > 1:
            return False
        updated = self._with_defaults(execution, function)
        if updated is None:
            return False
        await self.ctx.write_object(self.ctx.executions, updated)
        return True

    async def _init(self, execution: dict[str, Any]) -> bool:
        namespace = self._key(execution)[0]
        function_name = str(names.spec(execution).get("function"))
        function = self.ctx.function(namespace, function_name)
        if function is not None and await self._apply_defaults(execution, function):
            return True
        status = clone(names.status(execution))
        status.update(
            phase="Pending",
            attempt=1,
            resumptions=0,
            observedGeneration=int(names.meta(execution).get("generation") or 1),
        )
        if function is None:
            status.update(reason="FunctionNotFound", message=f"function {function_name} is not registered")
        else:
            status.update(reason="WaitingForWorker", message="waiting for a worker")
        await self._write(execution, status)
        return True

    # -- Pending -----------------------------------------------------------------------------------

    async def _set_waiting(self, execution: dict[str, Any], reason: str, message: str) -> bool:
        status = names.status(execution)
        if status.get("reason") == reason and status.get("message") == message:
            return False
        await self._write(execution, {**clone(status), "reason": reason, "message": message})
        return False

    async def _pending(
        self, execution: dict[str, Any], function: dict[str, Any] | None, speed: Speed
    ) -> bool:
        if function is None:
            name = names.spec(execution).get("function")
            return await self._set_waiting(
                execution, "FunctionNotFound", f"function {name} is not registered"
            )
        if await self._apply_defaults(execution, function):
            return True
        key = self._key(execution)
        may_start, reason, message = self.ctx.scheduler.decide(execution)
        if not may_start:
            return await self._set_waiting(execution, reason, message)
        try:
            await self._start(execution, function, speed, picked_up=False)
        finally:
            self.ctx.scheduler.release(key)
        return False

    async def _start(
        self, execution: dict[str, Any], function: dict[str, Any] | None, speed: Speed, *, picked_up: bool
    ) -> None:
        """Pending -> Executing, Suspended -> Executing, or a pick-up of an orphaned run (§3.4)."""
        status = clone(names.status(execution))
        attempt = int(status.get("attempt") or 1)
        job, pod = self.ctx.workers.names_for(execution, attempt)
        if names.phase(execution) != "Suspended" or not self.ctx.workers.knows(self._key(execution)[0], pod):
            pod = await self.ctx.workers.start(execution, attempt, worker_group(function))
        now = format_timestamp(self._now())
        status["phase"] = "Executing"
        status["reason"] = "Running"
        status["message"] = f"attempt {attempt} running on pod {pod}"
        status["lastResumedAt"] = now
        status.setdefault("attemptStartedAt", now)
        if status.get("startedAt"):
            status["resumptions"] = int(status.get("resumptions") or 0) + 1
        else:
            status["startedAt"] = now
        status["worker"] = pod
        status["observedGeneration"] = int(names.meta(execution).get("generation") or 1)
        children = [
            c
            for c in status.get("children") or []
            if not (c.get("kind") == "Job" and c.get("step") == names.WORKER_STEP)
        ]
        children.insert(0, {"kind": "Job", "name": job, "step": names.WORKER_STEP, "attempt": attempt})
        status["children"] = children
        updated = await self._write(execution, status)
        if updated is not None:
            if picked_up:
                self.ctx.workers.log(
                    self._key(execution)[0], pod, f"kontinue emulator: picked up attempt {attempt} again"
                )
            self._launch(updated, function, speed, pod)

    # -- Executing ---------------------------------------------------------------------------------

    def _launch(
        self, execution: dict[str, Any], function: dict[str, Any] | None, speed: Speed, pod: str
    ) -> None:
        key = self._key(execution)
        status = names.status(execution)
        token = str(status.get("lastResumedAt"))
        attempt = int(status.get("attempt") or 1)
        self._stop_run(key)
        task = asyncio.get_running_loop().create_task(
            self._run(key, execution, function, speed, pod, attempt, token), name=f"run {key[0]}/{key[1]}"
        )
        self._runs[key] = Run(attempt, token, task)

    def _is_current(self, execution: dict[str, Any] | None, attempt: int, token: str) -> bool:
        if execution is None or names.phase(execution) != "Executing":
            return False
        status = names.status(execution)
        return int(status.get("attempt") or 1) == attempt and str(status.get("lastResumedAt")) == token

    async def _run(
        self,
        key: Key,
        execution: dict[str, Any],
        function: dict[str, Any] | None,
        speed: Speed,
        pod: str,
        attempt: int,
        token: str,
    ) -> None:
        try:
            outcome = await self._execute(key, execution, function, speed, pod, attempt, token)
            await self._apply_outcome(key, attempt, token, outcome)
        except (RunAborted, asyncio.CancelledError):
            return
        except Exception:
            log.exception("run of %s/%s failed inside the emulator; picking it up again in 1s", *key)
            self.ctx.queue.add_at(("Execution", *key), self._now() + timedelta(seconds=1))
        finally:
            run = self._runs.get(key)
            if run is not None and run.token == token and run.task is asyncio.current_task():
                del self._runs[key]

    async def _execute(
        self,
        key: Key,
        execution: dict[str, Any],
        function: dict[str, Any] | None,
        speed: Speed,
        pod: str,
        attempt: int,
        token: str,
    ) -> Outcome:
        function_name = names.spec(execution).get("function")
        if function is None:
            message = f"function {function_name} is no longer registered"
            self.ctx.workers.log(key[0], pod, f"error: {message}")
            return Outcome(
                "error",
                clone(names.status(execution).get("state") or {}),
                clone(names.status(execution).get("children") or []),
                reason="NonRetryableError",
                message=message,
            )
        try:
            script = self.ctx.scripts.script(function)
        except ScriptError as err:
            message = f"function {function_name} has a malformed emulator behaviour script: {err}"
            self.ctx.workers.log(key[0], pod, f"error: {message}")
            return Outcome(
                "error",
                clone(names.status(execution).get("state") or {}),
                clone(names.status(execution).get("children") or []),
                reason="NonRetryableError",
                message=message,
            )

        async def checkpoint(point: Checkpoint) -> None:
            async with self._lock(key):
                for _ in range(5):
                    current = self.ctx.executions.store.get(*key)
                    if not self._is_current(current, attempt, token):
                        raise RunAborted()
                    assert current is not None
                    status = {
                        **clone(names.status(current)),
                        "state": point.state,
                        "children": point.children,
                    }
                    if await self._write(current, status) is not None:
                        return
                raise RunAborted()

        runner = Runner(self.ctx, execution, function, script, pod, speed, checkpoint)
        return await runner.run()

    async def _apply_outcome(self, key: Key, attempt: int, token: str, outcome: Outcome) -> None:
        async with self._lock(key):
            for _ in range(5):
                execution = self.ctx.executions.store.get(*key)
                if not self._is_current(execution, attempt, token):
                    return
                assert execution is not None
                if await self._record(execution, outcome):
                    break
        self.ctx.queue.add(("Execution", *key))

    async def _record(self, execution: dict[str, Any], outcome: Outcome) -> bool:
        """Write the outcome of a run; False when the write lost a race (re-read and retry)."""
        status = clone(names.status(execution))
        status["state"] = outcome.state
        status["children"] = outcome.children
        if outcome.kind == "completed":
            status.update(
                phase="Completed",
                reason="Succeeded",
                message="completed",
                finishedAt=format_timestamp(self._now()),
            )
            status.pop("result", None)
            if outcome.result is not None:
                status["result"] = outcome.result
            if await self._write(execution, status) is None:
                return False
            await self.ctx.workers.finish(execution, int(status.get("attempt") or 1), "succeeded")
            return True
        if outcome.kind == "blocked":
            status.update(phase="Suspended", reason="WaitingForChild", message=outcome.message)
            return await self._write(execution, status) is not None
        return await self._attempt_failed(
            execution, status, outcome.reason, outcome.message, outcome.retryable
        )

    async def _attempt_failed(
        self, execution: dict[str, Any], status: dict[str, Any], reason: str, message: str, retryable: bool
    ) -> bool:
        """The current attempt failed: Backoff when a retry applies, else Failed (spec §3.6)."""
        spec = names.spec(execution)
        retry = spec.get("retry") if isinstance(spec.get("retry"), dict) else {}
        assert isinstance(retry, dict)
        attempt = int(status.get("attempt") or 1)
        retries = int(retry.get("retries") or 0)
        now = self._now()
        if retryable and attempt - 1 < retries:
            backoff = _duration(retry.get("backoff") or "5s") or timedelta(seconds=5)
            speed = self.ctx.speed_for(self.ctx.function(self._key(execution)[0], str(spec.get("function"))))
            status.update(
                phase="Backoff",
                reason=reason,
                message=message,
                nextAttemptAt=format_timestamp(now + speed.scale(backoff)),
            )
        else:
            status.update(phase="Failed", reason=reason, message=message, finishedAt=format_timestamp(now))
        if await self._write(execution, status) is None:
            return False
        await self.ctx.workers.finish(execution, attempt, "failed", message)
        return True

    async def _executing(
        self, execution: dict[str, Any], function: dict[str, Any] | None, speed: Speed
    ) -> bool:
        key = self._key(execution)
        status = names.status(execution)
        attempt = int(status.get("attempt") or 1)
        token = str(status.get("lastResumedAt"))
        run = self._runs.get(key)
        if run is None or run.token != token or run.attempt != attempt or run.task.done():
            # Nobody runs it (the emulator restarted, or a run died): pick it up again.
            await self._start(execution, function, speed, picked_up=True)
            return False
        limit = _duration((names.spec(execution).get("timeout") or {}).get("attempt"))
        resumed = maybe_timestamp(status.get("lastResumedAt"))
        if limit is not None and resumed is not None:
            deadline = resumed + speed.scale(limit)
            if self._now() >= deadline:
                self._stop_run(key)
                limit_text = (names.spec(execution).get("timeout") or {}).get("attempt")
                message = f"attempt {attempt} exceeded its timeout of {limit_text}"
                self.ctx.workers.log(key[0], str(status.get("worker") or ""), f"error: {message}")
                await self._attempt_failed(execution, clone(status), "AttemptTimeout", message, True)
                return True
            self.ctx.queue.add_at(("Execution", *key), deadline)
        return False

    # -- Suspended ---------------------------------------------------------------------------------

    def _awaited(self, execution: dict[str, Any]) -> list[tuple[str, str]]:
        status = names.status(execution)
        state = status.get("state") or {}
        awaited = []
        for child in status.get("children") or []:
            kind, step = child.get("kind"), child.get("step")
            memo = {"Execution": f"spawn/{step}", "Suspension": f"suspend/{step}"}.get(str(kind))
            if memo is not None and memo not in state:
                awaited.append((str(kind), str(child.get("name"))))
        return awaited

    async def _suspended(
        self, execution: dict[str, Any], function: dict[str, Any] | None, speed: Speed
    ) -> bool:
        namespace = self._key(execution)[0]
        for kind, name in self._awaited(execution):
            if kind == "Execution":
                child = self.ctx.executions.store.get(namespace, name)
                if child is not None and not names.is_terminal(child):
                    return False
            else:
                suspension = self.ctx.suspensions.store.get(namespace, name)
                if (
                    suspension is not None
                    and names.suspension_phase(suspension) not in names.TERMINAL_SUSPENSION_PHASES
                ):
                    return False
        await self._start(execution, function, speed, picked_up=False)
        return False

    # -- Backoff -----------------------------------------------------------------------------------

    async def _backoff(self, execution: dict[str, Any], speed: Speed) -> bool:
        key = self._key(execution)
        status = clone(names.status(execution))
        next_attempt = maybe_timestamp(status.get("nextAttemptAt"))
        now = self._now()
        if next_attempt is not None and now < next_attempt:
            self.ctx.queue.add_at(("Execution", *key), next_attempt)
            return False
        spec = names.spec(execution)
        retry = spec.get("retry") if isinstance(spec.get("retry"), dict) else {}
        assert isinstance(retry, dict)
        backoff = _duration(retry.get("backoff") or "5s") or timedelta(seconds=5)
        failed_at = (next_attempt or now) - speed.scale(backoff)
        started = maybe_timestamp(status.get("attemptStartedAt"))
        if started is not None and failed_at < started:
            failed_at = started
        status = self._next_attempt(status, "Failed", format_timestamp(failed_at), retry.get("childPolicy"))
        await self._write(execution, status)
        return True

    @staticmethod
    def _next_attempt(
        status: dict[str, Any], phase: str, finished_at: str | None, policy: Any
    ) -> dict[str, Any]:
        """Close the current attempt into ``attempts`` and open the next one, Pending."""
        attempt = int(status.get("attempt") or 1)
        record: dict[str, Any] = {"attempt": attempt, "phase": phase}
        for field_name, value in (
            ("reason", status.get("reason")),
            ("message", status.get("message")),
            ("startedAt", status.get("attemptStartedAt")),
            ("finishedAt", finished_at),
        ):
            if value:
                record[field_name] = value
        status["attempts"] = [*(status.get("attempts") or []), record]
        status["attempt"] = attempt + 1
        children = status.get("children") or []
        for field_name in (
            "attemptStartedAt",
            "lastResumedAt",
            "nextAttemptAt",
            "message",
            "reason",
            "children",
            "worker",
        ):
            status.pop(field_name, None)
        state = status.pop("state", None) or {}
        if policy != "RetryAll":
            # log and sleep steps belong to the attempt that ran them; durable steps (spawn, suspend)
            # are reused according to the child policy (RetryAll clears everything, spec §3.6).
            kept = {k: v for k, v in state.items() if not k.startswith(ATTEMPT_LOCAL_STEPS)}
            if kept:
                status["state"] = kept
            # A finished step is not run again, so the children it used are this attempt's too:
            # `children` lists the child resources of the current attempt (spec §3.2).
            reused = [
                c for c in children if f"{DURABLE_STEPS.get(c.get('kind'), '')}/{c.get('step')}" in kept
            ]
            if reused:
                status["children"] = clone(reused)
        status["phase"] = "Pending"
        return status

    # -- timeouts and endings ----------------------------------------------------------------------

    async def _overall_timeout(self, execution: dict[str, Any], speed: Speed) -> bool:
        limit_text = (names.spec(execution).get("timeout") or {}).get("overall")
        limit = _duration(limit_text)
        started = maybe_timestamp(names.status(execution).get("startedAt"))
        if limit is None or started is None:
            return False
        deadline = started + speed.scale(limit)
        if self._now() < deadline:
            self.ctx.queue.add_at(("Execution", *self._key(execution)), deadline)
            return False
        message = f"execution exceeded its overall timeout of {limit_text}"
        return await self._end(execution, "Failed", "OverallTimeout", message, ending="failed")

    async def _end(
        self, execution: dict[str, Any], phase: str, reason: str, message: str, *, ending: Ending
    ) -> bool:
        key = self._key(execution)
        self._stop_run(key)
        status = clone(names.status(execution))
        status.update(phase=phase, reason=reason, message=message, finishedAt=format_timestamp(self._now()))
        if not status.get("attempt"):
            status.update(attempt=1, resumptions=0)
        status.pop("nextAttemptAt", None)
        if await self._write(execution, status) is None:
            return True
        worker = status.get("worker")
        if worker:
            self.ctx.workers.log(key[0], str(worker), f"error: {message}")
            await self.ctx.workers.finish(execution, int(status.get("attempt") or 1), ending, message)
        return True

    # -- terminal ----------------------------------------------------------------------------------

    async def _terminal(self, execution: dict[str, Any]) -> bool:
        key = self._key(execution)
        self._stop_run(key)
        status = names.status(execution)
        phase = names.phase(execution)
        attempt = int(status.get("attempt") or 1)
        if await self._complete_external_end(execution, phase):
            return True
        if status.get("worker"):
            ending: Ending = (
                "canceled" if phase in CASCADE_PHASES else ("succeeded" if phase == "Completed" else "failed")
            )
            await self.ctx.workers.finish(execution, attempt, ending, str(status.get("message") or ""))
        generation = int(names.meta(execution).get("generation") or 1)
        observed = int(status.get("observedGeneration") or 0)
        if generation > observed:
            retry = names.spec(execution).get("retry") or {}
            retries = int(retry.get("retries") or 0) if isinstance(retry, dict) else 0
            updated = clone(status)
            if phase in ("Failed", "Canceled") and attempt - 1 < retries and status.get("attempt"):
                updated = self._manual_retry(
                    updated, phase, retry.get("childPolicy") if isinstance(retry, dict) else None
                )
            updated["observedGeneration"] = generation
            await self._write(execution, updated)
            return True
        if names.LABEL_PARENT not in names.labels(execution):
            await self._ttl(execution)
        return False

    async def _complete_external_end(self, execution: dict[str, Any], phase: str) -> bool:
        """Finish an end another client wrote with the phase alone (``kubectl patch
        --subresource=status -p '{"status":{"phase":"Canceled"}}'``), as a client's cancel or skip
        would have written it (spec §9.5, §9.6): the ending reason and message, and ``finishedAt``,
        without which the TTL could never archive it. True when something was written."""
        status = names.status(execution)
        defaults = CLIENT_ENDS.get(phase)
        stale_reason = defaults is not None and status.get("reason") not in ENDING_REASONS[phase]
        if status.get("finishedAt") and not stale_reason:
            return False
        updated = clone(status)
        if not updated.get("finishedAt"):
            updated["finishedAt"] = format_timestamp(self._now())
        if defaults is not None and stale_reason:
            updated["reason"], updated["message"] = defaults
        updated.pop("nextAttemptAt", None)
        await self._write(execution, updated)
        return True

    def _manual_retry(self, status: dict[str, Any], phase: str, policy: Any) -> dict[str, Any]:
        """spec §3.6: a client's RetryExecution of a Failed or Canceled execution."""
        status = self._next_attempt(status, phase, status.get("finishedAt"), policy)
        for field_name in ("result", "finishedAt", "startedAt"):
            status.pop(field_name, None)
        return status

    async def _ttl(self, execution: dict[str, Any]) -> None:
        ttl = names.spec(execution).get("ttl")
        finished = maybe_timestamp(names.status(execution).get("finishedAt"))
        if not isinstance(ttl, dict) or finished is None:
            return
        archive_after, delete_after = _duration(ttl.get("archiveAfter")), _duration(ttl.get("deleteAfter"))
        if archive_after is None and delete_after is None:
            return
        namespace = self._key(execution)[0]
        speed = self.ctx.speed_for(self.ctx.function(namespace, str(names.spec(execution).get("function"))))
        now = self._now()
        key = ("Execution", *self._key(execution))
        delete_at = finished + speed.scale(delete_after) if delete_after is not None else None
        if delete_at is not None and (
            archive_after is None or (delete_after is not None and delete_after <= archive_after)
        ):
            if now >= delete_at:
                await self.archiver.delete_tree(execution)
            else:
                self.ctx.queue.add_at(key, delete_at)
            return
        assert archive_after is not None
        archive_at = finished + speed.scale(archive_after)
        if now >= archive_at:
            await self.archiver.archive(execution, delete_at)
        else:
            self.ctx.queue.add_at(key, archive_at)
