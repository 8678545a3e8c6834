"""Apache Airflow provider for kontinue: spawn, wait on and steer kontinue executions from DAGs.

Airflow discovers the provider through the ``apache_airflow_provider`` entry point, which calls
``get_provider_info``; ``airflow providers list`` then shows it, the connection form offers the
``kontinue`` type, and the API server can rebuild the "kontinue execution" task link.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]

INTEGRATION = "Kontinue"


def _modules(*names: str) -> list[dict[str, Any]]:
    return [{"integration-name": INTEGRATION, "python-modules": list(names)}]


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow: integrations, hooks, operators, sensors, triggers, the
    ``kontinue`` connection type (its form declared with ``conn-fields``) and the extra link."""
    from airflow_provider_kontinue.hooks.connection import CONN_FIELDS, CONN_TYPE, UI_FIELD_BEHAVIOUR

    return {
        "package-name": "airflow-provider-kontinue",
        "name": "Kontinue",
        "description": "Drive kontinue, the Kubernetes-native durable-execution engine, from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": INTEGRATION,
                "external-doc-url": "https://kontinue.cloud/docs",
                "tags": ["software"],
            }
        ],
        "hooks": _modules("airflow_provider_kontinue.hooks.kontinue"),
        "operators": _modules(
            "airflow_provider_kontinue.operators.spawn", "airflow_provider_kontinue.operators.control"
        ),
        "sensors": _modules(
            "airflow_provider_kontinue.sensors.execution",
            "airflow_provider_kontinue.sensors.suspension",
            "airflow_provider_kontinue.sensors.schedule",
        ),
        "triggers": _modules(
            "airflow_provider_kontinue.triggers.execution",
            "airflow_provider_kontinue.triggers.suspension",
            "airflow_provider_kontinue.triggers.schedule",
        ),
        "connection-types": [
            {
                "connection-type": CONN_TYPE,
                "hook-class-name": "airflow_provider_kontinue.hooks.kontinue.KontinueHook",
                "hook-name": "Kontinue",
                "conn-fields": CONN_FIELDS,
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
            }
        ],
        "extra-links": ["airflow_provider_kontinue.links.execution.KontinueExecutionLink"],
    }
