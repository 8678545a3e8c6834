"""What the kontinue sensors share: poke (or reschedule) mode, and a deferrable mode that waits
through the same watch triggers the operators use.

Every sensor decides from one pure function of the objects' state, used by ``poke`` (reading with
the sync hook) and by the trigger (reading from the shared watch), so both modes agree on what
"done" means. A deferrable sensor checks once before deferring and does not defer when the
condition already holds. Its ``timeout`` becomes an absolute deadline for the trigger, so it holds
while deferred too; ``soft_fail`` turns a timeout into a skip.
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowFailException, AirflowSensorTimeout, AirflowSkipException

from airflow_provider_kontinue.hooks.connection import DEFAULT_CONN_ID
from airflow_provider_kontinue.hooks.errors import kontinue_errors
from airflow_provider_kontinue.hooks.kontinue import KontinueHook

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

DEFER_TIMEOUT_PAD = timedelta(seconds=60)


class KontinueSensorBase(BaseSensorOperator):
    """Base of the kontinue sensors: ``check`` gives an outcome payload (or ``None``: not yet),
    ``trigger`` the deferrable equivalent, ``result`` what the outcome means for the task."""

    def __init__(
        self,
        *,
        namespace: str | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.namespace = namespace
        self.kontinue_conn_id = kontinue_conn_id
        self.deferrable = deferrable

    # -- to implement -------------------------------------------------------------------------------

    def check(self, hook: KontinueHook, namespace: str, context: Context) -> dict[str, Any] | None:
        raise NotImplementedError

    def trigger(self, namespace: str, deadline: float, context: Context) -> BaseTrigger:
        raise NotImplementedError

    def result(self, event: dict[str, Any]) -> Any:
        """The XCom value of a decided outcome, or raise why the task fails."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------------

    def _hook(self) -> KontinueHook:
        return KontinueHook(self.kontinue_conn_id, self.namespace)

    def poke(self, context: Context) -> PokeReturnValue | bool:
        hook = self._hook()
        with kontinue_errors(f"check {self.describe()}"):
            outcome = self.check(hook, self.namespace or hook.namespace, context)
        if outcome is None:
            return False
        return PokeReturnValue(is_done=True, xcom_value=self.finish(outcome))

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        hook = self._hook()
        with kontinue_errors(f"check {self.describe()}"):
            namespace = self.namespace or hook.namespace
            outcome = self.check(hook, namespace, context)
        if outcome is not None:
            return self.finish(outcome)
        timeout = float(self.timeout) if self.timeout is not None else 7 * 24 * 3600.0
        trigger = self.trigger(namespace, time.time() + timeout, context)
        self.log.info("kontinue: deferring until %s", self.describe())
        self.defer(
            trigger=trigger,
            method_name="execute_complete",
            timeout=timedelta(seconds=timeout) + DEFER_TIMEOUT_PAD,
        )

    def execute_complete(self, context: Context, event: dict[str, Any] | str | None = None) -> Any:
        if not isinstance(event, dict):
            raise AirflowFailException(f"kontinue: the wait ended without an outcome ({event!r})")
        return self.finish(event)

    def finish(self, event: dict[str, Any]) -> Any:
        status = event.get("status")
        if status == "timeout":
            message = f"kontinue: {self.describe()}: {event.get('message')}"
            if self.soft_fail:
                raise AirflowSkipException(message)
            raise AirflowSensorTimeout(message)
        if status == "error":
            raise AirflowFailException(f"kontinue: cannot {self.describe()}: {event.get('message')}")
        return self.result(event)
