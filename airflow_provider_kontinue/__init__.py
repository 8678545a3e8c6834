"""Apache Airflow provider for kontinue: spawn, wait on and steer kontinue executions from DAGs.

Airflow discovers the provider through the ``apache_airflow_provider`` entry point, which calls
``get_provider_info``; ``airflow providers list`` then shows it.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = ["__version__", "get_provider_info"]


def get_provider_info() -> dict[str, Any]:
    """Describe the provider to Airflow: its name, version, integrations and connection types."""
    return {
        "package-name": "airflow-provider-kontinue",
        "name": "Kontinue",
        "description": "Drive kontinue, the Kubernetes-native durable-execution engine, from Airflow.",
        "versions": [__version__],
        "integrations": [
            {
                "integration-name": "Kontinue",
                "external-doc-url": "https://kontinue.cloud/docs",
                "tags": ["software"],
            }
        ],
    }
