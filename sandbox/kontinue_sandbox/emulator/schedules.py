"""The ScheduledExecution controller (spec §6): cron runs, active/history, suspend, pruning.

Cron times are evaluated in ``spec.timeZone`` with croniter. A run is due when the schedule's
clock reaches ``status.nextScheduleTime``; the emulator then creates the Execution for the latest
due time only (runs missed while the emulator was down collapse into one), named
``<schedule>-<unix seconds of the scheduled time>``, labelled with the schedule, the function and
the worker group, owned by the ScheduledExecution, with arguments merged with the Function's
defaults and retry/timeout/ttl/mutex from ``executionDefaults`` (else the Function's defaults).
Overlapping runs are allowed. ``spec.suspend: true`` clears ``nextScheduleTime`` and creates
nothing; resuming plans the next time from the moment of resuming (times that passed while
suspended are skipped, unlike a CronJob's catch-up run).

Speed: the schedule's clock runs ``speed`` times faster than real time from the schedule's
``creationTimestamp`` on, so ``* * * * *`` at speed 60 fires every real second. Its timestamps
(``lastScheduleTime``, ``nextScheduleTime``, and the unix time in run names) are on that clock; at
speed 1 they are plain wall-clock times.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.archive import Archiver
from kontinue_sandbox.emulator.context import INDEX_SCHEDULE, Context, clone
from kontinue_sandbox.emulator.functions import (
    execution_defaults,
    merged_arguments,
    worker_group,
)
from kontinue_sandbox.emulator.kube import ApiError
from kontinue_sandbox.emulator.times import Speed, format_timestamp, maybe_timestamp

log = logging.getLogger(__name__)


class Timeline:
    """A schedule's clock: real time sped up ``speed`` times from ``anchor``."""

    def __init__(self, anchor: datetime, speed: Speed) -> None:
        self.anchor = anchor
        self.factor = speed.factor

    def virtual(self, real: datetime) -> datetime:
        return self.anchor + (real - self.anchor) * self.factor

    def real(self, virtual: datetime) -> datetime:
        return self.anchor + (virtual - self.anchor) / self.factor


def cron_next(expression: str, zone: ZoneInfo, after: datetime) -> datetime:
    """The first cron time strictly after ``after``."""
    value = croniter(expression, after.astimezone(zone)).get_next(datetime)
    assert isinstance(value, datetime)
    return value.astimezone(timezone.utc)


def cron_latest(expression: str, zone: ZoneInfo, at_or_before: datetime) -> datetime:
    """The last cron time at or before ``at_or_before``."""
    start = (at_or_before + timedelta(seconds=1)).astimezone(zone)
    value = croniter(expression, start).get_prev(datetime)
    assert isinstance(value, datetime)
    return value.astimezone(timezone.utc)


def _order(execution: dict[str, Any]) -> tuple[str, str]:
    metadata = names.meta(execution)
    return (str(metadata.get("creationTimestamp") or ""), str(metadata.get("name") or ""))


