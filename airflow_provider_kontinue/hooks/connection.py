"""The ``kontinue`` connection: what its fields mean, how they are checked, and the form Airflow shows.

A connection holds everything the kontinue client needs to reach a cluster, in its ``extra`` JSON
(the standard host/login/password fields are hidden in the UI): a kubeconfig path or the
kubeconfig itself, a context, a default namespace, in-cluster mode, impersonation, client-side
rate limits, TLS verification (on unless turned off) and the kontinue UI's URL for task links.

This module is pure (no Airflow, no I/O): :func:`parse_settings` turns a connection's extra dict
into :class:`KontinueConnectionSettings` or raises :class:`ConnectionFieldError` naming the field
and the fix, so a bad connection fails a task at once with a message a user can act on.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml

CONN_TYPE = "kontinue"
DEFAULT_CONN_ID = "kontinue_default"

INLINE_KUBECONFIG = "kube_config_secret"
"""The extra field holding an inline kubeconfig."""

LEGACY_INLINE_KUBECONFIG = "kube_config"
"""Its name before 0.2: still read, with a warning, because Airflow does not redact it (not a
sensitive key name), so ``GET /api/v2/connections/{id}`` and the UI returned it in plain text."""

SECRET_KUBECONFIG_KEYS = ("token", "client-key-data", "password", "id-token", "refresh-token")
"""Values inside an inline kubeconfig that are masked in logs one by one, besides the whole text."""

TRUE_WORDS = frozenset({"true", "1", "yes", "on"})
FALSE_WORDS = frozenset({"false", "0", "no", "off", ""})

# The connection form, declared for Airflow >= 3.2 (``conn-fields`` + ``ui-field-behaviour``).
CONN_FIELDS: dict[str, dict[str, Any]] = {
    "kube_config_path": {
        "label": "Kubeconfig path",
        "description": "Path of a kubeconfig file on the workers and triggerers. Leave empty to use "
        "the inline kubeconfig, in-cluster mode, or $KUBECONFIG / ~/.kube/config.",
        "schema": {"type": ["string", "null"]},
    },
    # The name holds "secret": Airflow redacts extra fields by key name (its sensitive names,
    # matched as substrings), so the REST API and the UI return "***" for this field. A textarea
    # ("multiline"), because a kubeconfig is many lines and a password input drops the newlines.
    INLINE_KUBECONFIG: {
        "label": "Kubeconfig (inline)",
        "description": "The kubeconfig itself, YAML or JSON (paste the whole file). Stored encrypted, "
        "redacted in the REST API and the UI, masked in logs; prefer a path or in-cluster mode where "
        "you can.",
        "schema": {"type": ["string", "null"], "format": "multiline"},
    },
    "context": {
        "label": "Context",
        "description": "The kubeconfig context to use (default: its current-context).",
        "schema": {"type": ["string", "null"]},
    },
    "namespace": {
        "label": "Namespace",
        "description": "Default namespace of every task using this connection (default: the "
        "context's namespace, else 'default').",
        "schema": {"type": ["string", "null"]},
    },
    "in_cluster": {
        "label": "In cluster",
        "description": "Use the pod's service account (Airflow runs inside the cluster).",
        "schema": {"type": ["boolean", "null"]},
    },
    "impersonate": {
        "label": "Impersonate",
        "description": "Act as this Kubernetes user (needs the 'impersonate' permission).",
        "schema": {"type": ["string", "null"]},
    },
    "qps": {
        "label": "QPS",
        "description": "Client-side request rate limit per second (default 5).",
        "schema": {"type": ["number", "null"], "minimum": 0},
    },
    "burst": {
        "label": "Burst",
        "description": "Requests allowed above the rate in a burst (default 10).",
        "schema": {"type": ["integer", "null"], "minimum": 0},
    },
    "verify_ssl": {
        "label": "Verify TLS",
        "description": "Verify the API server's certificate (default on; turn off only for a local "
        "test cluster).",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "ui_base_url": {
        "label": "kontinue UI URL",
        "description": "Base URL of the kontinue UI, for the 'kontinue execution' task link. May "
        "contain {namespace} and {name}; otherwise /namespaces/{namespace}/executions/{name} is "
        "appended.",
        "schema": {"type": ["string", "null"], "format": "url"},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["host", "schema", "login", "password", "port"],
    "relabeling": {},
    "placeholders": {
        "kube_config_path": "/opt/airflow/secrets/kubeconfig",
        "context": "prod-cluster",
        "namespace": "data-pipelines",
        "impersonate": "system:serviceaccount:airflow:kontinue",
        "ui_base_url": "https://kontinue.example.com",
    },
}


class ConnectionFieldError(ValueError):
    """A connection field holds something unusable; the message names the field and the fix."""

    def __init__(self, conn_id: str, field_name: str, problem: str) -> None:
        self.conn_id = conn_id
        self.field_name = field_name
        super().__init__(f"connection {conn_id!r}, field {field_name!r}: {problem}")


@dataclass(frozen=True)
class KontinueConnectionSettings:
    """The parsed ``kontinue`` connection. ``repr`` never shows the inline kubeconfig."""

    conn_id: str
    kube_config_path: str | None = None
    kube_config: dict[str, Any] | None = field(default=None, repr=False)
    context: str | None = None
    namespace: str | None = None
    in_cluster: bool = False
    impersonate: str | None = None
    qps: float | None = None
    burst: int | None = None
    verify_ssl: bool = True
    ui_base_url: str | None = None

    def kubeconfig(self) -> str | dict[str, Any] | None:
        """What to hand the client: the inline kubeconfig (a dict), a path, or ``None`` (defaults)."""
        return self.kube_config if self.kube_config is not None else self.kube_config_path

    def client_options(self) -> dict[str, Any]:
        """The client's ``Options`` (impersonation, rate limits) that this connection sets."""
        options: dict[str, Any] = {}
        if self.impersonate:
            options["impersonate"] = self.impersonate
        if self.qps is not None:
            options["qps"] = self.qps
        if self.burst is not None:
            options["burst"] = self.burst
        return options

    def secrets(self) -> list[str]:
        """Strings to mask in logs: the values of secret keys of an inline kubeconfig."""
        found: list[str] = []

        def walk(node: Any) -> None:
            if isinstance(node, Mapping):
                for key, value in node.items():
                    if key in SECRET_KUBECONFIG_KEYS and isinstance(value, str) and value:
                        found.append(value)
                    else:
                        walk(value)
            elif isinstance(node, list):
                for item in node:
                    walk(item)

        walk(self.kube_config)
        return found

    def execution_url(self, namespace: str, name: str) -> str | None:
        """The kontinue UI page of an execution, when the connection names a UI."""
        if not self.ui_base_url:
            return None
        base = self.ui_base_url
        if "{name}" in base or "{namespace}" in base:
            return base.replace("{namespace}", namespace).replace("{name}", name)
        return f"{base.rstrip('/')}/namespaces/{namespace}/executions/{name}"


