"""``KontinueSpawnOperator``: start a kontinue execution from a task, and (by default) wait for it.

Idempotent by construction: the execution's name is derived from the task instance (dag id, task
id, run id, map index; not the try number), so a retried task, or one whose worker died, asks
kontinue for the same name, gets AlreadyExists, and reattaches to the execution its earlier try
started. No second execution is spawned, and there is no window between "submit" and "remember
what was submitted" where a crash could lose it (the gap Airflow's ``ResumableJobMixin``
documents): the name is known before the create.

What happens when the earlier try's execution already ended:

- Completed or Skipped: its result is reused (pass ``force_new=True`` to run again).
- Failed or Canceled: ``on_previous_failure`` decides: ``"retry"`` (default) asks kontinue to
  retry that execution (``retry_child_policy`` chooses which children run again; completed
  steps are kept), ``"respawn"`` starts a fresh execution under the next generation name
  (``<name>-2``, ``-3``...), ``"fail"`` fails the task with the earlier execution's message.
- ``force_new=True`` always starts a fresh generation, even when one is running (a crash
  between two tries can then leave two executions: you asked for a new one each try).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from airflow.sdk import conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_provider_kontinue.client import (
    AlreadyExistsError,
    ChildPolicy,
    Execution,
    ExecutionPhase,
    InvalidStateError,
    KontinueClient,
    SpawnOptions,
)
from airflow_provider_kontinue.hooks.connection import DEFAULT_CONN_ID
from airflow_provider_kontinue.hooks.errors import kontinue_errors
from airflow_provider_kontinue.hooks.kontinue import KontinueHook
from airflow_provider_kontinue.links.execution import KontinueExecutionLink
from airflow_provider_kontinue.operators.arguments import parse_arguments
from airflow_provider_kontinue.operators.naming import (
    ANNOTATION_TI_KEY,
    LABEL_DAG_ID,
    LABEL_TASK_ID,
    LABEL_TI_HASH,
    execution_name,
    label_value,
    ti_hash,
    ti_key,
)
from airflow_provider_kontinue.operators.waiter import ExecutionWaiter, push_identity

if TYPE_CHECKING:
    from airflow.sdk import Context

PreviousFailure = Literal["retry", "respawn", "fail"]
PREVIOUS_FAILURE_POLICIES: tuple[str, ...] = ("retry", "respawn", "fail")
MAX_GENERATIONS = 50
STATE_KEY = "kontinue_execution"
"""``task_state_store`` key holding the name of the execution this task instance runs."""


class KontinueSpawnOperator(ExecutionWaiter):
    """Spawn an execution of a kontinue Function; wait for it and return its result.

    :param function: The Function to run (templated).
    :param arguments: A JSON object of arguments, as a dict or a template rendering to JSON
        (templated). Merged over the Function's defaults. Checked before anything is spawned.
    :param name: The execution's name (templated). Default: derived from the task instance, which
        is what makes retries reattach instead of spawning twice; set it only if you need a
        specific name (it must then be unique per task instance).
    :param namespace: Where to spawn (templated). Default: the connection's namespace.
    :param kontinue_conn_id: The ``kontinue`` connection.
    :param retry: ``{"retries": 2, "backoff": "10s", "childPolicy": "RetryFailed"}`` (templated).
    :param ttl: ``{"archiveAfter": "1h", "deleteAfter": "7d"}`` (templated).
    :param timeout: ``{"attempt": "10m", "overall": "1h"}`` kontinue's own timeouts (templated).
    :param mutex: ``{"name": "deploy-prod"}``: one execution holding it at a time (templated).
    :param labels: Extra labels of the execution (templated).
    :param wait_for_completion: Wait until the execution ends (default). Otherwise return its
        name at once.
    :param deferrable: Wait in the triggerer, freeing the worker slot. Default: Airflow's
        ``[operators] default_deferrable``.
    :param stream_logs: Write the worker's log lines into the task log while waiting.
    :param cancel_on_kill: Cancel the execution when the task is killed or times out.
    :param on_previous_failure: ``"retry"``, ``"respawn"`` or ``"fail"``: what a task retry does
        when the execution of the earlier try Failed or was Canceled (see the module docs).
    :param retry_child_policy: With ``on_previous_failure="retry"``: ``"None"``, ``"RetryFailed"``
        or ``"RetryAll"`` (kontinue's child policy for the new attempt).
    :param force_new: Always spawn a fresh execution (a new generation name), even when this task
        instance has one already.

    XCom: ``execution_name``, ``execution_namespace`` and (with a UI URL on the connection)
    ``execution_url`` before waiting; the return value is the execution's result (or its name
    when not waiting).
    """

    template_fields: Sequence[str] = (
        "function",
        "arguments",
        "name",
        "namespace",
        "kontinue_conn_id",
        "retry",
        "ttl",
        "timeout",
        "mutex",
        "labels",
    )
    template_fields_renderers: ClassVar[dict[str, str]] = {
        "arguments": "json",
        "labels": "json",
        "retry": "json",
        "ttl": "json",
        "timeout": "json",
        "mutex": "json",
    }
    operator_extra_links = (KontinueExecutionLink(),)
    ui_color = "#d8ecf9"

    def __init__(
        self,
        *,
        function: str,
        arguments: Mapping[str, Any] | str | None = None,
        name: str | None = None,
        namespace: str | None = None,
        kontinue_conn_id: str = DEFAULT_CONN_ID,
        retry: Mapping[str, Any] | None = None,
        ttl: Mapping[str, Any] | None = None,
        timeout: Mapping[str, Any] | None = None,
        mutex: Mapping[str, Any] | str | None = None,
        labels: Mapping[str, str] | None = None,
        wait_for_completion: bool = True,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        stream_logs: bool = True,
        cancel_on_kill: bool = True,
        on_previous_failure: PreviousFailure = "retry",
        retry_child_policy: str | None = None,
        force_new: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if on_previous_failure not in PREVIOUS_FAILURE_POLICIES:
            raise ValueError(
                f"on_previous_failure: must be one of {', '.join(PREVIOUS_FAILURE_POLICIES)}, "
                f"got {on_previous_failure!r}"
            )
        if retry_child_policy is not None and retry_child_policy not in {p.value for p in ChildPolicy}:
            raise ValueError(
                f"retry_child_policy: must be one of {', '.join(p.value for p in ChildPolicy)}, "
                f"got {retry_child_policy!r}"
            )
        self.function = function
        self.arguments = arguments
        self.name = name
        self.namespace = namespace
        self.kontinue_conn_id = kontinue_conn_id
        self.retry = retry
        self.ttl = ttl
        self.timeout = timeout
        self.mutex = mutex
        self.labels = labels
        self.wait_for_completion = wait_for_completion
        self.deferrable = deferrable
        self.stream_logs = stream_logs
        self.cancel_on_kill = cancel_on_kill
        self.on_previous_failure = on_previous_failure
        self.retry_child_policy = retry_child_policy
        self.force_new = force_new

    # -- execute ------------------------------------------------------------------------------------

    def execute(self, context: Context) -> Any:
        self._start_clock()
        ti = context["ti"]
        with kontinue_errors(f"spawn {self.function!r}"):
            arguments = parse_arguments(self.arguments)
            hook = KontinueHook(self.kontinue_conn_id, self.namespace)
            client = hook.client
            namespace = self.namespace or client.namespace
            options = self._options(namespace, ti)
            execution, min_generation = self._spawn_or_reattach(
                client, namespace, arguments, options, context
            )
        self._execution = (execution.name, execution.namespace)
        push_identity(context, hook, execution)
        store = context.get("task_state_store")
        if store is not None:
            store.set(STATE_KEY, execution.name)
        if not self.wait_for_completion:
            return execution.name
        with kontinue_errors(f"wait for execution {execution.name!r}"):
            return self.wait_for(context, hook, execution, min_generation=min_generation)

    def _options(self, namespace: str, ti: Any) -> dict[str, Any]:
        key = ti_key(ti.dag_id, ti.task_id, ti.run_id, ti.map_index)
        labels = {
            **(self.labels or {}),
            LABEL_DAG_ID: label_value(ti.dag_id),
            LABEL_TASK_ID: label_value(ti.task_id),
            LABEL_TI_HASH: ti_hash(ti.dag_id, ti.task_id, ti.run_id, ti.map_index),
        }
        mutex = {"name": self.mutex} if isinstance(self.mutex, str) else self.mutex
        options = {
            "namespace": namespace,
            "retry": self.retry,
            "ttl": self.ttl,
            "timeout": self.timeout,
            "mutex": mutex,
            "labels": labels,
            "annotations": {ANNOTATION_TI_KEY: key},
        }
        SpawnOptions.coerce(options)  # bad retry/ttl/timeout/mutex/labels fail here, naming the field
        return options

    def _base_name(self, ti: Any) -> str:
        if self.name:
            return str(self.name)
        return execution_name(ti.dag_id, ti.task_id, ti.run_id, ti.map_index)

    def _spawn_or_reattach(
        self,
        client: KontinueClient,
        namespace: str,
        arguments: dict[str, Any],
        options: dict[str, Any],
        context: Context,
    ) -> tuple[Execution, int | None]:
        """Spawn this task instance's execution, or find the one an earlier try spawned.

        Returns the execution and, after a retry, the generation whose state the wait must see.
        """
        ti = context["ti"]
        base = self._base_name(ti)
        owner = options["annotations"][ANNOTATION_TI_KEY]
        for generation in range(1, MAX_GENERATIONS + 1):
            name = base if generation == 1 else f"{base}-{generation}"
            try:
                created = client.spawn(self.function, arguments, {**options, "name": name})
            except AlreadyExistsError:
                existing = client.get(name, namespace=namespace)
            else:
                self.log.info("kontinue: spawned execution %s of %s in %s", name, self.function, namespace)
                return created, None
            if existing.annotations.get(ANNOTATION_TI_KEY) != owner:
                raise AirflowFailException(
                    f"kontinue: the execution name {name!r} is taken by an execution this task instance did "
                    "not spawn; set another `name` (or leave it unset for a name derived from the task)"
                )
            if self.force_new:
                continue
            decided = self._reuse(client, existing)
            if decided is not None:
                return decided
        raise AirflowFailException(
            f"kontinue: {MAX_GENERATIONS} executions of this task instance exist already; "
            "clear old ones or give the task another `name`"
        )

    def _reuse(self, client: KontinueClient, existing: Execution) -> tuple[Execution, int | None] | None:
        """What to do with the execution an earlier try spawned; ``None`` means the next generation."""
        name, phase = existing.name, existing.phase
        if not existing.is_terminal:
            self.log.info("kontinue: reattaching to execution %s (%s) spawned by an earlier try", name, phase)
            return existing, None
        if phase in (ExecutionPhase.COMPLETED, ExecutionPhase.SKIPPED):
            self.log.info("kontinue: execution %s of an earlier try ended %s; using its result", name, phase)
            return existing, None
        message = existing.message or ""
        if self.on_previous_failure == "fail":
            raise AirflowFailException(
                f"kontinue: execution {name} of an earlier try ended {phase}: {message} "
                "(on_previous_failure='fail')"
            )
        if self.on_previous_failure == "retry":
            try:
                retried = client.retry_execution(
                    existing, {"child_policy": self.retry_child_policy}, namespace=existing.namespace
                )
            except InvalidStateError as err:  # archived: it can no longer change
                self.log.info("kontinue: cannot retry %s (%s); spawning a new generation", name, err)
                return None
            self.log.info(
                "kontinue: execution %s of an earlier try ended %s (%s); retrying it (child policy %s)",
                name,
                phase,
                message,
                self.retry_child_policy or "None",
            )
            return retried, retried.metadata.generation
        self.log.info(
            "kontinue: execution %s of an earlier try ended %s; spawning a new generation", name, phase
        )
        return None
