"""Real task retries (``retries=1, retry_delay=0``: one ``dag.test()`` runs both tries), for
``tests/e2e/test_task_retry.py``.

- ``reattach``: the first try spawns ``long-logger`` and then fails in the task itself (the
  operator's wait raises on try 1), while the execution goes on. The second try must reattach to
  that execution, not spawn another.
- ``retry_failed``: ``flaky`` with no kontinue retries: the execution fails, so does the first
  try. The second try finds the failed execution and (``on_previous_failure="retry"``) asks
  kontinue to retry it; attempt 2 succeeds.
- ``fail_policy``: the same, with ``on_previous_failure="fail"``: the second try fails at once
  naming the earlier execution, and that execution is never retried.
- ``too_slow_sync`` / ``too_slow_deferred``: ``long-logger`` for a minute in a task with a
  3 second ``execution_timeout`` (no retries): the execution is canceled as timed out.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from airflow.sdk import TriggerRule, dag
from airflow.sdk.exceptions import AirflowException

from airflow_provider_kontinue.operators import KontinueSpawnOperator

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_kontinue.client import Execution
    from airflow_provider_kontinue.hooks import KontinueHook

FIRST_TRY_FAILURE = "e2e: the first try fails after its spawn"
RETRIES: dict[str, Any] = {"retries": 1, "retry_delay": timedelta(0)}


class FailsFirstTryAfterSpawn(KontinueSpawnOperator):
    """A spawn whose first try dies after the execution exists (a task-side failure)."""

    def wait_for(self, context: Context, hook: KontinueHook, execution: Execution, **kwargs: Any) -> Any:
        if context["ti"].try_number == 1:
            raise AirflowException(FIRST_TRY_FAILURE)
        return super().wait_for(context, hook, execution, **kwargs)


@dag(dag_id="e2e_task_retry", schedule=None, start_date=datetime(2025, 1, 1), catchup=False)
def e2e_task_retry() -> None:
    reattach = FailsFirstTryAfterSpawn(
        task_id="reattach", function="long-logger", arguments={"seconds": 3}, **RETRIES
    )
    retry_failed = KontinueSpawnOperator(
        task_id="retry_failed",
        function="flaky",
        retry={"retries": 0},
        trigger_rule=TriggerRule.ALL_DONE,
        **RETRIES,
    )
    fail_policy = KontinueSpawnOperator(
        task_id="fail_policy",
        function="flaky",
        retry={"retries": 0},
        on_previous_failure="fail",
        trigger_rule=TriggerRule.ALL_DONE,
        **RETRIES,
    )
    too_slow = [
        KontinueSpawnOperator(
            task_id=f"too_slow_{mode}",
            function="long-logger",
            arguments={"seconds": 60},
            deferrable=mode == "deferred",
            execution_timeout=timedelta(seconds=3),
            trigger_rule=TriggerRule.ALL_DONE,
        )
        for mode in ("sync", "deferred")
    ]
    reattach >> retry_failed >> fail_policy >> too_slow[0] >> too_slow[1]


e2e_task_retry()
