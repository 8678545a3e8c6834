"""Ready-made example Functions, installed by ``kontinue-sandbox up --examples`` (namespace ``default``).

- ``hello``: logs and returns a greeting for ``name``; Completed, result ``"Hello, <name>!"``.
- ``deploy``: logs, waits for a Manual approval suspension, rolls out; Completed once resumed.
- ``fan-out``: spawns ``n`` children of ``square`` and sums their results; Completed ``{sum, count}``.
- ``square``: (hidden helper) returns ``x * x``.
- ``flaky``: fails its first attempt, succeeds on the retry (retry defaults on the Function).
- ``long-logger``: logs a line every second for ``seconds`` seconds, then Completed.
- ``sleeper``: a durable Sleep suspension of ``duration``, then Completed.
- ``always-fails``: fails without retry; Failed (NonRetryableError).

``python -m kontinue_sandbox.emulator --print-examples`` prints them as YAML for
``kubectl apply -f -``.
"""

from __future__ import annotations

import copy
from typing import Any

from kontinue_sandbox.emulator import names


def _function(
    name: str,
    description: str,
    steps: list[dict[str, Any]],
    *,
    arguments: list[dict[str, Any]] | None = None,
    defaults: dict[str, Any] | None = None,
    hidden: bool = False,
    display_name: str | None = None,
) -> dict[str, Any]:
    display = display_name or name.replace("-", " ").capitalize()
    annotations = {names.ANNOTATION_DISPLAY_NAME: display, names.ANNOTATION_DESCRIPTION: description}
    if hidden:
        annotations[f"{names.GROUP}/hidden"] = "true"
    spec: dict[str, Any] = {
        "name": name,
        "workerGroup": "default",
        "displayName": display,
        "description": description,
        "arguments": arguments or [],
        "emulator": {"steps": steps},
    }
    if defaults:
        spec["defaults"] = defaults
    return {
        "apiVersion": names.API_VERSION,
        "kind": "Function",
        "metadata": {
            "name": name,
            "labels": {names.LABEL_WORKER_GROUP: "default"},
            "annotations": annotations,
        },
        "spec": spec,
    }


EXAMPLES: list[dict[str, Any]] = [
    _function(
        "hello",
        "Logs and returns a greeting",
        [
            {"log": "Hello, {{ args.name }}!"},
            {"return": "Hello, {{ args.name }}!"},
        ],
        arguments=[{"name": "name", "type": "string", "description": "Who to greet", "default": "world"}],
    ),
    _function(
        "deploy",
        "Deploys a version after a manual approval",
        [
            {"log": "preparing {{ args.version }} for {{ args.environment }}"},
            {"sleep": "1s"},
            {
                "id": "approval",
                "suspend": {
                    "message": "waiting for approval to deploy {{ args.version }} to {{ args.environment }}",
                    "displayName": "Approve deployment",
                },
            },
            {"log": "approved; rolling out {{ args.version }} to {{ args.environment }}"},
            {"sleep": "1s"},
            {"log": "rolled out {{ args.replicas }} replicas"},
            {
                "return": {
                    "environment": "{{ args.environment }}",
                    "version": "{{ args.version }}",
                    "replicas": "{{ args.replicas }}",
                    "status": "deployed",
                }
            },
        ],
        arguments=[
            {
                "name": "environment",
                "type": "string",
                "description": "Target environment",
                "default": "staging",
                "enum": ["staging", "production"],
            },
            {"name": "version", "type": "string", "description": "Version to deploy", "required": True},
            {"name": "replicas", "type": "integer", "description": "Number of replicas", "default": 3},
        ],
        display_name="Deploy application",
    ),
    _function(
        "square",
        "Returns x * x (a helper of fan-out)",
        [{"return": "{{ args.x * args.x }}"}],
        arguments=[{"name": "x", "type": "number", "description": "The number to square", "required": True}],
        hidden=True,
    ),
    _function(
        "fan-out",
        "Spawns n children of square and sums their results",
        [
            {"log": "spawning {{ args.n }} children"},
            {
                "spawn": {
                    "function": "square",
                    "arguments": {"x": "{{ i + 1 }}"},
                    "count": "{{ args.n }}",
                    "displayName": "square",
                },
                "as": "squares",
            },
            {"log": "squares: {{ join(results.squares, ', ') }}"},
            {"return": {"sum": "{{ sum(results.squares) }}", "count": "{{ len(results.squares) }}"}},
        ],
        arguments=[{"name": "n", "type": "integer", "description": "Number of children", "default": 3}],
    ),
    _function(
        "flaky",
        "Fails its first attempt and succeeds on the retry",
        [
            {"log": "attempt {{ attempt }}"},
            {"fail": {"message": "transient failure on attempt {{ attempt }}", "firstAttempts": 1}},
            {"return": "succeeded on attempt {{ attempt }}"},
        ],
        defaults={"retry": {"retries": 2, "backoff": "2s"}},
    ),
    _function(
        "long-logger",
        "Logs a line every second",
        [
            {
                "log": {
                    "message": "line {{ i + 1 }} of {{ args.seconds }}",
                    "count": "{{ args.seconds }}",
                    "interval": "1s",
                }
            },
            {"return": {"lines": "{{ args.seconds }}"}},
        ],
        arguments=[{"name": "seconds", "type": "integer", "description": "How long to log", "default": 30}],
    ),
    _function(
        "sleeper",
        "Sleeps durably (a Sleep suspension), then completes",
        [
            {"log": "sleeping for {{ args.duration }}"},
            {"suspend": {"for": "{{ args.duration }}", "message": "sleeping for {{ args.duration }}"}},
            {"log": "awake"},
            {"return": "slept {{ args.duration }}"},
        ],
        arguments=[
            {"name": "duration", "type": "string", "description": "How long to sleep", "default": "10s"}
        ],
    ),
    _function(
        "always-fails",
        "Fails without retry",
        [
            {"log": "about to fail"},
            {"fail": {"message": "this function always fails", "retryable": False}},
        ],
    ),
]


def examples(namespace: str | None = None) -> list[dict[str, Any]]:
    """Deep copies of the example Functions, in ``namespace`` if given."""
    documents = copy.deepcopy(EXAMPLES)
    if namespace is not None:
        for document in documents:
            document["metadata"]["namespace"] = namespace
    return documents


def install(api: Any, namespace: str = "default") -> list[str]:
    """Create or replace the examples with a synchronous ``kubernetes`` ApiClient."""
    from kubernetes import client as k8s
    from kubernetes.client.exceptions import ApiException

    custom = k8s.CustomObjectsApi(api)
    installed = []
    for document in examples(namespace):
        name = document["metadata"]["name"]
        try:
            custom.create_namespaced_custom_object(
                names.GROUP, names.VERSION, namespace, "functions", document
            )
        except ApiException as err:
            if err.status != 409:
                raise
            current = custom.get_namespaced_custom_object(
                names.GROUP, names.VERSION, namespace, "functions", name
            )
            document["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"]
            custom.replace_namespaced_custom_object(
                names.GROUP, names.VERSION, namespace, "functions", name, document
            )
        installed.append(name)
    return installed
