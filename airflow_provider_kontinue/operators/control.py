"""Operators that steer an existing execution: cancel, skip, retry, resume.

Each takes the execution (or suspension) by name, typically the ``execution_name`` XCom of the
task that spawned it: ``"{{ ti.xcom_pull(task_ids='deploy', key='execution_name') }}"``. Names
that do not exist, a forbidden namespace or a state that forbids the action fail the task at once
with the reason; nothing is retried blindly.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator, conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.client import ChildPolicy, InvalidStateError
from airflow_provider_kontinue.hooks.connection import DEFAULT_CONN_ID
from airflow_provider_kontinue.hooks.errors import kontinue_errors
from airflow_provider_kontinue.hooks.kontinue import KontinueHook
from airflow_provider_kontinue.links.execution import KontinueExecutionLink
from airflow_provider_kontinue.operators.waiter import ExecutionWaiter, push_identity

if TYPE_CHECKING:
    from airflow.sdk import Context

DEFAULT_CANCEL_MESSAGE = "Canceled by Airflow"
DEFAULT_SKIP_MESSAGE = "Skipped by Airflow"


class _ExecutionAction(BaseOperator):
    """What the cancel and skip operators share: the execution by name, and how a finished one is
    treated (``ignore_if_finished``: succeed and log; otherwise fail)."""

    template_fields: Sequence[str] = ("execution_name", "namespace", "kontinue_conn_id", "message")
    operator_extra_links = (KontinueExecutionLink(),)
    ui_color = "#f3e3d3"
    action = ""

    def __init__(
        self,
        *,
        execution_name: str,
        namespace: str | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
        message: str | None = None,
        ignore_if_finished: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.execution_name = execution_name
        self.namespace = namespace
        self.kontinue_conn_id = kontinue_conn_id
        self.message = message
        self.ignore_if_finished = ignore_if_finished

    def _act(self, hook: KontinueHook) -> Any:
        raise NotImplementedError

    def execute(self, context: Context) -> str:
        """Do the action; returns the execution's phase afterwards."""
        hook = KontinueHook(self.kontinue_conn_id, self.namespace)
        with kontinue_errors(f"{self.action} execution {self.execution_name!r}"):
            try:
                self._act(hook)
            except InvalidStateError as err:
                if not self.ignore_if_finished:
                    raise AirflowFailException(f"kontinue: cannot {self.action}: {err}") from None
                self.log.info("kontinue: nothing to %s: %s", self.action, err)
            execution = hook.client.get(self.execution_name)
        push_identity(context, hook, execution)
        self.log.info("kontinue: execution %s is %s", execution.name, execution.phase)
        return str(execution.phase)


class KontinueCancelOperator(_ExecutionAction):
    """Cancel a running execution; kontinue stops it and every descendant.

    :param execution_name: The execution (templated).
    :param namespace: Its namespace (templated; default: the connection's).
    :param message: Recorded as the execution's status message (default "Canceled by Airflow").
    :param ignore_if_finished: Succeed (and log) when it had ended already; otherwise fail.

    Returns the execution's phase afterwards.
    """

    action = "cancel"

    def _act(self, hook: KontinueHook) -> Any:
        return hook.client.cancel(self.execution_name, {"message": self.message or DEFAULT_CANCEL_MESSAGE})