def _text(conn_id: str, extra: Mapping[str, Any], key: str) -> str | None:
    value = extra.get(key)
    if value is None:
        return None
    if not isinstance(value, str):
        raise ConnectionFieldError(conn_id, key, f"must be a string, got {type(value).__name__}")
    return value.strip() or None


def _flag(conn_id: str, extra: Mapping[str, Any], key: str, default: bool) -> bool:
    value = extra.get(key)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in TRUE_WORDS | FALSE_WORDS:
        return value.strip().lower() in TRUE_WORDS
    raise ConnectionFieldError(conn_id, key, f"must be true or false, got {value!r}")


def _number(conn_id: str, extra: Mapping[str, Any], key: str, kind: type[int] | type[float]) -> Any:
    value = extra.get(key)
    if value is None or value == "":
        return None
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value) if kind is float else int(str(value))
    except (TypeError, ValueError):
        raise ConnectionFieldError(
            conn_id, key, f"must be a {'number' if kind is float else 'whole number'}, got {value!r}"
        ) from None
    if number < 0:
        raise ConnectionFieldError(conn_id, key, f"must not be negative (0 means the default), got {value!r}")
    return number


def _inline_kubeconfig(conn_id: str, value: Any) -> dict[str, Any] | None:
    if value is None or value == "":
        return None
    if isinstance(value, Mapping):
        return dict(value)
    if not isinstance(value, str):
        raise ConnectionFieldError(conn_id, INLINE_KUBECONFIG, "must be the kubeconfig's YAML or JSON text")
    try:
        document = yaml.safe_load(value)  # JSON is YAML too
    except yaml.YAMLError:
        # Never echo the text: it holds credentials.
        raise ConnectionFieldError(
            conn_id, INLINE_KUBECONFIG, "is not valid YAML or JSON; paste the whole kubeconfig file"
        ) from None
    if not isinstance(document, dict) or "clusters" not in document:
        raise ConnectionFieldError(
            conn_id,
            INLINE_KUBECONFIG,
            "does not look like a kubeconfig (no 'clusters'); paste the whole file, or use kube_config_path",
        )
    return document


