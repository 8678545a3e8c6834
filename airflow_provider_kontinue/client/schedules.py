"""Operations on ScheduledExecutions: read, list, suspend and resume a schedule."""

from __future__ import annotations

from .models import ScheduledExecution
from .options import ScheduleListOptions
from .protocol import Op, expect
from .resources import SCHEDULED_EXECUTIONS
from .validation import validate_namespace


def get_scheduled_execution(namespace: str, name: str) -> Op[ScheduledExecution]:
    validate_namespace(namespace)
    body = yield from expect(SCHEDULED_EXECUTIONS.get(namespace, name))
    return ScheduledExecution.model_validate(body)


def list_scheduled_executions(namespace: str, options: ScheduleListOptions) -> Op[list[ScheduledExecution]]:
    """Schedules matching the label selector (server-side) and function (client-side), by name."""
    validate_namespace(namespace)
    listed = yield from expect(
        SCHEDULED_EXECUTIONS.list(namespace, label_selector=options.label_selector_string())
    )
    found = [ScheduledExecution.model_validate(item) for item in listed.get("items", [])]
    matching = [s for s in found if not options.function or s.spec.function == options.function]
    return sorted(matching, key=lambda s: s.name)


def set_schedule_suspended(namespace: str, name: str, suspend: bool) -> Op[ScheduledExecution]:
    """Stop (``suspend=True``) or restart a schedule; idempotent, so a plain merge patch will do."""
    validate_namespace(namespace)
    body = yield from expect(
        SCHEDULED_EXECUTIONS.merge_patch(namespace, name, {"spec": {"suspend": suspend}})
    )
    return ScheduledExecution.model_validate(body)