class KontinueSkipOperator(_ExecutionAction):
    """Skip a running execution: it ends Skipped, and a waiting parent receives ``result``.

    :param execution_name: The execution (templated).
    :param result: The value a waiting parent gets instead of the skipped execution's result
        (templated, JSON).
    :param message: Recorded as the execution's status message (default "Skipped by Airflow").
    :param ignore_if_finished: Succeed (and log) when it had ended already; otherwise fail.
    """

    template_fields: Sequence[str] = (*_ExecutionAction.template_fields, "result")
    action = "skip"

    def __init__(self, *, result: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result

    def _act(self, hook: KontinueHook) -> Any:
        return hook.client.skip(
            self.execution_name, {"message": self.message or DEFAULT_SKIP_MESSAGE, "result": self.result}
        )


class KontinueRetryOperator(ExecutionWaiter):
    """Retry a Failed or Canceled execution (one more attempt) and, by default, wait for it.

    :param execution_name: The execution (templated).
    :param namespace: Its namespace (templated; default: the connection's).
    :param child_policy: Which children the new attempt runs again: ``"None"`` (reuse every
        recorded child), ``"RetryFailed"`` (only failed or canceled ones) or ``"RetryAll"``.
    :param wait_for_completion: Wait until the retried execution ends; return its result.
    :param deferrable: Wait in the triggerer (default: ``[operators] default_deferrable``).
    :param stream_logs: Write the worker's log lines into the task log while waiting.
    :param cancel_on_kill: Cancel the execution when the task is killed or times out.
    """

    template_fields: Sequence[str] = ("execution_name", "namespace", "kontinue_conn_id", "child_policy")
    operator_extra_links = (KontinueExecutionLink(),)
    ui_color = "#f3e3d3"

    def __init__(
        self,
        *,
        execution_name: str,
        namespace: str | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
        child_policy: str | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        stream_logs: bool = True,
        cancel_on_kill: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.execution_name = execution_name
        self.namespace = namespace
        self.kontinue_conn_id = kontinue_conn_id
        self.child_policy = child_policy
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.stream_logs = stream_logs
        self.cancel_on_kill = cancel_on_kill

    def execute(self, context: Context) -> Any:
        self._start_clock()
        hook = KontinueHook(self.kontinue_conn_id, self.namespace)
        with kontinue_errors(f"retry execution {self.execution_name!r}"):
            if self.child_policy is not None and self.child_policy not in {p.value for p in ChildPolicy}:
                raise AirflowFailException(
                    f"kontinue: child_policy must be one of {', '.join(p.value for p in ChildPolicy)}, "
                    f"got {self.child_policy!r}"
                )
            try:
                retried = hook.client.retry_execution(
                    self.execution_name, {"child_policy": self.child_policy}
                )
            except InvalidStateError as err:
                raise AirflowFailException(f"kontinue: {err}") from None
        self._execution = (retried.name, retried.namespace)
        push_identity(context, hook, retried)
        self.log.info(
            "kontinue: retrying execution %s (child policy %s)", retried.name, self.child_policy or "None"
        )
        if not self.wait_for_completion:
            return retried.name
        with kontinue_errors(f"wait for execution {retried.name!r}"):
            return self.wait_for(context, hook, retried, min_generation=retried.metadata.generation)


class KontinueResumeOperator(BaseOperator):
    """Resume a waiting suspension (an approval, say), by its name or through its execution.

    :param suspension_name: The suspension to resume (templated). Or:
    :param execution_name: Resume the waiting suspensions of this execution (templated);
        ``recursive=True`` resumes those of its whole subtree.
    :param namespace: The namespace (templated; default: the connection's).
    :param fail_if_nothing_resumed: Fail when nothing was waiting (default: succeed and log).

    Returns the names of the suspensions it resumed.
    """

    template_fields: Sequence[str] = ("suspension_name", "execution_name", "namespace", "kontinue_conn_id")
    ui_color = "#e3f3d3"

    def __init__(
        self,
        *,
        suspension_name: str | None = None,
        execution_name: str | None = None,
        recursive: bool = False,
        namespace: str | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
        fail_if_nothing_resumed: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if (suspension_name is None) == (execution_name is None):
            raise ValueError("KontinueResumeOperator: give exactly one of suspension_name or execution_name")
        self.suspension_name = suspension_name
        self.execution_name = execution_name
        self.recursive = recursive
        self.namespace = namespace
        self.kontinue_conn_id = kontinue_conn_id
        self.fail_if_nothing_resumed = fail_if_nothing_resumed

    def execute(self, context: Context) -> list[str]:
        hook = KontinueHook(self.kontinue_conn_id, self.namespace)
        target = self.suspension_name or self.execution_name
        with kontinue_errors(f"resume {target!r}"):
            client = hook.client
            try:
                if self.suspension_name:
                    resumed = [self.suspension_name] if client.resume_suspension(self.suspension_name) else []
                elif self.execution_name:
                    resumed = client.resume_execution(self.execution_name, {"recursive": self.recursive})
                else:
                    raise AirflowFailException(
                        "kontinue: the name to resume rendered empty; check the suspension_name or "
                        "execution_name template"
                    )
            except InvalidStateError as err:
                raise AirflowFailException(f"kontinue: {err}") from None
        if resumed:
            self.log.info("kontinue: resumed %s", ", ".join(resumed))
        elif self.fail_if_nothing_resumed:
            raise AirflowFailException(f"kontinue: nothing was waiting to be resumed in {target!r}")
        else:
            self.log.info("kontinue: nothing was waiting in %s (resumed already?)", target)
        return list(resumed)