def parse_extra(raw: str | Mapping[str, Any] | None, conn_id: str) -> dict[str, Any]:
    """A connection's ``extra`` as a dict (it may arrive as JSON text)."""
    if raw is None or raw == "":
        return {}
    if isinstance(raw, Mapping):
        return dict(raw)
    try:
        extra = json.loads(raw)
    except ValueError:
        raise ConnectionFieldError(conn_id, "extra", "is not a JSON object") from None
    if not isinstance(extra, dict):
        raise ConnectionFieldError(conn_id, "extra", "is not a JSON object")
    return extra


def parse_settings(conn_id: str, extra: Mapping[str, Any]) -> KontinueConnectionSettings:
    """Check and parse a ``kontinue`` connection's extra fields.

    Accepts the field names of :data:`CONN_FIELDS`, also with the ``extra__kontinue__`` prefix
    older UIs wrote. Unknown fields are refused, because a typo (``namspace``) would otherwise
    silently fall back to a default and act on the wrong namespace.
    """
    prefix = f"extra__{CONN_TYPE}__"
    fields = {(k[len(prefix) :] if k.startswith(prefix) else k): v for k, v in extra.items()}
    if LEGACY_INLINE_KUBECONFIG in fields:
        if fields.get(INLINE_KUBECONFIG):
            raise ConnectionFieldError(
                conn_id,
                LEGACY_INLINE_KUBECONFIG,
                f"conflicts with {INLINE_KUBECONFIG!r}; keep only {INLINE_KUBECONFIG!r}",
            )
        warnings.warn(
            f"connection {conn_id!r}: the extra field {LEGACY_INLINE_KUBECONFIG!r} is deprecated and "
            f"Airflow shows it unredacted in its REST API and UI; rename it to {INLINE_KUBECONFIG!r}",
            FutureWarning,
            stacklevel=2,
        )
        fields[INLINE_KUBECONFIG] = fields.pop(LEGACY_INLINE_KUBECONFIG)
    unknown = sorted(set(fields) - set(CONN_FIELDS))
    if unknown:
        raise ConnectionFieldError(
            conn_id, unknown[0], f"is not a kontinue connection field; known fields: {', '.join(CONN_FIELDS)}"
        )
    settings = KontinueConnectionSettings(
        conn_id=conn_id,
        kube_config_path=_text(conn_id, fields, "kube_config_path"),
        kube_config=_inline_kubeconfig(conn_id, fields.get(INLINE_KUBECONFIG)),
        context=_text(conn_id, fields, "context"),
        namespace=_text(conn_id, fields, "namespace"),
        in_cluster=_flag(conn_id, fields, "in_cluster", False),
        impersonate=_text(conn_id, fields, "impersonate"),
        qps=_number(conn_id, fields, "qps", float),
        burst=_number(conn_id, fields, "burst", int),
        verify_ssl=_flag(conn_id, fields, "verify_ssl", True),
        ui_base_url=_text(conn_id, fields, "ui_base_url"),
    )
    sources = [
        name
        for name, given in (
            ("kube_config_path", settings.kube_config_path),
            (INLINE_KUBECONFIG, settings.kube_config),
            ("in_cluster", settings.in_cluster),
        )
        if given
    ]
    if len(sources) > 1:
        raise ConnectionFieldError(
            conn_id, sources[1], f"conflicts with {sources[0]!r}; set only one way to reach the cluster"
        )
    if settings.ui_base_url and not settings.ui_base_url.startswith(("http://", "https://")):
        raise ConnectionFieldError(
            conn_id, "ui_base_url", f"must start with http:// or https://, got {settings.ui_base_url!r}"
        )
    return settings


def connection_json(kube_config_path: str, namespace: str | None = None, **fields: Any) -> str:
    """A ``kontinue`` connection in Airflow's JSON form, for ``AIRFLOW_CONN_<ID>``.

    It carries the kubeconfig's path, never its content, so the line is safe to print.
    """
    extra: dict[str, Any] = {"kube_config_path": str(kube_config_path)}
    if namespace:
        extra["namespace"] = namespace
    extra.update({key: value for key, value in fields.items() if value is not None})
    parse_settings("connection_json", extra)  # refuse what a task would refuse
    return json.dumps({"conn_type": CONN_TYPE, "extra": extra}, sort_keys=True)
