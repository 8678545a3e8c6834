"""The Suspension controller (spec §5): start them Suspended, wake Sleeps at resumeAt, cancel orphans.

A client resumes a suspension by writing ``status.phase: Completed`` itself; the emulator only
notices (the parent execution is woken by the change) and never undoes it. A Sleep suspension
completes by itself at ``spec.resumeAt`` (``resumedBy: Timer``). A suspension whose parent was
canceled or skipped (or failed its overall timeout) is canceled with it.
"""

from __future__ import annotations

import logging

from kontinue_sandbox.emulator import names
from kontinue_sandbox.emulator.context import Context, clone
from kontinue_sandbox.emulator.executions import cascades
from kontinue_sandbox.emulator.times import format_timestamp, maybe_timestamp

log = logging.getLogger(__name__)


class SuspensionController:
    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx

    async def reconcile(self, namespace: str, name: str) -> None:
        informer = self.ctx.suspensions
        suspension = informer.store.get(namespace, name)
        if suspension is None or names.meta(suspension).get("deletionTimestamp"):
            return
        phase = names.suspension_phase(suspension)
        if phase in names.TERMINAL_SUSPENSION_PHASES:
            return
        status = clone(names.status(suspension))
        now = self.ctx.clock.now()
        parent_name = names.labels(suspension).get(names.LABEL_PARENT)
        parent = self.ctx.executions.store.get(namespace, parent_name) if parent_name else None
        if parent is not None and cascades(parent):
            status.update(
                phase="Canceled",
                resumedAt=format_timestamp(now),
                message=f"parent execution {parent_name} was {names.phase(parent).lower()}",
            )
            await self.ctx.write_status(informer, suspension, status)
            return
        spec = names.spec(suspension)
        resume_at = maybe_timestamp(spec.get("resumeAt")) if spec.get("type") == "Sleep" else None
        if resume_at is not None and now >= resume_at:
            status.update(
                phase="Completed",
                resumedAt=format_timestamp(now),
                resumedBy="Timer",
                message=f"slept until {spec.get('resumeAt')}",
            )
            await self.ctx.write_status(informer, suspension, status)
            return
        if not status.get("phase"):
            status["phase"] = "Suspended"
            await self.ctx.write_status(informer, suspension, status)
        if resume_at is not None:
            self.ctx.queue.add_at(("Suspension", namespace, name), resume_at)