class ScheduleController:
    def __init__(self, ctx: Context, archiver: Archiver) -> None:
        self.ctx = ctx
        self.archiver = archiver
        self._warned: set[tuple[str, str, str]] = set()

    def _warn_once(self, namespace: str, name: str, message: str) -> None:
        if (namespace, name, message) not in self._warned:
            self._warned.add((namespace, name, message))
            log.warning("scheduledexecution %s/%s: %s", namespace, name, message)

    async def reconcile(self, namespace: str, name: str) -> None:
        schedule = self.ctx.schedules.store.get(namespace, name)
        if schedule is None or names.meta(schedule).get("deletionTimestamp"):
            return
        spec, status = names.spec(schedule), names.status(schedule)
        expression = str(spec.get("schedule") or "")
        try:
            zone = ZoneInfo(str(spec.get("timeZone") or "UTC"))
        except (ZoneInfoNotFoundError, ValueError):
            self._warn_once(namespace, name, f"unknown time zone {spec.get('timeZone')!r}; no runs")
            return
        if not croniter.is_valid(expression):
            self._warn_once(namespace, name, f"invalid cron schedule {expression!r}; no runs")
            return
        function = self.ctx.function(namespace, str(spec.get("function") or ""))
        anchor = maybe_timestamp(names.meta(schedule).get("creationTimestamp")) or self.ctx.clock.now()
        timeline = Timeline(anchor, self.ctx.speed_for(function))
        now = timeline.virtual(self.ctx.clock.now())
        updated = clone(status)
        if spec.get("suspend"):
            updated.pop("nextScheduleTime", None)
        else:
            last = maybe_timestamp(status.get("lastScheduleTime"))
            planned = maybe_timestamp(status.get("nextScheduleTime"))
            if planned is None:
                planned = cron_next(expression, zone, max(now, last) if last else now)
            if now >= planned:
                due = max(cron_latest(expression, zone, now), planned)
                await self._create_run(schedule, function, due)
                updated["lastScheduleTime"] = format_timestamp(due)
                planned = cron_next(expression, zone, due)
            updated["nextScheduleTime"] = format_timestamp(planned)
            self.ctx.queue.add_at(("ScheduledExecution", namespace, name), timeline.real(planned))
        runs = [
            e
            for e in self.ctx.executions.store.by_index(INDEX_SCHEDULE, (namespace, name))
            if any(
                ref.get("uid") == names.meta(schedule).get("uid")
                for ref in names.meta(e).get("ownerReferences") or []
            )
        ]
        active = sorted(str(names.meta(e)["name"]) for e in runs if not names.is_terminal(e))
        finished = sorted((e for e in runs if names.is_terminal(e)), key=_order, reverse=True)
        limit = spec.get("historyLimit", 5)
        limit = limit if isinstance(limit, int) and limit >= 0 else 5
        history = []
        for execution in finished[:limit]:
            run_status = names.status(execution)
            entry = {"name": names.meta(execution)["name"], "phase": names.phase(execution)}
            for field_name in ("startedAt", "finishedAt"):
                if run_status.get(field_name):
                    entry[field_name] = run_status[field_name]
            history.append(entry)
        updated["active"] = active
        updated["history"] = history
        if not active:
            updated.pop("active")
        if updated != status:
            await self.ctx.write_status(self.ctx.schedules, schedule, updated)
        for execution in finished[limit:]:
            await self.archiver.delete_tree(execution)

    async def _create_run(
        self, schedule: dict[str, Any], function: dict[str, Any] | None, due: datetime
    ) -> None:
        metadata, spec = names.meta(schedule), names.spec(schedule)
        namespace, schedule_name = str(metadata["namespace"]), str(metadata["name"])
        function_name = str(spec.get("function"))
        name = names.schedule_execution_name(schedule_name, int(due.timestamp()))
        labels = {names.LABEL_SCHEDULE: schedule_name, names.LABEL_FUNCTION: function_name}
        group = worker_group(function)
        if group:
            labels[names.LABEL_WORKER_GROUP] = group
        run_spec: dict[str, Any] = {
            "function": function_name,
            "arguments": merged_arguments(function, spec.get("arguments")),
        }
        overrides = spec.get("executionDefaults") or {}
        defaults = execution_defaults(function)
        for field_name in ("retry", "timeout", "ttl", "mutex"):
            if isinstance(overrides, dict) and overrides.get(field_name):
                run_spec[field_name] = clone(overrides[field_name])
            elif field_name in defaults:
                run_spec[field_name] = defaults[field_name]
        document = {
            "apiVersion": names.API_VERSION,
            "kind": "Execution",
            "metadata": {
                "name": name,
                "namespace": namespace,
                "labels": labels,
                "ownerReferences": [names.owner_reference(schedule, "ScheduledExecution")],
            },
            "spec": run_spec,
        }
        try:
            created = await self.ctx.kube.create(names.EXECUTIONS.path(namespace), document)
            self.ctx.executions.put(created)
            log.info("schedule %s/%s created %s", namespace, schedule_name, name)
        except ApiError as err:
            if not err.conflict:
                raise
